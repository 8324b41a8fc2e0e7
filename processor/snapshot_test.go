package processor

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/processor/protocol"
	"github.com/clicktrail/clicktrail/schemas"
)

// memSnapshots keeps snapshots in memory.
type memSnapshots struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (s *memSnapshots) Get(_ context.Context, name string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.m[name]
	if !ok {
		return nil, protocol.ErrNoSnapshot
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (s *memSnapshots) Put(_ context.Context, name string, r io.Reader, size int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if int64(len(b)) != size {
		return fmt.Errorf("put %s: %d bytes, announced %d", name, len(b), size)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][]byte{}
	}
	s.m[name] = b
	return nil
}

// feed is a namespace's aggregates topic as messages: writer, part id, partials.
type feedMsg struct {
	writer   string
	id       aggID
	partials []*protocol.Minute
}

func randomFeed(rng *rand.Rand, from time.Time, span time.Duration, n int) []feedMsg {
	var out []feedMsg
	for i := 0; i < n; i++ {
		var ps []*protocol.Minute
		for j := rng.IntN(3); j >= 0; j-- {
			at := from.Add(time.Duration(rng.Int64N(int64(span/time.Minute))) * time.Minute)
			m := pageMinute(at, fmt.Sprintf("/p/%d", rng.IntN(1500)), fmt.Sprintf("/q/%d", rng.IntN(20)))
			m.Tenant = []string{"acme", "globex"}[rng.IntN(2)]
			ps = append(ps, m)
		}
		out = append(out, feedMsg{fmt.Sprintf("w%d", i%3), aggID{uint64(i/3 + 1), 1, 1}, ps})
	}
	return out
}

func take(s *Store, ns string, msgs []feedMsg, first int) {
	for i, m := range msgs {
		s.Take(ns, []byte(fmt.Sprint(first+i)), t0, m.writer, m.id, m.partials)
	}
}

// A store read back from its snapshot answers as the store did, and takes the rest
// of the topic as it would have; messages read again from before the snapshot (a
// position lost) count nothing twice.
func TestAStoreReadBackFromItsSnapshotAnswersTheSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	msgs := randomFeed(rng, t0.Add(-40*time.Hour), 40*time.Hour, 900)
	now := func() time.Time { return t0 }
	whole := NewStore(protocol.DefaultRetention, now)
	take(whole, "t/ns", msgs, 0)

	half := NewStore(protocol.DefaultRetention, now)
	take(half, "t/ns", msgs[:500], 0)
	half.Add([]*protocol.Minute{pageMinute(t0, "/another-namespace")}) // not in ns's snapshot
	var snap bytes.Buffer
	if _, _, err := half.WriteSnapshot("t/ns", nil, &snap); err != nil {
		t.Fatal(err)
	}
	restored := NewStore(protocol.DefaultRetention, now)
	if _, n, err := restored.ReadSnapshot("t/ns", bytes.NewReader(snap.Bytes())); err != nil || n == 0 {
		t.Fatalf("read back %d buckets: %v", n, err)
	}
	if got := string(restored.Position("t/ns")); got != "499" {
		t.Errorf("position %q, want the last message taken, 499", got)
	}
	take(restored, "t/ns", msgs[400:], 400) // 100 messages again, then the rest
	for _, q := range []struct {
		from time.Time
		step time.Duration
	}{{t0.Add(-time.Hour), time.Minute}, {t0.Add(-40 * time.Hour).Truncate(time.Hour), time.Hour}, {t0.Add(-90 * 24 * time.Hour).Truncate(24 * time.Hour), 24 * time.Hour}} {
		for _, tenant := range []string{"acme", "globex"} {
			want, err1 := whole.Query(tenant, q.from, t0.Add(time.Hour), q.step, 1000, t0)
			got, err2 := restored.Query(tenant, q.from, t0.Add(time.Hour), q.step, 1000, t0)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s from %s by %s: the restored store answers %+v, want %+v", tenant, q.from, q.step, got.Totals, want.Totals)
			}
			if want.Totals.Pageviews == 0 {
				t.Errorf("%s from %s: nothing to compare", tenant, q.from)
			}
		}
	}
	for _, w := range []string{"w0", "w1", "w2"} {
		if !restored.Seen("t/ns", w, 300) || restored.Seen("t/ns", w, 301) {
			t.Errorf("writer %s: aggregates up to 300 not seen, or 301 seen", w)
		}
	}
}

// Ranges longer than the topic keeps survive a restart: 20 days later, a store read
// back from a snapshot still has the days it was given.
func TestDaysOutliveTheTopicInSnapshots(t *testing.T) {
	clk := &clock{t0}
	s := NewStore(protocol.DefaultRetention, clk.Now)
	take(s, "t/ns", []feedMsg{{"w", aggID{1, 1, 1}, []*protocol.Minute{pageMinute(t0.Add(-time.Hour), "/a", "/b")}}}, 0)
	snaps := &memSnapshots{}
	if _, _, _, err := saveSnapshot(context.Background(), s, snaps, "t/ns", nil); err != nil {
		t.Fatal(err)
	}
	clk.T = t0.Add(20 * 24 * time.Hour)
	later := NewStore(protocol.DefaultRetention, clk.Now)
	if _, _, err := loadSnapshot(context.Background(), later, snaps, "t/ns"); err != nil {
		t.Fatal(err)
	}
	st, err := later.Query("acme", clk.T.Add(-90*24*time.Hour).Truncate(24*time.Hour), clk.T, 24*time.Hour, 10, clk.T)
	if err != nil || st.Totals.Pageviews != 2 || st.Resolution != "day" {
		t.Errorf("the last 90 days 20 days later: %d pageviews by %s (%v), want 2 by day", st.Totals.Pageviews, st.Resolution, err)
	}
	if _, _, err := loadSnapshot(context.Background(), later, snaps, "t/other"); err != protocol.ErrNoSnapshot {
		t.Errorf("the snapshot of a namespace never written: %v, want ErrNoSnapshot", err)
	}
}

// A snapshot that is not one (truncated, of another namespace or version) is refused
// and leaves the store as it was.
func TestABadSnapshotIsRefusedAndChangesNothing(t *testing.T) {
	s := NewStore(protocol.DefaultRetention, (&clock{t0}).Now)
	take(s, "t/ns", []feedMsg{{"w", aggID{1, 1, 1}, []*protocol.Minute{pageMinute(t0, "/a")}}}, 0)
	var snap bytes.Buffer
	if _, _, err := s.WriteSnapshot("t/ns", nil, &snap); err != nil {
		t.Fatal(err)
	}
	good := snap.Bytes()
	tests := []struct {
		name, ns string
		data     []byte
		want     string
	}{
		{"another namespace's", "t/other", good, `namespace "t/ns"`},
		{"truncated", "t/ns", good[:len(good)/2], "read the snapshot"},
		{"not LZ4", "t/ns", []byte(`{"version":1}`), "read the snapshot"},
		{"empty", "t/ns", nil, "read the snapshot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewStore(protocol.DefaultRetention, (&clock{t0}).Now)
			take(r, tc.ns, []feedMsg{{"x", aggID{1, 1, 1}, []*protocol.Minute{pageMinute(t0, "/kept")}}}, 7)
			_, _, err := r.ReadSnapshot(tc.ns, bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want one saying %q", err, tc.want)
			}
			st, _ := r.Query("acme", t0.Add(-time.Hour), t0.Add(time.Hour), time.Minute, 10, t0)
			if st.Totals.Pageviews != 1 || string(r.Position(tc.ns)) != "7" {
				t.Errorf("after a refused snapshot: %d pageviews at position %q, want the store unchanged (1 at 7)", st.Totals.Pageviews, r.Position(tc.ns))
			}
		})
	}
}

// An instance starts from the latest snapshot of the aggregates in the object store
// (here, the one its predecessor wrote as it stopped) and reads only the topic after
// it: the same numbers, from a few messages instead of all of them.
func TestAnInstanceStartsFromTheSnapshotOfTheAggregates(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	a := startInstance(t, cfg, "a")
	base := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Minute)
	var rounds [][]*schemas.Event
	for seed := uint64(11); seed < 14; seed++ {
		rounds = append(rounds, visitorStream(seed, 100, env.Tenant, base)...)
	}
	produce(t, env.Client(), env.Topic(schemas.TopicEvents), rounds, 150*time.Millisecond, nil)
	sessions, _ := reference(rounds)
	from, to := base.Add(-time.Minute), time.Now().Add(time.Hour)
	before := waitForStats(t, a.addr(), env.Tenant, from, to, int64(len(sessions)), time.Minute)
	if before.Totals.SessionsEnded != int64(len(sessions)) {
		t.Fatalf("a counts %d sessions ended, want %d", before.Totals.SessionsEnded, len(sessions))
	}
	read := func(in *instance) int {
		m, _ := strconv.Atoi(metricValue(t, in.addr(), `clicktrail_processor_aggregates_total{outcome="merged"}`))
		r, _ := strconv.Atoi(metricValue(t, in.addr(), `clicktrail_processor_aggregates_total{outcome="repeated"}`))
		return m + r
	}
	readByA := read(a)
	if readByA < 20 {
		t.Fatalf("a read %d aggregate messages: too few to tell a start from the snapshot", readByA)
	}
	a.close(t)

	b := startInstance(t, cfg, "b")
	if got := metricValue(t, b.addr(), `clicktrail_processor_snapshots_total{result="loaded"}`); got != "1" {
		t.Fatalf("b loaded %s snapshots, want 1", got)
	}
	after := fetchStats(t, b.addr(), env.Tenant, from, to)
	before.LiveVisitors, after.LiveVisitors = 0, 0 // the live window moved on
	if !reflect.DeepEqual(after, before) {
		t.Errorf("b, started from the snapshot, serves %+v, a served %+v", after.Totals, before.Totals)
	}
	if readByB := read(b); readByB*4 > readByA {
		t.Errorf("b read %d aggregate messages, a %d: want b to read only those after the snapshot", readByB, readByA)
	} else {
		t.Logf("a read %d aggregate messages, b %d after the snapshot", readByA, readByB)
	}
}

// A snapshot is written again only once the namespace's aggregates moved on.
func TestASnapshotIsWrittenOnlyWhenTheAggregatesMovedOn(t *testing.T) {
	s := NewStore(protocol.DefaultRetention, (&clock{t0}).Now)
	take(s, "t/ns", []feedMsg{{"w", aggID{1, 1, 1}, []*protocol.Minute{pageMinute(t0, "/a")}}}, 0)
	snaps := &memSnapshots{}
	ctx := context.Background()
	pos, _, _, err := saveSnapshot(ctx, s, snaps, "t/ns", nil)
	if err != nil || string(pos) != "0" {
		t.Fatalf("first snapshot at %q: %v", pos, err)
	}
	delete(snaps.m, snapshotName("t/ns"))
	if again, _, _, err := saveSnapshot(ctx, s, snaps, "t/ns", pos); err != nil || again != nil || len(snaps.m) != 0 {
		t.Errorf("nothing read since, yet a snapshot was written (position %q, err %v)", again, err)
	}
	take(s, "t/ns", []feedMsg{{"w", aggID{2, 1, 1}, []*protocol.Minute{pageMinute(t0, "/b")}}}, 1)
	if next, _, _, err := saveSnapshot(ctx, s, snaps, "t/ns", pos); err != nil || string(next) != "1" || len(snaps.m) != 1 {
		t.Errorf("after a new aggregate: position %q, %d snapshots (err %v), want 1 and one written", next, len(snaps.m), err)
	}
}
