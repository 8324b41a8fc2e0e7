// Package processor turns the event stream of each source into visitor sessions and
// per-minute aggregates, and serves them to dashboards (JSON API and a built-in page).
//
// # Consumption
//
// Every instance reads the partitioned events topic through the Key_Shared
// subscription "processor" (auto-split hash ranges, no out-of-order delivery), so all
// events of one user key go, in order, to one instance at a time.
//
// # State, checkpoints and acknowledgements
//
// The state of a user key (its open session, the messageIds seen in it, the position of
// the last event applied, and the aggregate contributions since its previous record)
// is written as one record, keyed by the user key, to the namespace's session-state
// topic (schemas.TopicSessionState). Every CheckpointInterval an instance
//
//  1. publishes the sessions that closed to the sessions topic and flushes;
//  2. publishes one state record per user key that changed and flushes;
//  3. only then acknowledges the events those records hold.
//
// A crash therefore never loses an event: unacknowledged events are redelivered and
// whoever receives them loads the key's last record first. Replay is idempotent: an
// event at or before the record's position is acknowledged and skipped, and a
// messageId already in the open session is a duplicate. A crash between steps 1 and 2
// republishes a closed session with the same deterministic sessionId (the sessions
// topic is at least once; readers keep one record per sessionId).
//
// # Rebalance
//
// Key_Shared hands a key to a new consumer only after the previous one acknowledged the
// key's earlier events, which happens after their state record is durable. Every
// instance tails the session-state topic and, before it processes a batch, reads it to
// its end (Reader.HasNext asks the broker for the last position), so the new owner
// holds the previous owner's last record before it sees the key's next event. When an
// owner dies, the broker hands its unacknowledged events on at once, possibly before it
// has stored the last record the dead owner sent; the end of the topic does not include
// that record yet. So before handling events of a key it does not own, an instance
// writes a marker to the session-state topic and reads up to it: the broker appends in
// the order it receives, and it received the record before it noticed the death.
// Records
// of other instances replace what an instance held for that key, so a key that comes
// back after a while is never processed from an outdated copy. A record whose position
// is behind the one held (a record of a crashed owner that landed late) is ignored.
//
// # Aggregates
//
// The aggregates are folded from the session-state topic: each record carries the
// counts its events added (events by type and name, pageviews by path, sessions started
// with their referrer, utm_source, browser and device, sessions ended with bounce and
// duration) by minute, and the user key marks the minutes in which it was active. As
// every record is one message, written once and read once, the folded counts are exact
// after crashes, restarts and scale-out, and every instance serves the same merged
// result. Unique visitors are HyperLogLog sketches of user keys per minute (merged for
// longer ranges). The aggregates topic is not used: partial aggregates travel inside
// the state records, where they are atomic with the state they come from.
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
// tails), and at start it reads the retained session-state topic from the beginning to
// rebuild both the table and the aggregates; snapshots that would shorten this are not
// implemented. A messageId repeated after its session closed is not recognised.
package processor
