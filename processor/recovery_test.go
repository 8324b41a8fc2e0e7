package processor

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// A writer that died after its commit reached the session-state topic and before its
// aggregate reached the aggregates topic: a running instance publishes the aggregate
// for it, a copy of an aggregate is merged once, and an instance started afterwards
// serves the same numbers.
func TestACommitWhoseWriterDiedBeforeItsAggregateIsCountedOnce(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	a := startInstance(t, cfg, "a")

	// The dead writer's commit: 3 visitors, 5 events, one closed session and three
	// open, which the running instance closes after the idle timeout (their writer is
	// gone).
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	clk := &clock{base.Add(time.Hour)} // the events lie in the window of its clock
	dead := NewSessionizer(DefaultSessionRules(), "dead-0001", clk.now)
	for i, v := range []struct {
		key string
		at  time.Duration
	}{{"v1", 0}, {"v1", time.Minute}, {"v2", time.Minute}, {"v3", 2 * time.Minute}, {"v3", 40 * time.Minute}} {
		e := &schemas.Event{Type: schemas.TypePage, AnonymousID: v.key, MessageID: v.key + strconv.Itoa(i), Tenant: env.Tenant,
			Timestamp: schemas.NewTime(base.Add(v.at))}
		e.Ctx.Page.Path = "/p"
		dead.Add(e, &position{Ledger: 1, Entry: int64(i)})
	}
	commits := checkpoint(t, dead)
	if len(commits) != 1 {
		t.Fatalf("%d commits, want 1", len(commits))
	}
	payload, err := appendCommit(nil, commits[0])
	if err != nil {
		t.Fatal(err)
	}
	send(t, env.Client(), env.Topic(schemas.TopicSessionState), &pulsar.ProducerMessage{Payload: payload,
		Properties: map[string]string{writerProperty: "dead-0001", seqProperty: "1"}})

	from, to := base.Add(-time.Minute), base.Add(time.Hour)
	want := Totals{Events: 5, Pageviews: 5, Visitors: 3, Sessions: 4, SessionsEnded: 4, Bounces: 3, BounceRate: 0.75, AvgSessionDurationMs: 15000}
	st := waitForTotals(t, a.addr(), env.Tenant, from, to, want, recoverAfter+20*time.Second)
	if st.Totals != want {
		t.Fatalf("totals %+v, want %+v", st.Totals, want)
	}

	// Another copy of the aggregate, as the dead writer's own might have arrived late.
	ev := NewSessionizer(DefaultSessionRules(), "reader", clk.now)
	agg, ok := ev.Evaluate(roundTrip(t, commits[0]))
	if !ok {
		t.Fatal("the commit does not count")
	}
	msgs, err := aggregateMessages(agg)
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range msgs {
		send(t, env.Client(), env.Topic(schemas.TopicAggregates), msg)
	}
	b := startInstance(t, cfg, "b")
	time.Sleep(time.Second) // a has read the copy too
	for name, addr := range map[string]string{"a": a.addr(), "b": b.addr()} {
		if got := fetchStats(t, addr, env.Tenant, from, to).Totals; got != want {
			t.Errorf("%s serves totals %+v after a repeated aggregate, want %+v", name, got, want)
		}
	}
	if n := metricValue(t, b.addr(), `clicktrail_processor_aggregates_total{outcome="recovered"}`); n != "0" {
		t.Errorf("b recovered %s aggregates, want 0 (a had published it)", n)
	}
}

func send(t *testing.T, client pulsar.Client, topic string, msg *pulsar.ProducerMessage) {
	t.Helper()
	prod, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	if _, err := prod.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
}

// waitForTotals polls addr until the totals are want, or the deadline passes.
func waitForTotals(t *testing.T, addr, tenant string, from, to time.Time, want Totals, deadline time.Duration) Stats {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		st := fetchStats(t, addr, tenant, from, to)
		if st.Totals == want || time.Now().After(end) {
			return st
		}
		time.Sleep(250 * time.Millisecond)
	}
}
