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

	"github.com/clicktrail/clicktrail/processor/protocol"
	"github.com/clicktrail/clicktrail/schemas"
)

// fullMinute is a minute of tenant whose six dimensions hold MaxDistinctValues values
// of MaxValueBytes each, every byte of which JSON writes as 6 ("<").
func fullMinute(at time.Time) *protocol.Minute {
	m := protocol.NewMinute("acme", at)
	for d := range protocol.NumDims {
		for i := range protocol.MaxDistinctValues + 200 {
			p := fmt.Sprintf("%d-%d-", d, i)
			m.Count(d, p+strings.Repeat("<", protocol.MaxValueBytes-len(p)), int64(i+1))
		}
	}
	for i := range 5000 {
		m.Visitors.Insert([]byte(fmt.Sprint("v", i)))
	}
	m.SessionsStarted, m.SessionsEnded, m.Bounces, m.SessionDurationMs = 7, 6, 5, 1<<40
	return m
}

// mergedJSON merges minutes, as a store does, and returns them by minute.
func mergedJSON(t *testing.T, aggs []*protocol.Aggregate) map[int64]*protocol.Minute {
	t.Helper()
	out := map[int64]*protocol.Minute{}
	for _, a := range aggs {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var got protocol.Aggregate
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		for _, m := range got.Minutes {
			if out[m.Start.Unix()] == nil {
				out[m.Start.Unix()] = protocol.NewMinute(m.Tenant, m.Start)
			}
			if err := out[m.Start.Unix()].Merge(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// An aggregate too large for one message travels as parts of at most
// MaxAggregateBytes, cutting minutes too, which add up to the whole.
func TestAnAggregateIsCutIntoPartsWithinTheLimit(t *testing.T) {
	a := &protocol.Aggregate{Writer: "w", Seq: 9}
	for i := range 3 {
		a.Minutes = append(a.Minutes, fullMinute(t0.Add(time.Duration(i)*time.Minute)))
	}
	a.Minutes = append(a.Minutes, protocol.NewMinute("acme", time.Date(0, 6, 1, 0, 0, 0, 0, time.UTC))) // JSON cannot hold year 0
	msgs, err := aggregateMessages(a)
	if err != nil {
		t.Fatal(err)
	}
	var parts []*protocol.Aggregate
	for i, msg := range msgs {
		if len(msg.Payload) > protocol.MaxAggregateBytes {
			t.Errorf("part %d takes %d bytes", i+1, len(msg.Payload))
		}
		var p protocol.Aggregate
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
	got, want := mergedJSON(t, parts), mergedJSON(t, []*protocol.Aggregate{{Writer: "w", Seq: 9, Minutes: a.Minutes[:3]}})
	if len(got) != 3 {
		t.Fatalf("%d minutes after merging the parts, want 3", len(got))
	}
	for at, w := range want {
		g := got[at]
		for d, mp := range w.Dims() {
			if !maps.Equal(*g.Dims()[d], *mp) {
				t.Errorf("minute %d, dimension %d: the parts add up to %d values, the whole holds %d", at, d, len(*g.Dims()[d]), len(*mp))
			}
		}
		if g.SessionsStarted != 7 || g.SessionsEnded != 6 || g.Bounces != 5 || g.SessionDurationMs != 1<<40 || g.Visitors.Estimate() != w.Visitors.Estimate() {
			t.Errorf("minute %d: totals %+v, visitors %d; want those of the whole", at, g.Counts, g.Visitors.Estimate())
		}
	}
	t.Logf("an aggregate of 3 full minutes travels as %d messages", len(msgs))
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
		log: slog.New(slog.NewTextHandler(io.Discard, nil)), m: newMetrics(reg),
		store: NewStore(protocol.DefaultRetention, clk.Now), now: clk.Now,
	}
	return p, reg
}

// Each part of an aggregate is merged once, whoever published it: the writer's parts,
// then a recovering instance's copy of all of them, then a late copy.
func TestEachPartOfAnAggregateIsMergedOnce(t *testing.T) {
	p, reg := testPipeline(t0)
	a := &protocol.Aggregate{Writer: "w", Seq: 5}
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
	want := mergedJSON(t, []*protocol.Aggregate{a})
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

// What the aggregates' reader cannot decode is skipped with a metric, never retried:
// it reads on. (The session-state log's: see protocol's machine tests.)
func TestUndecodableAggregatesAreSkipped(t *testing.T) {
	p, reg := testPipeline(t0)
	p.takeAggregate(fakeMessage{payload: []byte("not an aggregate")})
	if n := counter(t, reg, "clicktrail_processor_skipped_messages_total", schemas.TopicAggregates); n != 1 {
		t.Errorf("%d messages of %s skipped, want 1", n, schemas.TopicAggregates)
	}
}
