package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/processor/protocol"
	"github.com/clicktrail/clicktrail/processor/protocol/protocoltest"
	"github.com/clicktrail/clicktrail/schemas"
)

// The reported failure: 40 concurrent requests of one visitor, each with 7 page events
// whose path is 30,000 characters, made one commit of about 5.5 MB, which the broker
// refused; the processor exited, and after every restart died the same way on the
// redelivered events (all at once, as one backlog, as here). Now it keeps running, commits them in pieces the broker takes,
// and the dashboard counts them (paths cut to MaxValueBytes).
func TestOneVisitorsHugePagePathsAreCommittedAndCounted(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)

	const requests, perRequest = 40, 7
	const key = "hostile-visitor"
	base := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Minute)
	prod, err := env.Client().CreateProducer(pulsar.ProducerOptions{
		Topic: env.Topic(schemas.TopicEvents), CompressionType: pulsar.LZ4, BatcherBuilderType: pulsar.KeyBasedBatchBuilder,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	var wg sync.WaitGroup
	for r := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perRequest {
				n := r*perRequest + i
				e := &schemas.Event{Type: schemas.TypePage, AnonymousID: key, MessageID: fmt.Sprintf("%s-%d", key, n), Tenant: env.Tenant, Source: "test",
					Timestamp: schemas.NewTime(base.Add(time.Duration(n) * 100 * time.Millisecond))}
				e.Ctx.Page.Path = fmt.Sprintf("/%03d/", n) + noise(uint64(n), 30_000-5) // compresses as badly as a hostile client can make it
				e.Ctx.Page.URL = "https://shop.example" + e.Ctx.Page.Path
				e.Context, _ = json.Marshal(e.Ctx)
				b, err := json.Marshal(e)
				if err != nil {
					t.Error(err)
					return
				}
				prod.SendAsync(context.Background(), &pulsar.ProducerMessage{Key: key, Payload: b}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
					if err != nil {
						t.Errorf("publish event: %v", err)
					}
				})
			}
		}()
	}
	wg.Wait()
	if err := prod.FlushWithCtx(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Started after the events are in, the processor takes them as one batch: the
	// case of the restarts, which met them all again as one backlog.
	a := startInstance(t, cfg, "a")
	const events = requests * perRequest
	from, to := base.Add(-time.Minute), time.Now().Add(time.Minute)
	deadline := time.Now().Add(60 * time.Second)
	var st Stats
	for {
		select {
		case err := <-a.done:
			a.done <- err
			t.Fatalf("the processor exited: %v", err)
		default:
		}
		if st = fetchStats(t, a.addr(), env.Tenant, from, to); st.Totals.Events >= events || time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if st.Totals.Events != events || st.Totals.Pageviews != events || st.Totals.Sessions != 1 {
		t.Errorf("stats count %d events, %d pageviews, %d sessions; want %d, %d, 1", st.Totals.Events, st.Totals.Pageviews, st.Totals.Sessions, events, events)
	}
	if len(st.Pages) != events {
		t.Errorf("%d pages listed, want %d", len(st.Pages), events)
	}
	for _, p := range st.Pages {
		if len(p.Name) != protocol.MaxValueBytes || p.Count != 1 {
			t.Errorf("page %.20q… of %d bytes counted %d times, want %d bytes counted once", p.Name, len(p.Name), p.Count, protocol.MaxValueBytes)
			break
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if counter(t, a.reg, "clicktrail_processor_events_acknowledged_total") == events || time.Now().After(deadline) {
			break
		}
	}
	if n := counter(t, a.reg, "clicktrail_processor_events_acknowledged_total"); n != events {
		t.Errorf("%d events acknowledged, want %d", n, events)
	}
	commits := counter(t, a.reg, "clicktrail_processor_commits_total", "written")
	if commits == 0 {
		t.Errorf("no commit written")
	}
	t.Logf("%d events committed in %d commits", events, commits)

	// The session closes after the idle timeout, its pages cut too.
	sessions := readSessions(t, env.Client(), env.Topic(schemas.TopicSessions), 1, 60*time.Second)
	for _, s := range sessions {
		if s.EventCount != events || len(s.EntryPage) > protocol.MaxSessionValueBytes || len(s.ExitPage) > protocol.MaxSessionValueBytes {
			t.Errorf("session of %d events, entry page of %d bytes, exit page of %d; want %d events and pages of at most %d bytes",
				s.EventCount, len(s.EntryPage), len(s.ExitPage), events, protocol.MaxSessionValueBytes)
		}
	}
}

// noise returns n letters that do not compress.
func noise(seed uint64, n int) string {
	rng := rand.New(rand.NewPCG(seed, 14))
	b := make([]byte, n)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"[rng.IntN(64)]
	}
	return string(b)
}

// One key whose events outgrow its share of a commit within one batch (3,000 events,
// each starting a session with new long values in every dimension) is checkpointed in
// the middle of the batch, as often as needed: every commit fits, nothing is left out.
func TestAKeyOutgrowingACommitIsCheckpointedMidBatch(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	const events = 3000
	base := time.Now().UTC().Add(-30 * time.Minute).Truncate(time.Minute)
	var rounds [][]*schemas.Event
	for i := range events {
		e := protocoltest.Hostile("bulky-visitor", i, 300, base)
		e.Tenant = env.Tenant
		e.Context, _ = json.Marshal(e.Ctx)
		rounds = append(rounds, []*schemas.Event{e})
	}
	produce(t, env.Client(), env.Topic(schemas.TopicEvents), rounds, 0, nil)
	a := startInstance(t, cfg, "a") // takes the backlog in batches of up to maxBatch

	from, to := base.Add(-time.Minute), time.Now().Add(time.Minute)
	var st Stats
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		if st = fetchStats(t, a.addr(), env.Tenant, from, to); st.Totals.Events >= events || time.Now().After(deadline) {
			break
		}
	}
	if st.Totals.Events != events || st.Totals.Pageviews != events || st.Totals.Sessions != events {
		t.Errorf("stats count %d events, %d pageviews, %d sessions; want %d each", st.Totals.Events, st.Totals.Pageviews, st.Totals.Sessions, events)
	}
	commits := counter(t, a.reg, "clicktrail_processor_commits_total", "written")
	refused := counter(t, a.reg, "clicktrail_processor_contributions_refused_total")
	if commits < 4 || refused != 0 {
		t.Errorf("%d commits written and %d events refused; want several commits and none refused", commits, refused)
	}
	t.Logf("%d events of one key committed in %d commits, %d aggregate messages", events, commits, counter(t, a.reg, "clicktrail_processor_aggregates_total", "published"))
}
