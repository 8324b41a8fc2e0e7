package protocol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/clicktrail/clicktrail/schemas"
)

// The checkpoint state machine without a broker: the session-state log, the
// sessions and aggregates topics, the acknowledgements and the object store are
// slices and maps in memory (below), shared by the machines of a test as the topics
// are by instances. Every send is stored at once unless a test holds it back, so
// each test runs the same steps in the same order every time.

// idx is a position in a memLog: its index.
type idx int

func (i idx) After(o Pos) bool { return i > o.(idx) }
func (i idx) Bytes() []byte    { return []byte(strconv.Itoa(int(i))) }

// memLog is the session-state log: the entries stored, in order.
type memLog struct{ entries []Entry }

func (l *memLog) store(e Entry) {
	e.Pos = idx(len(l.entries))
	l.entries = append(l.entries, e)
}

// logView is one instance's side of a memLog: its producer and following reader.
// When hold is set, commits sent are kept back (sent, not stored yet) until release
// stores them, or a crash loses them; twice stores each commit twice (a send retried
// after a lost acknowledgement, without de-duplication).
type logView struct {
	log   *memLog
	next  int
	hold  bool
	twice bool
	held  []heldEntry
}

type heldEntry struct {
	e      Entry
	stored func(error)
}

func (v *logView) Append(_ context.Context, e Entry, stored func(error)) {
	if v.hold {
		v.held = append(v.held, heldEntry{e, stored})
		return
	}
	v.log.store(e)
	if v.twice {
		v.log.store(e)
	}
	stored(nil)
}

// release stores the commits held back.
func (v *logView) release() {
	for _, h := range v.held {
		v.log.store(h.e)
		h.stored(nil)
	}
	v.held = nil
}

func (v *logView) Write(_ context.Context, e Entry) error {
	v.log.store(e)
	return nil
}

func (v *logView) Next(context.Context) (Entry, error) {
	if v.next >= len(v.log.entries) {
		return Entry{}, errors.New("read past the end of the log: the test would wait forever")
	}
	v.next++
	return v.log.entries[v.next-1], nil
}

func (v *logView) HasNext() bool { return v.next < len(v.log.entries) }

func (v *logView) ReadFrom(from Pos) (Reader, error) {
	r := &logView{log: v.log}
	if from != nil {
		r.next = int(from.(idx))
	}
	return r, nil
}

func (v *logView) Close() {}

func (v *logView) Parse(b []byte) (Pos, error) {
	i, err := strconv.Atoi(string(b))
	return idx(i), err
}

// topics are the sessions and aggregates topics and the object store.
type topics struct {
	sessions []schemas.Session
	parts    map[string]*Aggregate // the aggregates topic, first copy of each
	snaps    map[string][]byte
}

func newTopics() *topics {
	return &topics{parts: map[string]*Aggregate{}, snaps: map[string][]byte{}}
}

func (tp *topics) seen(writer string, seq uint64) bool {
	_, ok := tp.parts[fmt.Sprint(writer, "/", seq)]
	return ok
}

func (tp *topics) Get(_ context.Context, name string) (io.ReadCloser, error) {
	b, ok := tp.snaps[name]
	if !ok {
		return nil, ErrNoSnapshot
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (tp *topics) Put(_ context.Context, name string, r io.Reader, _ int64) error {
	b, err := io.ReadAll(r)
	tp.snaps[name] = b
	return err
}

// out is one instance's producers of sessions and aggregates. When hold is set, the
// aggregates are kept back: stored (store) or not, their acknowledgement never comes.
type out struct {
	tp    *topics
	hold  bool
	store bool
	acked map[int]bool // events acknowledged
}

func (o *out) Sessions(_ context.Context, s []schemas.Session) error {
	o.tp.sessions = append(o.tp.sessions, s...)
	return nil
}

func (o *out) Aggregates(_ context.Context, aggs []*Aggregate, stored func(error)) {
	if !o.hold || o.store {
		for _, a := range aggs {
			if k := fmt.Sprint(a.Writer, "/", a.Seq); o.tp.parts[k] == nil {
				o.tp.parts[k] = a
			}
		}
	}
	if !o.hold {
		stored(nil)
	}
}

func (o *out) Ack(ids []EventID) error {
	for _, id := range ids {
		o.acked[id.(int)] = true
	}
	return nil
}

// instance is a machine on the shared log and topics.
type instance struct {
	*Machine
	view *logView
	out  *out
}

func newInstance(name string, log *memLog, tp *topics, now func() time.Time) *instance {
	in := &instance{view: &logView{log: log, next: len(log.entries)}, out: &out{tp: tp, acked: map[int]bool{}}}
	in.Machine = NewMachine(Config{
		Writer: name, Namespace: "t/ns", Now: now, Log: in.view, Out: in.out, Acker: in.out,
		Snapshots: tp, Seen: tp.seen, Metrics: testMetrics(),
	})
	return in
}

// delivery is an event as the broker hands it out: its id and position.
type delivery struct {
	id  int
	key string
	e   *schemas.Event
}

// deliver hands in a batch, as the pipeline's loop does.
func (in *instance) deliver(t *testing.T, batch []delivery) {
	t.Helper()
	ctx := t.Context()
	keys := make([]string, len(batch))
	for i, d := range batch {
		keys[i] = d.key
	}
	if err := in.Before(ctx, keys); err != nil {
		t.Fatal(err)
	}
	for _, d := range batch {
		if _, err := in.Add(ctx, d.id, d.key, d.e, Position{Ledger: 5, Entry: int64(d.id)}); err != nil {
			t.Fatal(err)
		}
	}
}

// settle writes a checkpoint and reads it back (its aggregates out, its events
// acknowledged).
func (in *instance) settle(t *testing.T) {
	t.Helper()
	if err := in.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := in.Land(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// twoBatches are 4 page views for each of 3 keys of one shard, a minute apart: one
// session per key. The first batch holds the first two minutes.
func twoBatches() (keys []string, batches [2][]delivery) {
	keys = keysOfOneShard(3)
	for i := range 4 {
		for k, key := range keys {
			id := i*len(keys) + k
			e := keyed(ev{At: time.Duration(i) * time.Minute, ID: fmt.Sprintf("%s-%d", key, i), Path: fmt.Sprint("/p", i)}, key)
			batches[i/2] = append(batches[i/2], delivery{id, key, e})
		}
	}
	return keys, batches
}

// The whole protocol, machine by machine: a processes the first batch, snapshots the
// shard, processes the second and stops at one step of its checkpoint (crashes, or
// stalls and writes late); the broker hands b every event a did not acknowledge. b
// loads the shard from the snapshot and the commits since, processes, expires the
// sessions and recovers the aggregates a left out. Then the aggregates topic (first
// copy of each part, as the store keeps it) counts every event and every session
// once, the sessions topic holds each session, every event is acknowledged, and b
// never has to start over; a stalled a learns that its commits were overtaken.
func TestTheMachineCountsEveryEventOnceWhereverItStops(t *testing.T) {
	const (
		afterEvents      = "a crashes after handling the events"
		commitsLost      = "a crashes with its commits sent, not stored"
		commitsUnread    = "a crashes with its commits stored, not read back"
		aggregatesLost   = "a crashes with its commits counted, its aggregates not stored"
		aggregatesUnack  = "a crashes with its aggregates stored, its events not acknowledged"
		commitsTwice     = "a's commits are stored twice, then it crashes before acknowledging"
		stalled          = "a stalls with its commits sent; they land after b's"
		handedOver       = "a hands the keys over: every event acknowledged, shard snapshotted at shutdown"
		eventsPerKey     = 4
		sessionsExpected = 3
	)
	for _, step := range []string{afterEvents, commitsLost, commitsUnread, aggregatesLost, aggregatesUnack, commitsTwice, stalled, handedOver} {
		t.Run(step, func(t *testing.T) {
			ctx := t.Context()
			clk := &clock{t0.Add(time.Hour)}
			log, tp := &memLog{}, newTopics()
			keys, batches := twoBatches()
			a := newInstance("a", log, tp, clk.Now)
			a.deliver(t, batches[0])
			if err := a.SnapshotShards(ctx); err != nil {
				t.Fatal(err)
			}
			a.Wait()
			if len(tp.snaps) != 1 {
				t.Fatalf("%d shard snapshots written, want 1", len(tp.snaps))
			}

			a.deliver(t, batches[1])
			switch step {
			case commitsLost:
				a.view.hold = true
				if err := a.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
				a.view.held = nil // lost with a
			case commitsUnread, stalled:
				a.view.hold = true
				if err := a.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
				if step == commitsUnread {
					a.view.release()
				}
			case aggregatesLost, aggregatesUnack:
				a.out.hold, a.out.store = true, step == aggregatesUnack
				a.settle(t)
			case commitsTwice:
				a.view.twice, a.out.hold = true, true
				a.settle(t)
			case handedOver:
				if err := a.Shutdown(ctx); err != nil {
					t.Fatal(err)
				}
				a.Wait()
			}

			// The broker hands b the keys, with every event a did not acknowledge.
			b := newInstance("b", log, tp, clk.Now)
			var again []delivery
			for _, batch := range batches {
				for _, d := range batch {
					if !a.out.acked[d.id] {
						again = append(again, d)
					}
				}
			}
			if step == handedOver {
				if len(again) != 0 {
					t.Fatalf("%d events not acknowledged after a's shutdown", len(again))
				}
				// New events of the same keys, later: b goes on with a's sessions.
				for i, key := range keys {
					again = append(again, delivery{100 + i, key, keyed(ev{At: 4 * time.Minute, ID: key + "-4", Path: "/p4"}, key)})
				}
			}
			b.deliver(t, again)
			b.settle(t)
			if step == stalled {
				// a's commits land now, after b's; a reads them back as overtaken.
				a.view.release()
				if err := a.CatchUp(ctx); !errors.Is(err, ErrConflict) {
					t.Errorf("a stalled writer whose commits were overtaken reads them back with %v, want ErrConflict", err)
				}
			}
			clk.T = clk.T.Add(2 * time.Hour) // past the idle timeout and RecoverAfter
			if err := b.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			b.Expire()
			b.settle(t)
			if err := b.RecoverOrphans(ctx); err != nil {
				t.Fatal(err)
			}

			events, ended := int64(0), int64(0)
			for _, agg := range tp.parts {
				for _, m := range agg.Minutes {
					events += m.TotalEvents()
					ended += m.SessionsEnded
				}
			}
			want := int64(len(keys) * eventsPerKey)
			if step == handedOver {
				want += int64(len(keys))
			}
			if events != want || ended != sessionsExpected {
				t.Errorf("the aggregates count %d events and %d sessions ended, want %d and %d", events, ended, want, sessionsExpected)
			}
			ids := map[string]bool{}
			for _, s := range tp.sessions {
				ids[s.SessionID] = true
			}
			if len(ids) != sessionsExpected {
				t.Errorf("%d sessions published (%d distinct), want %d", len(tp.sessions), len(ids), sessionsExpected)
			}
			for _, d := range again {
				if !b.out.acked[d.id] {
					t.Errorf("event %d was not acknowledged", d.id)
				}
			}
			if n := testutil.ToFloat64(b.m.Commits.WithLabelValues("written")); n == 0 {
				t.Errorf("b wrote no commit")
			}
			// b started from the committed state: none of its own commits was overtaken
			// (it would have had to start over, see ErrConflict); the others' it read
			// overtaken are a stalled a's.
			overtaken := testutil.ToFloat64(b.m.Commits.WithLabelValues("overtaken"))
			if step != stalled && overtaken != 0 || step == stalled && overtaken == 0 {
				t.Errorf("b read %v commits as overtaken", overtaken)
			}
		})
	}
}

// An instance taking over keys writes a marker and reads up to it (a previous owner's
// last commit may be on its way). The marker is known by its writer and number,
// whatever position the broker acknowledged (de-duplication acknowledges a copy it
// drops with none): the reader ends at this run's marker, not at an older marker of
// the same writer nor at another writer's marker of the same number.
func TestSyncEndsAtItsOwnMarker(t *testing.T) {
	log, tp := &memLog{}, newTopics()
	in := newInstance("me", log, tp, (&clock{t0}).Now)
	in.markers = 1
	log.store(Entry{Writer: "me", Marker: "1", Shard: -1})
	log.store(Entry{Writer: "other", Marker: "2", Shard: -1})
	marker, err := in.sync(t.Context())
	if err != nil {
		t.Fatalf("sync did not end at its marker: %v", err)
	}
	if marker != "2" || len(log.entries) != 3 || log.entries[2].Writer != "me" || log.entries[2].Marker != "2" {
		t.Fatalf("marker %q; log %+v: want this writer's marker 2 at its end", marker, log.entries)
	}
	if in.view.HasNext() {
		t.Errorf("entries left unread after the marker")
	}
}

// What the log holds that cannot be read is skipped with a metric, never retried:
// an undecodable commit of a shard held, and a commit without a shard (an older
// version's). The machine reads on.
func TestUnreadableCommitsAreSkipped(t *testing.T) {
	log, tp := &memLog{}, newTopics()
	keys, batches := twoBatches()
	in := newInstance("me", log, tp, (&clock{t0.Add(time.Hour)}).Now)
	in.deliver(t, batches[0]) // the shard is held now
	log.store(Entry{Writer: "other", Seq: 1, Shard: shardOf(keys[0]), Payload: []byte{commitVersion, 200}})
	log.store(Entry{Writer: "old", Seq: 1, Shard: -1, Payload: []byte("anything")})
	if err := in.CatchUp(t.Context()); err != nil {
		t.Fatalf("an unreadable commit stops the reader: %v", err)
	}
	for _, reason := range []string{"undecodable", "unsharded"} {
		if n := testutil.ToFloat64(in.m.Skipped.WithLabelValues(schemas.TopicSessionState, reason)); n != 1 {
			t.Errorf("%v commits skipped as %s, want 1", n, reason)
		}
	}
	in.settle(t)
	if len(in.out.acked) != len(batches[0]) {
		t.Errorf("%d events acknowledged, want %d", len(in.out.acked), len(batches[0]))
	}
}

// A commit of a shard this instance does not hold is skipped without decoding; one
// of a shard it holds, written by another instance, replaces what it holds of the key.
func TestOnlyTheShardsHeldAreRead(t *testing.T) {
	log, tp := &memLog{}, newTopics()
	clk := &clock{t0.Add(time.Hour)}
	_, batches := twoBatches()
	a := newInstance("a", log, tp, clk.Now)
	b := newInstance("b", log, tp, clk.Now)
	a.deliver(t, batches[0])
	a.settle(t)
	if err := b.CatchUp(t.Context()); err != nil {
		t.Fatal(err)
	}
	if b.Open() != 0 || testutil.ToFloat64(b.m.Commits.WithLabelValues("read")) != 0 {
		t.Errorf("b, holding no shard, holds %d sessions and read %v commits", b.Open(), testutil.ToFloat64(b.m.Commits.WithLabelValues("read")))
	}
	b.deliver(t, batches[1]) // b loads the shard: a's commits
	if b.Open() != 3 || b.Shards() != 1 {
		t.Errorf("b holds %d sessions in %d shards after loading, want 3 in 1", b.Open(), b.Shards())
	}
}

// testMetrics are unregistered metrics.
func testMetrics() Metrics {
	counters := func(labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "c"}, labels)
	}
	return Metrics{
		Commits: counters("direction"), StateRecords: counters("direction"), Skipped: counters("topic", "reason"),
		Snapshots: counters("result"), SessionsClosed: counters("reason"), Aggregates: counters("outcome"),
		Checkpoint:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h"}),
		CommitBytes:  prometheus.NewHistogram(prometheus.HistogramOpts{Name: "h"}),
		Acked:        prometheus.NewCounter(prometheus.CounterOpts{Name: "c"}),
		ValuesCapped: prometheus.NewCounter(prometheus.CounterOpts{Name: "c"}), Refused: prometheus.NewCounter(prometheus.CounterOpts{Name: "c"}),
		OpenSessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"}), Shards: prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"}),
	}
}
