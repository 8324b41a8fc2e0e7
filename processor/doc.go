// Package processor turns the event stream of each source into visitor sessions and
// per-minute aggregates, and serves them to dashboards (JSON API and a built-in page).
//
// # Consumption
//
// Every instance reads the partitioned events topic through the Key_Shared
// subscription "processor" (auto-split hash ranges, no out-of-order delivery), so all
// events of one user key go, in order, to one instance at a time.
//
// # State, commits and checkpoints
//
// The state of a user key is its open session, the messageIds seen in it and the
// position of the last event applied. An instance writes what changed to the
// namespace's session-state topic (schemas.TopicSessionState) in commits: one binary
// message holding the records of many keys (each with the committed position it
// started from) and the partial aggregates, by tenant and minute, of the events those
// records hold, plus the sessions each record closed. A message is written whole or
// not at all, so a key's state and the counts derived from it are atomic. Every
// CheckpointInterval, or after CheckpointEvents events, an instance
//
//  1. publishes the sessions that closed to the sessions topic and flushes them;
//  2. sends its commits (one per megabyte of state, in one producer's order);
//  3. reads the session-state topic up to them and evaluates every commit it meets,
//     its own included (Sessionizer.Evaluate);
//  4. publishes the aggregates of its commits that count to the aggregates topic;
//  5. once those are flushed, acknowledges the events the commits hold.
//
// Steps 2 to 5 run on while the instance processes the next events; the next
// checkpoint waits until the previous one is read back (step 3). One read of the
// session-state topic to its end precedes every batch of events (a batch is what
// arrives within batchWindow).
//
// # Exactly once
//
// Whether a commit counts is decided by reading the session-state topic in order,
// with the same rule in every instance, so every instance decides the same:
//
//   - a commit counts unless one of its records applies events from a position other
//     than the key's committed one (its writer started from an outdated state, having
//     missed a commit of the key's previous owner); such a commit counts for nothing,
//     and its writer, which has not acknowledged its events, stops and restarts from
//     the committed state;
//   - a record that only closes a session (expiry) is ignored when the key's committed
//     position moved since;
//   - a session end counts once per key, however many writers closed it (two
//     instances expiring the same orphaned key).
//
// An event is counted by the commit that holds it, and only by it: it is acknowledged
// after that commit counted, and a redelivered event at or before the key's committed
// position is skipped (outcome Replayed); a commit that did not count leaves its
// events unacknowledged, to be processed again. A crash before or during step 2 loses
// nothing and counts nothing twice: the commits that reached the topic count (their
// events, redelivered, are skipped by position), the others never existed (their
// events are processed again). The sessions of a crash between steps 1 and 2 are
// published again (the sessions topic is at least once, keyed by user key, each
// session identified by its deterministic sessionId).
//
// The aggregates topic (schemas.TopicAggregates) holds one message per counting
// commit: its partial minutes (counts, and HyperLogLog sketches of the user keys) with
// the ends that count added, identified by writer and sequence number. It is derived
// from the session-state topic, the same way by anyone, so a writer that dies between
// steps 3 and 4 is replaced: every instance that read a counting commit and has not
// seen its aggregate within recoverAfter publishes it. Repeats (the dead writer's own
// copy landing late, several instances recovering it) carry the same counts; readers
// keep the first copy of each id (a writer's ids appear in increasing order, so one
// number per writer suffices). Every instance tails the aggregates topic from the
// beginning and serves the merged result (counts added, sketches merged): the same
// numbers whichever instance is asked, and exact after crashes, restarts, joins and
// leaves.
//
// # Rebalance
//
// Key_Shared hands a key to a new consumer only after the previous one acknowledged the
// key's earlier events, which happens after their commit is durable. Every instance
// tails the session-state topic and, after receiving a batch and before handling it,
// reads it to its end (Reader.HasNext asks the broker for the last position), so the
// new owner holds the previous owner's last commit before it handles the key's next
// event. When an owner dies, the broker hands its unacknowledged events on at once,
// possibly before it has stored the last commit the dead owner sent; the end of the
// topic does not include that commit yet. So before handling events of a key it did
// not process last, an instance writes a marker to the session-state topic and reads
// up to it: the broker appends in the order it receives, and it received the commit
// before it noticed the death. Commits of other instances replace what an instance
// held for their keys, unless it holds unwritten changes of its own, so a key that
// comes back after a while is never processed from an outdated copy; were it ever,
// the commit written from that copy would not count (see Exactly once).
//
// # Aggregates
//
// Per tenant and minute of corrected event time: events by type and name, pageviews
// by path, sessions started with their referrer host, utm_source, browser and device,
// sessions ended with bounces and duration, and unique visitors (HyperLogLog sketches
// of user keys, merged for longer ranges and for the live visitors of the last
// LiveWindow).
//
// # Session rules and late events
//
// See Sessionizer. Sessions are ordered by corrected event time. An event older than
// the open session's last event is counted in that session (and in the aggregates of
// its own minute) when it lies within Inactivity before the session's start; it never
// changes the entry page or the exit page. An event older than that belongs to a
// session already closed: closed sessions are immutable, so it is counted in the
// aggregates of its minute but not sessionized (outcome Late). A session is closed by
// the next event of its key (inactivity, maximum duration, midnight, campaign change)
// or, when the key is quiet, after IdleTimeout of processing time without events; an
// event that arrives later than that starts a new session.
//
// # Limits
//
// Every instance holds every open session of its sources in memory (the table it
// tails), and at start it reads the retained aggregates and session-state topics from
// the beginning to rebuild the aggregates and the table; snapshots that would shorten
// this are not implemented. A messageId repeated after its session closed, or more
// than maxSeen events after its first copy, is not recognised. A key without a
// session is forgotten TombstoneTTL after its last event (by each instance's clock):
// a commit that reaches an instance later than that, for a key it forgot, is judged
// without the key's history there (an instance stalled for that long could then count
// a session end twice, or a conflicting commit once).
package processor
