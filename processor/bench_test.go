package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/internal/obs"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// benchEvents returns n stored events of keys visitors, as the collector writes them.
func benchEvents(n, visitors int) [][]byte {
	var out [][]byte
	for _, round := range visitorStream(9, visitors, "bench", time.Now().Add(-2*time.Hour)) {
		for _, e := range round {
			b, _ := json.Marshal(e)
			out = append(out, b)
		}
	}
	for len(out) < n {
		out = append(out, out...)
	}
	return out[:n]
}

// BenchmarkSessionize measures one event through decoding and the sessionizer, as the
// pipeline does it (without Pulsar): the per-core ceiling of the processor.
func BenchmarkSessionize(b *testing.B) {
	raw := benchEvents(100_000, 20_000)
	z := NewSessionizer(DefaultSessionRules(), "bench", time.Now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		e, err := schemas.DecodeStored(raw[i%len(raw)])
		if err != nil {
			b.Fatal(err)
		}
		// A new position each time, so replays are processed, not skipped.
		z.Add(e, &position{Ledger: 1, Entry: int64(i)})
		if i%20_000 == 0 {
			z.Checkpoint(func(string, *Record, []schemas.Session) {})
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSessionizerOnly leaves decoding out.
func BenchmarkSessionizerOnly(b *testing.B) {
	var evs []*schemas.Event
	for _, raw := range benchEvents(100_000, 20_000) {
		e, _ := schemas.DecodeStored(raw)
		evs = append(evs, e)
	}
	z := NewSessionizer(DefaultSessionRules(), "bench", time.Now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		z.Add(evs[i%len(evs)], &position{Ledger: 1, Entry: int64(i)})
		if i%20_000 == 0 {
			z.Checkpoint(func(string, *Record, []schemas.Session) {})
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkMemoryPerOpenSession opens 1,000,000 sessions (one page view each, after a
// checkpoint, as they sit between events) and reports the heap per open session.
func BenchmarkMemoryPerOpenSession(b *testing.B) {
	const n = 1_000_000
	for range b.N {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		z := NewSessionizer(DefaultSessionRules(), "bench", time.Now)
		at := time.Now()
		for i := range n {
			// Each event is built, added and dropped: what stays is the sessionizer's.
			key := fmt.Sprintf("anon-%08d-0c6f1e4a-8d2b-4f7e-9a3c", i)
			// Strings cloned, as a decoder gives each event its own.
			c := strings.Clone
			e := &schemas.Event{Type: schemas.TypePage, AnonymousID: key, MessageID: key + "-m0", Tenant: c("acme"), Source: c("web"),
				Timestamp: schemas.NewTime(at), Enrichment: &schemas.Enrichment{Browser: c("Firefox"), OS: c("Linux"), DeviceType: c("desktop")}}
			e.Ctx.Page = schemas.Page{URL: c("https://shop.example/pricing"), Path: c("/pricing"), Referrer: c("https://search.example/?q=shoes")}
			e.Ctx.Campaign.Source = c("newsletter")
			z.Add(e, &position{Ledger: 1, Entry: int64(i)})
		}
		z.Checkpoint(func(string, *Record, []schemas.Session) {})
		runtime.GC()
		runtime.ReadMemStats(&after)
		if z.Open() != n {
			b.Fatalf("%d open sessions, want %d", z.Open(), n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "bytes/session")
		runtime.KeepAlive(z)
	}
}

// BenchmarkBacklog drains a backlog of CLICKTRAIL_BENCH_EVENTS events (default
// 200,000) from the real Pulsar twice: once with a consumer that only receives and
// acknowledges (the baseline), once with a processor. It reports both rates and their
// ratio.
func BenchmarkBacklog(b *testing.B) {
	n := 200_000
	if v := os.Getenv("CLICKTRAIL_BENCH_EVENTS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for range b.N {
		env := testenv.New(b)
		raw := benchEvents(n, n/5)
		prod, err := env.Client().CreateProducer(pulsar.ProducerOptions{
			Topic: env.Topic(schemas.TopicEvents), CompressionType: pulsar.LZ4, BatcherBuilderType: pulsar.KeyBasedBatchBuilder,
			MaxPendingMessages: 5000,
		})
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		for _, payload := range raw {
			var e struct {
				AnonymousID string `json:"anonymousId"`
			}
			_ = json.Unmarshal(payload, &e)
			prod.SendAsync(ctx, &pulsar.ProducerMessage{Key: e.AnonymousID, Payload: payload}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err != nil {
					b.Errorf("publish: %v", err)
				}
			})
		}
		if err := prod.FlushWithCtx(ctx); err != nil {
			b.Fatal(err)
		}
		prod.Close()

		// Baseline: receive and acknowledge only, Key_Shared as the processor.
		cons, err := env.Client().Subscribe(pulsar.ConsumerOptions{
			Topic: env.Topic(schemas.TopicEvents), SubscriptionName: "baseline", Type: pulsar.KeyShared,
			SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest, ReceiverQueueSize: 2000,
		})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for range n {
			msg := <-cons.Chan()
			_ = cons.Ack(msg)
		}
		baseline := time.Since(start)
		cons.Close()

		// The processor, from the same backlog.
		cfg := testConfig(b, env)
		cfg.IdleTimeout = time.Hour
		cfg.CheckpointInterval = DefaultConfig().CheckpointInterval
		reg := obs.NewRegistry()
		p, err := New(cfg, slog.New(slog.DiscardHandler), reg)
		if err != nil {
			b.Fatal(err)
		}
		pctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		start = time.Now()
		go func() { done <- p.Run(pctx) }()
		for handled(b, reg) < n {
			time.Sleep(20 * time.Millisecond)
		}
		processed := time.Since(start)
		stop()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/baseline.Seconds(), "baseline-events/s")
		b.ReportMetric(float64(n)/processed.Seconds(), "processor-events/s")
		b.ReportMetric(baseline.Seconds()/processed.Seconds(), "ratio")
		b.Logf("backlog of %d events: consume-and-ack %v, processor %v (including loading state and connecting)", n, baseline, processed)
	}
}

// handled sums clicktrail_processor_events_total: every event handled, whatever its
// outcome.
func handled(b *testing.B, reg *prometheus.Registry) int {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "clicktrail_processor_events_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return int(n)
}
