package protocol

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// ErrConflict: a commit of this instance did not count (see Sessionizer.Evaluate).
var ErrConflict = errors.New("a commit of this instance was overtaken by another writer's; restarting from the committed state")

// RecoverAfter is how long a counting commit of another writer may go without its
// aggregate on the aggregates topic before this instance publishes it (the writer
// died between the two writes). Repeats are harmless: readers keep the first copy.
const RecoverAfter = 5 * time.Second

// Config is what a Machine works with.
type Config struct {
	Rules     SessionRules
	Writer    string // this run's writer id
	Namespace string // tenant/namespace: names the shard snapshots
	Now       func() time.Time
	Log       Log
	Out       Out
	Acker     Acker
	Snapshots Snapshots // nil: none
	// Seen reports whether every part of writer's aggregate seq was read from the
	// aggregates topic (the dashboard's store knows).
	Seen    func(writer string, seq uint64) bool
	Metrics Metrics
	Logger  *slog.Logger
}

// Machine is the checkpoint state machine of one namespace: it keeps the sessionizer
// of the shards this instance holds, writes checkpoints to the session-state log and
// reads them back, publishes their aggregates and acknowledges their events, loads a
// shard's state when its keys arrive and snapshots the shards it holds. It does no
// I/O of its own: everything goes through Config's interfaces. One goroutine drives
// it (the pipeline's loop); the callbacks of Log.Append and Out.Aggregates may run on
// others.
//
// Delivery: an event is acknowledged only after the sessions it closed are stored,
// the commit holding it is stored and read back as counting, and its aggregate is
// stored. A crash redelivers the unacknowledged events; the key's committed position
// makes the replay idempotent. A crash between the sessions and the commit publishes
// those sessions again (same sessionId): sessions are at least once. A crash between
// the commit and its aggregate leaves the aggregate to the other instances
// (RecoverOrphans).
type Machine struct {
	cfg     Config
	z       *Sessionizer
	m       Metrics
	log     *slog.Logger
	now     func() time.Time
	markers uint64 // markers this run wrote (see sync)

	// The shards whose keys this instance holds, when each last had an event, and the
	// position of the last entry of the log read.
	served    [StateShards]bool
	lastEvent [StateShards]time.Time
	lastRead  Pos

	pending []EventID // processed, not in a checkpoint yet
	buf     []byte

	// The checkpoint written and not read back yet (at most one), and its commits.
	flight *flight
	own    map[uint64]*Commit
	// written is signalled when a commit of this instance is stored: read it back.
	written chan struct{}
	// errs receives the first error of a send or acknowledgement that runs on.
	errs chan error
	// acking counts checkpoints whose aggregates are being published; uploads the
	// shard snapshots being put in the object store.
	acking  sync.WaitGroup
	uploads sync.WaitGroup
	overrun bool     // an own commit did not count
	orphans []orphan // other writers' counting commits whose aggregate was not seen
}

// flight is a checkpoint whose commits are written and not all read back yet.
type flight struct {
	waiting int          // commits not read back yet
	aggs    []*Aggregate // of the commits read back
	acks    []EventID    // the events it holds, acknowledged once its aggregates are out
	start   time.Time
}

// orphan is a counting commit of another writer whose aggregate has not been read.
type orphan struct {
	agg   *Aggregate
	since time.Time
}

// NewMachine returns a machine that holds no shard yet.
func NewMachine(cfg Config) *Machine {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	z := NewSessionizer(cfg.Rules, cfg.Writer, cfg.Now)
	cfg.Rules = z.rules // with the defaults filled in
	return &Machine{
		cfg: cfg, z: z, m: cfg.Metrics, log: cfg.Logger, now: cfg.Now, own: map[uint64]*Commit{},
		written: make(chan struct{}, 1), errs: make(chan error, 1),
	}
}

// Writer is this run's writer id.
func (m *Machine) Writer() string { return m.cfg.Writer }

// Open reports how many sessions are held.
func (m *Machine) Open() int { return m.z.Open() }

// Written is signalled when a commit of this instance is stored: call CatchUp.
func (m *Machine) Written() <-chan struct{} { return m.written }

// Errs receives the first error of a send or acknowledgement that ran on: the
// machine must stop.
func (m *Machine) Errs() <-chan error { return m.errs }

// Pending reports how many events were processed and are not in a checkpoint yet.
func (m *Machine) Pending() int { return len(m.pending) }

// NeedsCheckpoint reports that a key's contributions reached its share of a commit:
// checkpoint before its next event (see Sessionizer.Checkpoint).
func (m *Machine) NeedsCheckpoint() bool { return m.z.NeedsCheckpoint() }

// Skip takes an event that cannot be processed (undecodable): it is acknowledged with
// the next checkpoint.
func (m *Machine) Skip(id EventID) { m.pending = append(m.pending, id) }

// Add processes event e, found at pos under the message key key; id is acknowledged
// once the checkpoint holding it is out. Before must have been called for its batch.
func (m *Machine) Add(ctx context.Context, id EventID, key string, e *schemas.Event, pos Position) (Outcome, error) {
	m.pending = append(m.pending, id)
	if uk := e.UserKey(); uk != key && !m.served[shardOf(uk)] {
		// Keyed otherwise than by its user key (no collector does): its shard first
		// (Before loaded the message key's).
		var one [StateShards]bool
		one[shardOf(uk)] = true
		if err := m.load(ctx, &one); err != nil {
			return 0, err
		}
	}
	return m.z.Add(e, &pos), nil
}

// Expire closes the sessions that went quiet.
func (m *Machine) Expire() { m.z.Expire() }

// CatchUp reads the session-state log to its end.
func (m *Machine) CatchUp(ctx context.Context) error {
	for m.cfg.Log.HasNext() {
		e, err := m.cfg.Log.Next(ctx)
		if err != nil {
			return fmt.Errorf("read session state: %w", err)
		}
		if err := m.take(ctx, e); err != nil {
			return err
		}
	}
	m.m.OpenSessions.Set(float64(m.z.Open()))
	return nil
}

// Before makes sure the state of every key of a batch (keys, the messages' keys) is
// known before the batch is handled. For keys this instance processed last, reading
// to the end of the session-state log is enough. A key that comes from another
// instance may have a commit on its way: its previous owner sent it and died before
// the broker stored it, while the broker already handed the key's unacknowledged
// events here. The end of the log does not include it yet, so this instance writes a
// marker and reads up to it: the broker appends messages to a topic in the order it
// receives them, and it received that commit before it noticed the death that moved
// the events here, so the commit lies before the marker. (Were it missed anyway, the
// commit this instance writes for the key would not count, and it would start over:
// see Sessionizer.Evaluate.)
//
// First, the shards of the batch's keys that this instance does not hold yet are
// loaded (see load).
func (m *Machine) Before(ctx context.Context, keys []string) error {
	var missing [StateShards]bool
	need := false
	now := m.now()
	for _, k := range keys {
		s := shardOf(k)
		m.lastEvent[s] = now
		if !m.served[s] {
			missing[s], need = true, true
		}
	}
	if need {
		return m.load(ctx, &missing)
	}
	for _, k := range keys {
		if !m.z.Owns(k) {
			_, err := m.sync(ctx)
			return err
		}
	}
	return m.CatchUp(ctx)
}

// sync writes a marker to the session-state log and reads every commit up to it. The
// marker is known by its writer and number, not by the position the broker
// acknowledged: when the broker that stored it dies before acknowledging, the producer
// sends it again to the topic's next owner, whose de-duplication acknowledges the copy
// it drops with no position (the fault suite's cluster profile, a SIGKILLed broker).
// It returns the marker's number.
func (m *Machine) sync(ctx context.Context) (string, error) {
	m.markers++
	marker := strconv.FormatUint(m.markers, 10)
	if err := m.cfg.Log.Write(ctx, Entry{Writer: m.cfg.Writer, Marker: marker, Shard: -1}); err != nil {
		return "", fmt.Errorf("write a marker to session state: %w", err)
	}
	m.m.Commits.WithLabelValues("marker").Inc()
	for {
		e, err := m.cfg.Log.Next(ctx)
		if err != nil {
			return "", fmt.Errorf("read session state: %w", err)
		}
		if err := m.take(ctx, e); err != nil {
			return "", err
		}
		if m.isMarker(&e, marker) {
			break
		}
	}
	m.m.OpenSessions.Set(float64(m.z.Open()))
	return marker, nil
}

// isMarker reports whether e is this run's marker number marker.
func (m *Machine) isMarker(e *Entry, marker string) bool {
	return e.Writer == m.cfg.Writer && e.Marker == marker
}

// take evaluates one entry of the session-state log: other writers' counting commits
// replace what is held for their keys (and, until their aggregate is read, are kept
// for recovery); this instance's own commits are matched with what it wrote.
func (m *Machine) take(ctx context.Context, e Entry) error {
	m.lastRead = e.Pos
	if e.Marker != "" {
		return nil
	}
	c := m.own[e.Seq]
	own := e.Writer == m.cfg.Writer && c != nil
	if !own {
		if e.Writer == m.cfg.Writer {
			// A second copy of a commit of this run, already read back (a send repeated
			// without de-duplication): the first copy decided.
			m.m.Commits.WithLabelValues("repeated").Inc()
			return nil
		}
		if e.Shard < 0 || e.Shard >= StateShards {
			m.m.Skipped.WithLabelValues(schemas.TopicSessionState, "unsharded").Inc()
			m.log.Warn("commit without a shard skipped (written by an older version)", "position", e.Pos, "writer", e.Writer)
			return nil
		}
		if !m.served[e.Shard] {
			return nil // another instance's keys
		}
		var err error
		if c, err = DecodeCommit(e.Payload, m.z.intern); err != nil {
			m.m.Skipped.WithLabelValues(schemas.TopicSessionState, "undecodable").Inc()
			m.log.Warn("undecodable commit skipped", "err", err, "position", e.Pos, "bytes", len(e.Payload))
			return nil
		}
	}
	if own {
		delete(m.own, c.Seq)
	}
	m.m.Commits.WithLabelValues("read").Inc()
	m.m.StateRecords.WithLabelValues("read").Add(float64(len(c.Records)))
	agg, ok := m.z.Evaluate(c)
	switch {
	case !ok && own:
		m.overrun = true
	case !ok:
		m.m.Commits.WithLabelValues("overtaken").Inc()
		m.log.Warn("commit overtaken by another writer's, not counted", "writer", c.Writer, "seq", c.Seq)
	case own:
		m.flight.aggs = append(m.flight.aggs, agg)
	case !m.cfg.Seen(c.Writer, c.Seq):
		m.orphans = append(m.orphans, orphan{agg, m.now()})
	}
	if own {
		if m.flight.waiting--; m.flight.waiting == 0 {
			return m.landed(ctx)
		}
	}
	return nil
}

// Checkpoint writes what changed since the last one, without waiting for it to be
// read back: it publishes the closed sessions and waits until they are stored, then
// sends the commits of the changed keys. CatchUp reads the commits back (they count
// unless another writer's commit overtook one), then publishes their aggregates, and
// once those are stored the events they hold are acknowledged. One checkpoint is in
// flight at a time: the next waits until the previous one is read back, so its
// commits start from the committed positions.
func (m *Machine) Checkpoint(ctx context.Context) error {
	if err := m.Land(ctx); err != nil {
		return err
	}
	start := m.now()
	cp := m.z.Checkpoint()
	if c := m.z.TakeCounters(); c != (Counters{}) {
		m.m.ValuesCapped.Add(float64(c.ValuesCapped))
		m.m.Refused.Add(float64(c.Refused))
		if c.Refused > 0 {
			m.log.Error("events left out of the aggregates: their key's record did not fit a commit", "events", c.Refused)
		}
	}
	if len(cp.Commits) == 0 && len(cp.Closed) == 0 && len(m.pending) == 0 {
		return nil
	}
	entries := make([]Entry, 0, len(cp.Commits))
	records := 0
	for _, c := range cp.Commits {
		var err error
		if m.buf, err = AppendCommit(m.buf[:0], c); err != nil {
			return fmt.Errorf("encode commit %d: %w", c.Seq, err)
		}
		m.m.CommitBytes.Observe(float64(len(m.buf)))
		entries = append(entries, Entry{Writer: m.cfg.Writer, Seq: c.Seq, Shard: c.Shard, Payload: append([]byte(nil), m.buf...)})
		records += len(c.Records)
	}
	// A session is published before the commit that closes it: a crash in between
	// publishes it again (same sessionId), never loses it.
	if len(cp.Closed) > 0 {
		if err := m.cfg.Out.Sessions(ctx, cp.Closed); err != nil {
			return fmt.Errorf("publish closed sessions: %w", err)
		}
		for i := range cp.Closed {
			m.m.SessionsClosed.WithLabelValues(cp.Closed[i].EndReason).Inc()
		}
	}
	f := &flight{waiting: len(cp.Commits), acks: m.pending, start: start}
	m.pending = nil
	if f.waiting == 0 {
		// Nothing to commit (replays, undecodable events): nothing to wait for.
		return m.acknowledge(f.acks)
	}
	m.flight = f
	sendCtx := context.WithoutCancel(ctx) // CatchUp reads them back, the shutdown too
	for i, c := range cp.Commits {
		m.own[c.Seq] = c
		m.cfg.Log.Append(sendCtx, entries[i], func(err error) {
			if err != nil {
				m.fail(fmt.Errorf("publish session state: %w", err))
				return
			}
			select {
			case m.written <- struct{}{}:
			default:
			}
		})
	}
	m.m.Commits.WithLabelValues("written").Add(float64(len(entries)))
	m.m.StateRecords.WithLabelValues("written").Add(float64(records))
	return nil
}

// Land waits until the checkpoint in flight, if any, is read back.
func (m *Machine) Land(ctx context.Context) error {
	for m.flight != nil {
		if err := m.CatchUp(ctx); err != nil {
			return err
		}
		if m.flight == nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-m.errs:
			return err
		case <-m.written:
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// landed is called when the last commit of the checkpoint in flight is read back: it
// publishes the commits' aggregates, and acknowledges the events once they are out.
func (m *Machine) landed(ctx context.Context) error {
	f := m.flight
	m.flight = nil
	if m.overrun {
		m.m.Commits.WithLabelValues("overtaken").Inc()
		return ErrConflict
	}
	// The sends run on after ctx ends (a shutdown waits for them within its grace).
	m.acking.Add(1)
	m.cfg.Out.Aggregates(context.WithoutCancel(ctx), f.aggs, func(err error) {
		defer m.acking.Done()
		if err != nil {
			m.fail(fmt.Errorf("publish aggregates: %w", err))
			return
		}
		if err := m.acknowledge(f.acks); err != nil {
			m.fail(err)
			return
		}
		m.m.Checkpoint.Observe(m.now().Sub(f.start).Seconds())
	})
	return nil
}

func (m *Machine) acknowledge(ids []EventID) error {
	if len(ids) == 0 {
		return nil
	}
	if err := m.cfg.Acker.Ack(ids); err != nil {
		return fmt.Errorf("acknowledge %d events: %w", len(ids), err)
	}
	m.m.Acked.Add(float64(len(ids)))
	return nil
}

// fail passes an error of a send or acknowledgement that runs on to Errs.
func (m *Machine) fail(err error) {
	select {
	case m.errs <- err:
	default:
	}
}

// RecoverOrphans publishes the aggregates of other writers' counting commits that did
// not appear on the aggregates topic within RecoverAfter, and waits until they are
// stored.
func (m *Machine) RecoverOrphans(ctx context.Context) error {
	if len(m.orphans) == 0 {
		return nil
	}
	var aggs []*Aggregate
	kept := m.orphans[:0]
	for _, o := range m.orphans {
		switch {
		case m.cfg.Seen(o.agg.Writer, o.agg.Seq):
		case m.now().Sub(o.since) < RecoverAfter:
			kept = append(kept, o)
		default:
			aggs = append(aggs, o.agg)
			m.log.Info("publishing the aggregate of another writer's commit", "writer", o.agg.Writer, "seq", o.agg.Seq)
		}
	}
	clear(m.orphans[len(kept):])
	m.orphans = kept
	if len(aggs) == 0 {
		return nil
	}
	done := make(chan error, 1)
	m.cfg.Out.Aggregates(ctx, aggs, func(err error) { done <- err })
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("publish recovered aggregates: %w", err)
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	m.m.Aggregates.WithLabelValues("recovered").Add(float64(len(aggs)))
	return nil
}

// Shutdown writes the last checkpoint (with the shards' snapshots, when snapshots
// are on), so every event processed is acknowledged, and waits for its aggregates
// and acknowledgements within ctx.
func (m *Machine) Shutdown(ctx context.Context) error {
	var err error
	if m.cfg.Snapshots != nil {
		err = m.SnapshotShards(ctx) // the next holder of each shard starts from here
	} else {
		err = m.Checkpoint(ctx)
	}
	if err == nil {
		err = m.Land(ctx)
	}
	done := make(chan struct{})
	go func() { m.acking.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, ctx.Err())
	}
	select {
	case aerr := <-m.errs:
		err = errors.Join(err, aerr)
	default:
	}
	return err
}

// Wait waits for the shard snapshots being put in the object store.
func (m *Machine) Wait() { m.uploads.Wait() }
