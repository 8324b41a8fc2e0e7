package processor

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/schemas"
)

// fullMinute is a minute of tenant whose six dimensions hold maxDistinctValues values
// of maxValueBytes each, every byte of which JSON writes as 6 ("<").
func fullMinute(at time.Time) *Minute {
	m := NewMinute("acme", at)
	for d := range numDims {
		for i := range maxDistinctValues + 200 {
			p := fmt.Sprintf("%d-%d-", d, i)
			m.count(d, p+strings.Repeat("<", maxValueBytes-len(p)), int64(i+1))
		}
	}
	for i := range 5000 {
		m.Visitors.Insert([]byte(fmt.Sprint("v", i)))
	}
	m.SessionsStarted, m.SessionsEnded, m.Bounces, m.SessionDurationMs = 7, 6, 5, 1<<40
	return m
}

// mergedJSON merges minutes, as a store does, and returns them by minute.
func mergedJSON(t *testing.T, aggs []*Aggregate) map[int64]*Minute {
	t.Helper()
	out := map[int64]*Minute{}
	for _, a := range aggs {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var got Aggregate
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		for _, m := range got.Minutes {
			if out[m.Start.Unix()] == nil {
				out[m.Start.Unix()] = NewMinute(m.Tenant, m.Start)
			}
			if err := out[m.Start.Unix()].Merge(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// An aggregate too large for one message travels as parts of at most
// maxAggregateBytes, cutting minutes too, which add up to the whole.
func TestAnAggregateIsCutIntoPartsWithinTheLimit(t *testing.T) {
	a := &Aggregate{Writer: "w", Seq: 9}
	for i := range 3 {
		a.Minutes = append(a.Minutes, fullMinute(t0.Add(time.Duration(i)*time.Minute)))
	}
	a.Minutes = append(a.Minutes, NewMinute("acme", time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC))) // JSON cannot hold year 0
	msgs, err := aggregateMessages(a)
	if err != nil {
		t.Fatal(err)
	}
	var parts []*Aggregate
	for i, msg := range msgs {
		if len(msg.Payload) > maxAggregateBytes {
			t.Errorf("part %d takes %d bytes", i+1, len(msg.Payload))
		}
		var p Aggregate
		if err := json.Unmarshal(msg.Payload, &p); err != nil {
			t.Fatal(err)
		}
		if p.Part != i+1 || p.Parts != len(msgs) || p.Writer != "w" || p.Seq != 9 {
			t.Errorf("message %d is part %d of %d of %s/%d", i, p.Part, p.Parts, p.Writer, p.Seq)
		}
		parts = append(parts, &p)
	}
	if len(msgs) < 6 {
		t.Errorf("%d parts, want the minutes cut into several each", len(msgs))
	}
	got, want := mergedJSON(t, parts), mergedJSON(t, []*Aggregate{{Writer: "w", Seq: 9, Minutes: a.Minutes[:3]}})
	if len(got) != 3 {
		t.Fatalf("%d minutes after merging the parts, want 3", len(got))
	}
	for at, w := range want {
		g := got[at]
		for d, mp := range w.dims() {
			if !maps.Equal(*g.dims()[d], *mp) {
				t.Errorf("minute %d, dimension %d: the parts add up to %d values, the whole holds %d", at, d, len(*g.dims()[d]), len(*mp))
			}
		}
		if g.SessionsStarted != 7 || g.SessionsEnded != 6 || g.Bounces != 5 || g.SessionDurationMs != 1<<40 || g.Visitors.Estimate() != w.Visitors.Estimate() {
			t.Errorf("minute %d: totals %+v, visitors %d; want those of the whole", at, g.Counts, g.Visitors.Estimate())
		}
	}
	t.Logf("an aggregate of 3 full minutes travels as %d messages", len(msgs))
}

// The writer cuts the aggregate of its commit from what it holds, an instance
// recovering it from the commit it decoded: both cut the same parts, byte for byte.
func TestTheWriterAndARecoveringInstanceCutAnAggregateAlike(t *testing.T) {
	clk := &clock{t0.Add(time.Hour)}
	z := NewSessionizer(DefaultSessionRules(), "writer", clk.now)
	keys := keysOfOneShard(300) // one commit, as large as 300 keys make it
	for i := range 2000 {
		z.Add(hostileEvent(keys[i%300], i, 1000, t0), &position{Ledger: 1, Entry: int64(i)})
	}
	reader := NewSessionizer(DefaultSessionRules(), "reader", clk.now)
	for _, c := range z.Checkpoint().Commits {
		b, err := appendCommit(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		own, _ := z.Evaluate(c)
		d, err := decodeCommit(b, func(s string) string { return s })
		if err != nil {
			t.Fatal(err)
		}
		recovered, _ := reader.Evaluate(d)
		wm, err := aggregateMessages(own)
		if err != nil {
			t.Fatal(err)
		}
		rm, err := aggregateMessages(recovered)
		if err != nil {
			t.Fatal(err)
		}
		if len(wm) != len(rm) {
			t.Fatalf("commit %d: the writer cuts %d parts, the recovering instance %d", c.Seq, len(wm), len(rm))
		}
		for i := range wm {
			if string(wm[i].Payload) != string(rm[i].Payload) {
				t.Fatalf("commit %d: part %d differs", c.Seq, i+1)
			}
		}
		if len(wm) < 2 {
			t.Errorf("commit %d: its aggregate fits one message; the test wants several", c.Seq)
		}
	}
}

// keysOfOneShard returns n user keys of one shard.
func keysOfOneShard(n int) []string {
	var keys []string
	for i := 0; len(keys) < n; i++ {
		if k := fmt.Sprint("anon-", i); shardOf(k) == 0 {
			keys = append(keys, k)
		}
	}
	return keys
}

// fakeMessage is a message of a topic, for the readers' logic.
type fakeMessage struct {
	pulsar.Message
	payload []byte
	props   map[string]string
}

func (m fakeMessage) Payload() []byte               { return m.payload }
func (m fakeMessage) Properties() map[string]string { return m.props }
func (m fakeMessage) ID() pulsar.MessageID          { return pulsar.EarliestMessageID() }
func (m fakeMessage) PublishTime() time.Time        { return t0 }

// testPipeline is a pipeline without Pulsar, for its readers' logic.
func testPipeline(now time.Time) (*pipeline, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	clk := &clock{now}
	p := &pipeline{
		writer: "me", log: slog.New(slog.NewTextHandler(io.Discard, nil)), m: newMetrics(reg),
		store: NewStore(DefaultRetention, clk.now), now: clk.now, own: map[uint64]*Commit{},
	}
	p.z = NewSessionizer(DefaultSessionRules(), p.writer, clk.now)
	return p, reg
}

// Each part of an aggregate is merged once, whoever published it: the writer's parts,
// then a recovering instance's copy of all of them, then a late copy.
func TestEachPartOfAnAggregateIsMergedOnce(t *testing.T) {
	p, reg := testPipeline(t0)
	a := &Aggregate{Writer: "w", Seq: 5}
	for i := range 3 {
		a.Minutes = append(a.Minutes, fullMinute(t0.Add(time.Duration(i)*time.Minute)))
	}
	msgs, err := aggregateMessages(a)
	if err != nil {
		t.Fatal(err)
	}
	take := func(ms ...*pulsar.ProducerMessage) {
		for _, m := range ms {
			p.takeAggregate(fakeMessage{payload: m.Payload})
		}
	}
	n := len(msgs)
	take(msgs[:n-1]...) // the writer died before its last part
	if p.seenAggregate("w", 5) {
		t.Errorf("an aggregate missing its last part counts as seen")
	}
	take(msgs...)            // recovered
	take(msgs[n-1], msgs[0]) // late copies
	if !p.seenAggregate("w", 5) || p.seenAggregate("w", 6) {
		t.Errorf("seen: 5 %v, 6 %v; want true, false", p.seenAggregate("w", 5), p.seenAggregate("w", 6))
	}
	want := mergedJSON(t, []*Aggregate{a})
	got := p.store.Minutes("acme", t0, t0.Add(time.Hour))
	for at, w := range want {
		g := got[time.Unix(at, 0).UTC()]
		if g.TotalEvents() != w.TotalEvents() || !maps.Equal(g.Referrers, w.Referrers) || g.SessionsStarted != 7 {
			t.Errorf("minute %d: %d events, %d referrers, %d sessions; want %d, %d, 7", at, g.TotalEvents(), len(g.Referrers), g.SessionsStarted, w.TotalEvents(), len(w.Referrers))
		}
	}
	if merged, repeated := counter(t, reg, "clicktrail_processor_aggregates_total", "merged"), counter(t, reg, "clicktrail_processor_aggregates_total", "repeated"); merged != n || repeated != n+1 {
		t.Errorf("%d merged and %d repeated, want %d and %d", merged, repeated, n, n+1)
	}
}

// What the readers cannot decode is skipped with a metric, never retried: they read on.
func TestUndecodableMessagesAreSkipped(t *testing.T) {
	p, reg := testPipeline(t0)
	p.takeAggregate(fakeMessage{payload: []byte("not an aggregate")})
	if err := p.take(t.Context(), fakeMessage{payload: []byte{commitVersion, 200}, props: map[string]string{writerProperty: "other", seqProperty: "1"}}); err != nil {
		t.Errorf("an undecodable commit stops the reader: %v", err)
	}
	for _, topic := range []string{schemas.TopicAggregates, schemas.TopicSessionState} {
		if n := counter(t, reg, "clicktrail_processor_skipped_messages_total", topic); n != 1 {
			t.Errorf("%d messages of %s skipped, want 1", n, topic)
		}
	}
}
