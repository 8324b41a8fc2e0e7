package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/internal/obs"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/processor/protocol"
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
	z := protocol.NewSessionizer(protocol.DefaultSessionRules(), "bench", time.Now)
	var buf []byte
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := obs.ProcessCPU()
	for i := range b.N {
		e, err := schemas.DecodeStored(raw[i%len(raw)])
		if err != nil {
			b.Fatal(err)
		}
		// A new position each time, so replays are processed, not skipped.
		z.Add(e, &protocol.Position{Ledger: 1, Entry: int64(i)})
		if i%20_000 == 0 {
			// Checkpoint, encode and read back, as the pipeline does.
			for _, c := range z.Checkpoint().Commits {
				if buf, err = protocol.AppendCommit(buf[:0], c); err != nil {
					b.Fatal(err)
				}
				z.Evaluate(c)
			}
		}
	}
	// CPU time, this process's (GC included): the per-core rate on a busy machine too.
	b.ReportMetric(float64(b.N)/(obs.ProcessCPU()-cpu0).Seconds(), "events/cpu-s")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSessionizerOnly leaves decoding out.
func BenchmarkSessionizerOnly(b *testing.B) {
	var evs []*schemas.Event
	for _, raw := range benchEvents(100_000, 20_000) {
		e, _ := schemas.DecodeStored(raw)
		evs = append(evs, e)
	}
	z := protocol.NewSessionizer(protocol.DefaultSessionRules(), "bench", time.Now)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		z.Add(evs[i%len(evs)], &protocol.Position{Ledger: 1, Entry: int64(i)})
		if i%20_000 == 0 {
			for _, c := range z.Checkpoint().Commits {
				z.Evaluate(c)
			}
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
		z := protocol.NewSessionizer(protocol.DefaultSessionRules(), "bench", time.Now)
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
			z.Add(e, &protocol.Position{Ledger: 1, Entry: int64(i)})
		}
		for _, c := range z.Checkpoint().Commits {
			z.Evaluate(c)
		}
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
// 200,000; `make bench` uses 1,000,000) of about a fifth as many visitors from the real
// Pulsar twice: once with a consumer that only receives and acknowledges (the
// baseline), once with a processor, timed until it has acknowledged every event (each
// acknowledgement follows the event's commit and aggregate) and until the dashboard's
// store shows them all. It reports both rates, their ratio, and the processor's events
// per second of CPU time (this process's, while only the processor runs in it).
// CLICKTRAIL_BENCH_CPUPROFILE=file profiles the processor's part.
func BenchmarkBacklog(b *testing.B) {
	n := envInt(b, "CLICKTRAIL_BENCH_EVENTS", 200_000)
	for range b.N {
		env := testenv.New(b)
		ctx := context.Background()
		start := time.Now()
		publishBacklog(b, env, n, nil)
		b.Logf("backlog of %d events written in %v", n, time.Since(start).Round(time.Millisecond))

		// Baseline: receive and acknowledge only, Key_Shared as the processor.
		cons, err := env.Client().Subscribe(pulsar.ConsumerOptions{
			Topic: env.Topic(schemas.TopicEvents), SubscriptionName: "baseline", Type: pulsar.KeyShared,
			SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest, ReceiverQueueSize: 2000,
		})
		if err != nil {
			b.Fatal(err)
		}
		cpu0 := obs.ProcessCPU()
		start = time.Now()
		for range n {
			msg := <-cons.Chan()
			_ = cons.Ack(msg)
		}
		baseline := time.Since(start)
		baselineCPU := obs.ProcessCPU() - cpu0
		cons.Close()

		// The processor, from the same backlog.
		cfg := testConfig(b, env)
		cfg.IdleTimeout = time.Hour
		cfg.CheckpointInterval = DefaultConfig().CheckpointInterval
		reg := obs.NewRegistry()
		log := slog.New(slog.DiscardHandler)
		if testing.Verbose() {
			log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
		p, err := New(cfg, log, reg)
		if err != nil {
			b.Fatal(err)
		}
		pctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		if path := os.Getenv("CLICKTRAIL_BENCH_CPUPROFILE"); path != "" {
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			if err := pprof.StartCPUProfile(f); err != nil {
				b.Fatal(err)
			}
			defer pprof.StopCPUProfile()
		}
		cpu0 = obs.ProcessCPU()
		start = time.Now()
		go func() { done <- p.Run(pctx) }()
		for counter(b, reg, "clicktrail_processor_events_acknowledged_total") < n {
			time.Sleep(50 * time.Millisecond)
		}
		processed := time.Since(start)
		cpu := obs.ProcessCPU() - cpu0
		// Every event counts but the client retries (duplicates) and the few the
		// generator's gaps push more than 10 minutes past now (outside the window).
		want := int64(n - counter(b, reg, "clicktrail_processor_events_total", protocol.Duplicate.String(), protocol.Outside.String()))
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
			st, err := p.store.Query("bench", time.Now().Add(-6*time.Hour), time.Now().Add(6*time.Hour), time.Hour, 1, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			got := st.Totals.Events
			if got == want {
				break
			}
			if time.Now().After(deadline) {
				var outcomes []string
				for _, o := range []protocol.Outcome{protocol.Counted, protocol.Started, protocol.Duplicate, protocol.Late, protocol.Replayed, protocol.Outside, protocol.Invalid} {
					outcomes = append(outcomes, fmt.Sprintf("%s %d", o, counter(b, reg, "clicktrail_processor_events_total", o.String())))
				}
				b.Fatalf("the dashboard shows %d events a minute after all %d were acknowledged, want %d (events by outcome: %s)", got, n, want, strings.Join(outcomes, ", "))
			}
		}
		visible := time.Since(start)
		stop()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(n)/baseline.Seconds(), "baseline-events/s")
		b.ReportMetric(float64(n)/processed.Seconds(), "processor-events/s")
		b.ReportMetric(baseline.Seconds()/processed.Seconds(), "ratio")
		b.ReportMetric(float64(n)/cpu.Seconds(), "processor-events/cpu-s")
		b.ReportMetric(float64(n)/baselineCPU.Seconds(), "baseline-events/cpu-s")
		cpN, cpSum := histogram(b, reg, "clicktrail_processor_checkpoint_seconds")
		b.Logf("backlog of %d events: consume-and-ack %v (%v of CPU); processor %v to acknowledge all (including loading state and connecting; %d checkpoints, %v from start to acknowledgement in all; %d markers), %v until the dashboard shows all, %v of CPU",
			n, baseline.Round(time.Millisecond), baselineCPU.Round(time.Millisecond), processed.Round(time.Millisecond), cpN, cpSum.Round(time.Millisecond),
			counter(b, reg, "clicktrail_processor_commits_total", "marker"), visible.Round(time.Millisecond), cpu.Round(time.Millisecond))
	}
}

// backlogEvents gives send n stored events, as the collector writes them, keyed by
// user key: rounds of visitorStream, 10,000 visitors at a time (about 5.5 events each),
// so that a million events are never all in memory.
func backlogEvents(n int, send func(key string, payload []byte)) {
	base := time.Now().Add(-2 * time.Hour)
	for seed := uint64(10); n > 0; seed++ {
		for _, round := range visitorStream(seed, 10_000, "bench", base) {
			for _, e := range round {
				if n == 0 {
					return
				}
				payload, _ := json.Marshal(e)
				send(e.UserKey(), payload)
				n--
			}
		}
	}
}

// histogram returns the count and sum of the histogram name.
func histogram(b testing.TB, reg *prometheus.Registry, name string) (int, time.Duration) {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			h := mf.GetMetric()[0].GetHistogram()
			return int(h.GetSampleCount()), time.Duration(h.GetSampleSum() * float64(time.Second))
		}
	}
	return 0, 0
}

// counter sums the counter name over its labels, or over those with one of the label
// values given.
func counter(b testing.TB, reg *prometheus.Registry, name string, values ...string) int {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				match := len(values) == 0
				for _, l := range m.GetLabel() {
					match = match || slices.Contains(values, l.GetValue())
				}
				if match {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int(n)
}
