package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// BenchmarkLatency measures event-to-dashboard latency. It produces events at a steady
// CLICKTRAIL_BENCH_RATE per second (default 5,000) for CLICKTRAIL_BENCH_SECONDS
// (default 30) into the real Pulsar, as the collector does (keyed by user key, LZ4,
// key-based batches, 1 ms batching delay), with one processor running with its default
// checkpoint interval. Meanwhile it polls the processor's GET /api/v1/stats every
// 50 ms, as the dashboard page does every few seconds, and notes when the total of
// events first reaches each count. The k-th event sent counts as visible at the first
// poll showing at least k events: its latency is that poll's answer time minus the
// time it was handed to the producer. It reports the 50th, 90th and 99th percentiles
// and the maximum. A dashboard refreshing every few seconds adds its own interval.
func BenchmarkLatency(b *testing.B) {
	rate, seconds := envInt(b, "CLICKTRAIL_BENCH_RATE", 5000), envInt(b, "CLICKTRAIL_BENCH_SECONDS", 30)
	for range b.N {
		env := testenv.New(b)
		cfg := testConfig(b, env)
		cfg.CheckpointInterval = DefaultConfig().CheckpointInterval
		cfg.IdleTimeout = 0 // the inactivity
		in := startInstance(b, cfg, "latency")

		prod, err := env.Client().CreateProducer(pulsar.ProducerOptions{
			Topic: env.Topic(schemas.TopicEvents), CompressionType: pulsar.LZ4, BatcherBuilderType: pulsar.KeyBasedBatchBuilder,
			BatchingMaxPublishDelay: time.Millisecond, MaxPendingMessages: 10000,
		})
		if err != nil {
			b.Fatal(err)
		}
		n := rate * seconds
		sent := make([]time.Time, n)
		start := time.Now()
		from, to := start.Add(-2*time.Minute), start.Add(time.Duration(seconds)*time.Second+2*time.Minute)

		// The poller: the first time the total reached each count.
		var (
			mu      sync.Mutex
			visible []time.Time // visible[k-1]: first poll showing k events
		)
		pollCtx, stopPolling := context.WithCancel(context.Background())
		polled := make(chan error, 1)
		go func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-pollCtx.Done():
					polled <- nil
					return
				case <-tick.C:
				}
				total, err := totalEvents(in.addr(), env.Tenant, from, to)
				if err != nil {
					polled <- err
					return
				}
				at := time.Now()
				mu.Lock()
				for int64(len(visible)) < total {
					visible = append(visible, at)
				}
				mu.Unlock()
			}
		}()

		ctx := context.Background()
		visitors := max(rate*4, 1000) // each visitor sends an event every 4 s or so
		for i := range n {
			if d := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); d > 0 {
				time.Sleep(d)
			}
			key := fmt.Sprintf("anon-%07d", i%visitors)
			now := time.Now()
			e := &schemas.Event{Type: schemas.TypePage, AnonymousID: key, MessageID: "m" + strconv.Itoa(i), Tenant: env.Tenant, Source: "bench",
				Timestamp: schemas.NewTime(now), ReceivedAt: schemas.NewTime(now)}
			e.Ctx.Page.Path = []string{"/", "/pricing", "/docs", "/blog"}[i%4]
			e.Context, _ = json.Marshal(e.Ctx)
			payload, _ := json.Marshal(e)
			sent[i] = time.Now()
			prod.SendAsync(ctx, &pulsar.ProducerMessage{Key: key, Payload: payload}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err != nil {
					b.Errorf("publish: %v", err)
				}
			})
		}
		produced := time.Since(start)
		if err := prod.FlushWithCtx(ctx); err != nil {
			b.Fatal(err)
		}
		prod.Close()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
			mu.Lock()
			got := len(visible)
			mu.Unlock()
			if got >= n {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("the dashboard shows %d of %d events a minute after the last was sent", got, n)
			}
		}
		stopPolling()
		if err := <-polled; err != nil {
			b.Fatal(err)
		}
		lat := make([]time.Duration, n)
		for i := range n {
			lat[i] = visible[i].Sub(sent[i])
		}
		slices.Sort(lat)
		pct := func(p float64) time.Duration { return lat[min(n-1, int(p*float64(n)))] }
		b.ReportMetric(float64(n)/produced.Seconds(), "events/s")
		b.ReportMetric(float64(pct(0.50).Milliseconds()), "p50-ms")
		b.ReportMetric(float64(pct(0.90).Milliseconds()), "p90-ms")
		b.ReportMetric(float64(pct(0.99).Milliseconds()), "p99-ms")
		b.ReportMetric(float64(lat[n-1].Milliseconds()), "max-ms")
		cpN, cpSum := histogram(b, in.reg, "clicktrail_processor_checkpoint_seconds")
		b.Logf("%d events at %.0f/s over %v: event to dashboard p50 %v, p90 %v, p99 %v, max %v (%d checkpoints, %v on average from start to acknowledgement; %d markers)",
			n, float64(n)/produced.Seconds(), produced.Round(time.Millisecond), pct(0.50).Round(time.Millisecond),
			pct(0.90).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), lat[n-1].Round(time.Millisecond),
			cpN, (cpSum / time.Duration(max(cpN, 1))).Round(time.Millisecond), counter(b, in.reg, "clicktrail_processor_commits_total", "marker"))
		in.close(b)
	}
}

// totalEvents asks the processor's API for the tenant's total of events, as the
// dashboard does.
func totalEvents(addr, tenant string, from, to time.Time) (int64, error) {
	u := fmt.Sprintf("http://%s/api/v1/stats?tenant=%s&from=%d&to=%d&interval=1h&limit=1", addr, url.QueryEscape(tenant), from.Unix(), to.Unix())
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+testReadKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("stats: %s", resp.Status)
	}
	var st Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return 0, err
	}
	return st.Totals.Events, nil
}

// envInt reads a positive number from the environment, or returns def.
func envInt(b testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}
