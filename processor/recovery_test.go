package processor

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/processor/protocol"
	"github.com/clicktrail/clicktrail/schemas"
)

// A writer that died after its commits reached the session-state topic and before
// its aggregates reached the aggregates topic (and so before it acknowledged the
// events): the instance the events go to next loads their shards, finds the commits,
// skips the events as applied, publishes the aggregates for the dead writer, and
// closes its sessions after the idle timeout; a copy of an aggregate is merged once,
// and an instance started afterwards serves the same numbers.
func TestACommitWhoseWriterDiedBeforeItsAggregateIsCountedOnce(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)

	// The events: 3 visitors, 5 events, one closed session and three open.
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	var round []*schemas.Event
	for i, v := range []struct {
		key string
		at  time.Duration
	}{{"v1", 0}, {"v1", time.Minute}, {"v2", time.Minute}, {"v3", 2 * time.Minute}, {"v3", 40 * time.Minute}} {
		e := &schemas.Event{Type: schemas.TypePage, AnonymousID: v.key, MessageID: v.key + strconv.Itoa(i), Tenant: env.Tenant,
			Timestamp: schemas.NewTime(base.Add(v.at)), ReceivedAt: schemas.NewTime(base.Add(v.at))}
		e.Ctx.Page.Path = "/p"
		e.Context, _ = json.Marshal(e.Ctx) // what travels
		round = append(round, e)
	}
	produce(t, env.Client(), env.Topic(schemas.TopicEvents), [][]*schemas.Event{round}, 0, nil)

	// The dead writer: it received them through the subscription, committed them, and
	// died before its aggregates and acknowledgements.
	consumer, err := env.Client().Subscribe(pulsar.ConsumerOptions{Topic: env.Topic(schemas.TopicEvents), SubscriptionName: schemas.SubscriptionProcessor,
		Type: pulsar.KeyShared, SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{base.Add(time.Hour)} // the events lie in the window of its clock
	dead := protocol.NewSessionizer(protocol.DefaultSessionRules(), "dead-0001", clk.Now)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range round {
		msg, err := consumer.Receive(ctx)
		if err != nil {
			t.Fatal(err)
		}
		e, err := schemas.DecodeStored(msg.Payload())
		if err != nil {
			t.Fatal(err)
		}
		id := msg.ID()
		dead.Add(e, &protocol.Position{Partition: id.PartitionIdx(), Ledger: id.LedgerID(), Entry: id.EntryID(), Batch: id.BatchIdx()})
	}
	commits, _ := committed(t, dead)
	for _, c := range commits {
		payload, err := protocol.AppendCommit(nil, c)
		if err != nil {
			t.Fatal(err)
		}
		send(t, env.Client(), env.Topic(schemas.TopicSessionState), &pulsar.ProducerMessage{Payload: payload,
			Properties: map[string]string{writerProperty: "dead-0001", seqProperty: strconv.FormatUint(c.Seq, 10), shardProperty: strconv.Itoa(c.Shard)}})
	}
	consumer.Close()

	a := startInstance(t, cfg, "a")
	from, to := base.Add(-time.Minute), base.Add(time.Hour)
	want := Totals{Events: 5, Pageviews: 5, Visitors: 3, Sessions: 4, SessionsEnded: 4, Bounces: 3, BounceRate: 0.75, AvgSessionDurationMs: 15000}
	st := waitForTotals(t, a.addr(), env.Tenant, from, to, want, protocol.RecoverAfter+30*time.Second)
	if st.Totals != want {
		t.Fatalf("totals %+v, want %+v", st.Totals, want)
	}
	if n := metricValue(t, a.addr(), `clicktrail_processor_events_total{outcome="replayed"`); n != "5" {
		t.Errorf("a replayed %s events, want the 5 the dead writer committed", n)
	}
	if n := metricValue(t, a.addr(), `clicktrail_processor_aggregates_total{outcome="recovered"}`); n == "0" {
		t.Errorf("a recovered no aggregate")
	}

	// Another copy of each aggregate, as the dead writer's own might have arrived late.
	ev := protocol.NewSessionizer(protocol.DefaultSessionRules(), "reader", clk.Now)
	for _, c := range commits {
		agg, ok := ev.Evaluate(decoded(t, c))
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
	}
	b := startInstance(t, cfg, "b")
	time.Sleep(time.Second) // a has read the copies too
	for name, addr := range map[string]string{"a": a.addr(), "b": b.addr()} {
		if got := fetchStats(t, addr, env.Tenant, from, to).Totals; got != want {
			t.Errorf("%s serves totals %+v after repeated aggregates, want %+v", name, got, want)
		}
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
