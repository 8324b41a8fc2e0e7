// Package processor turns the event stream of each source into visitor sessions and
// per-minute aggregates, and serves them to dashboards (JSON API and a built-in page).
//
// # Consumption
//
// Every instance reads the partitioned events topic through the Key_Shared
// subscription "processor" (auto-split hash ranges, no out-of-order delivery), so all
// events of one user key go, in order, to one instance at a time.
//
// # Two layers
//
// Package protocol holds the logic, free of Pulsar types: the sessionizer, the
// commits and their evaluation, the shards and their snapshots, and the checkpoint
// state machine (protocol.Machine), which reads and writes only through small
// interfaces (the session-state log, the sessions and aggregates outputs, the
// acknowledgements, the object store). Its tests run every step of the protocol in
// memory, deterministically: rebalances, crashes at each step of a checkpoint,
// commits stored twice or landing late. This package puts those interfaces on
// Pulsar's topics (statelog.go), runs the consumer loop (pipeline.go), and serves the
// dashboard from the store; its tests run against a real broker.
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
//  2. sends its commits (each at most a megabyte, in one producer's order);
//  3. reads the session-state topic up to them and evaluates every commit it meets,
//     its own included (protocol.Sessionizer.Evaluate);
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
// The aggregates topic (schemas.TopicAggregates) holds the aggregate of each counting
// commit: its partial minutes (counts, and HyperLogLog sketches of the user keys) with
// the ends that count added, identified by writer and sequence number, in one message
// or, when it takes more than a megabyte, in parts numbered from 1. It is derived from
// the session-state topic, the same way by anyone (the cut into parts too), so a
// writer that dies between steps 3 and 4 is replaced: every instance that read a
// counting commit and has not seen all of its aggregate within RecoverAfter publishes
// it. Repeats (the dead writer's own copy landing late, several instances recovering
// it) carry the same counts; readers keep the first copy of each part (a writer's ids
// appear in increasing order, so one (number, part) per writer suffices). Every
// instance tails the aggregates topic (from the latest snapshot of the store, see
// snapshot.go, or else from the beginning) and serves the merged result (counts added,
// sketches merged): the same numbers whichever instance is asked, and exact after
// crashes, restarts, joins and leaves.
//
// # Rebalance
//
// Key_Shared hands a key to a new consumer only after the previous one acknowledged the
// key's earlier events, which happens after their commit is durable. Every instance
// tails the session-state topic (taking in the commits of the shards it holds, see
// Shards) and, after receiving a batch and before handling it, reads it to its end (Reader.HasNext asks the broker for the last position), so the
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
// # Shards: each instance holds its share
//
// The keys' state is cut into 16 shards by the hash the Key_Shared subscription gives
// a key (Pulsar's Murmur3 of the key, modulo 65536 slots; shard s is the slots
// [4096·s, 4096·(s+1))), and every commit holds keys of one shard, named in a message
// property. The broker gives each consumer a contiguous range of slots, split in
// halves as consumers join (subscriptionKeySharedUseConsistentHashing=false in every
// broker configuration here: a consistent-hashing ring would give each consumer small
// arcs all over the slots, and so keys of every shard), so with 2, 4 or 8 instances
// each receives the keys of 8, 4 or 2 shards. Why shards that follow the broker's
// ranges, and not ranges the instances choose (sticky ranges): the instances need not
// know of each other, a range moves only when the broker moves it, and correctness
// never depends on the alignment: an instance that receives a key of any shard loads
// that shard. An instance holds the state of the shards whose keys it receives and skips
// the other commits without decoding them: its memory is its share of the open
// sessions, plus the dashboard's store, which every instance holds whole.
//
// A shard is loaded when its first key arrives (at start, or when a range moves
// here): from the shard's latest snapshot, then the commits of that shard written
// since, up to a marker this instance writes (the main reader reads to the same
// marker), so the new holder has every commit written before it handles an event (see
// Rebalance). Counting commits read on the way whose aggregate was not seen are
// recovered like any other. At start an instance reads the session-state topic from
// its end: it is ready once the aggregates are loaded (see Store's snapshots), and it
// loads the shards of the keys it receives as they come, each from its snapshot and
// at most a snapshot interval of commits, whatever the topic retains.
//
// Every Config.SnapshotInterval (1 minute) an instance writes a checkpoint, reads it
// back, and then writes the snapshot of each shard it holds to the object store: at
// that point what it holds of every key is the committed state (nothing is changed
// or in flight), at the position of the last message it read. A shard that had no
// event for IdleTimeout + OrphanGrace + 1 minute, and none of whose sessions is this
// instance's own, is dropped after its snapshot: its other sessions are their
// writers' to close. Without snapshots (SnapshotInterval 0) a shard is loaded from
// the beginning of the topic and never dropped.
//
// # Aggregates
//
// Per tenant and minute of corrected event time: events by type and name, pageviews
// by path, sessions started with their referrer host, utm_source, browser and device,
// sessions ended with bounces and duration, and unique visitors (HyperLogLog sketches
// of user keys, merged for longer ranges and for the live visitors of the last
// LiveWindow).
//
// The store (Store) merges every partial minute into its minute, its hour and its UTC
// day, and keeps the latest Config.Keep of each: 6 hours by minute, 35 days by hour,
// 400 days by day. A range is read at the coarsest resolution its interval and start
// allow (a range starting before the minutes kept needs whole hours, before the hours
// kept whole days), so 90 days are 90 buckets. Merging is commutative and associative
// under the bound on named values (see Minute.Count), so an hour or a day holds
// exactly the numbers of its minutes, and a range read by minute, hour or day gives the
// same totals, series, visitors and top lists.
//
// # Session rules and late events
//
// See protocol.Sessionizer. Sessions are ordered by corrected event time. An event older than
// the open session's last event is counted in that session (and in the aggregates of
// its own minute) when it lies within Inactivity before the session's start; it never
// changes the entry page or the exit page. An event older than that belongs to a
// session already closed: closed sessions are immutable, so it is counted in the
// aggregates of its minute but not sessionized (outcome Late). A session is closed by
// the next event of its key (inactivity, maximum duration, midnight, campaign change)
// or, when the key is quiet, after IdleTimeout of processing time without events; an
// event that arrives later than that starts a new session.
//
// # Hostile input
//
// Nothing a client sends can stop, stall or bloat the processor; each bound below has
// its test.
//
//   - Values. A value of an aggregate dimension (page path, event name, referrer host,
//     utm_source, browser, device type) is cut to 200 bytes on a character boundary
//     (invalid UTF-8 replaced); a session's texts (entry and exit page, referrer,
//     campaign, ids, source, browser, os, device) to 2 KiB. An event whose user key
//     is longer than 2 KiB (no collector writes one) is ignored (outcome invalid).
//   - Distinct values. A dimension of one tenant-minute keeps at most 1000 values by
//     name, the rest counted under "(other)". Which ones: the 1000 of smallest rank
//     (the value's 64-bit FNV-1a hash), among all the values it was given. The rule
//     does not depend on the order of events or of partial aggregates, nor on how they
//     were cut into commits and messages, so every instance, and the writer and the
//     instance recovering its aggregate, compute the same numbers (see Minute.Count).
//     Totals never depend on it; only which values are named does.
//   - Commits. Each commit encodes to at most 1 MiB: a key's part of it is its
//     record's exact encoded size plus a bound of what its contributions add (entries
//     of at most 200 bytes, at most 1001 per dimension and minute, sketches of at most
//     20 bytes plus 5 per insertion), and commits are filled while the sum fits. A
//     key whose part reaches 512 KiB between checkpoints (many events of one visitor
//     with long values, which no cut between keys could split) makes the instance
//     checkpoint before its next event; a key's part then stays under 512 KiB plus
//     one event's (about 2 KB) plus its record's (about 40 KB, by the caps above).
//     Aggregates are cut into messages of at most 1 MiB of JSON, by minute and, within
//     a minute, by entry.
//   - Skipped, never retried. A message of the session-state or aggregates topic that
//     cannot be decoded, or an aggregate that cannot be encoded, is skipped, counted
//     (clicktrail_processor_skipped_messages_total) and logged. Were a key's part ever
//     too large for a commit, its contributions would be left out of the aggregates
//     (counted) and its record committed alone, so its events are acknowledged.
//   - Retention. Events are aggregated and sessionized only when their minute lies
//     within Config.Retention (48 hours) before the processing clock and 10 minutes
//     after it; others are ignored (outcome outside), and a timestamp of year 1 or
//     9999 opens no minute and distorts no session. The store counts the same window
//     (20 minutes ahead, for clocks a little apart) and keeps its buckets (360
//     minutes, 840 hours, 400 days by default), so it holds at most tenants × 1,600
//     buckets × 6 × 1001 values, however many distinct values arrive in the window.
//   - Interned strings (browser names and the like, and tenants and writers) are at
//     most 64 bytes, in a table of at most 4096, emptied when full.
//   - Sessions filed by event time. One key with 2,500 events an hour apart (within the
//     retention) closes 2,499 sessions: one message each on the sessions topic, an end
//     of about 30 bytes each in its record and one partial minute each in its commit's
//     aggregate, all linear in the events; its state stays one record (its messageId
//     hashes at most maxSeen), and its part of a commit is bounded as above. With the
//     default retention only the 49 events of the last 48 hours count.
//   - The HTTP server times out slow headers (5s), requests (10s), answers (30s) and
//     idle connections (60s).
//
// # Limits
//
// An instance that dies leaves its open sessions to whoever receives their keys next;
// a session whose key never comes back is closed once an instance loads its shard,
// which happens when any key of that shard arrives (with real traffic, at once; a
// shard that receives nothing at all keeps its orphans open until it does). A
// counting commit whose writer died before publishing its aggregate is recovered by
// the holders of its shard; were they all to die before the recovery, the next holder
// finds it only if it lies after the snapshot it loads. A messageId repeated after its session closed, or more
// than maxSeen events after its first copy, is not recognised. A key without a
// session is forgotten TombstoneTTL after its last event (by each instance's clock):
// a commit that reaches an instance later than that, for a key it forgot, is judged
// without the key's history there (an instance stalled for that long could then count
// a session end twice, or a conflicting commit once).
package processor
