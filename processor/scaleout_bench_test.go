package processor

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/obs"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// BenchmarkScaleOut is issue 16's: CLICKTRAIL_BENCH_EVENTS events (default 200,000;
// `make bench` sends 1,000,000, about 220,000 visitors, nearly all of whose sessions
// stay open: the idle timeout is an hour) published as fast as Pulsar takes them to 1,
// 2 and 4 processor processes (CLICKTRAIL_BENCH_INSTANCES) that run already, as in
// production (instances started on a backlog one after the other would each take
// every key for a moment), each count on a namespace of its own. For each it reports
// the events per second from the first publish until every event is acknowledged,
// each instance's peak RSS and its open sessions and shards at the end; then the
// instances stop, a new one starts on the same history, and it reports the time from
// its start to ready, and from then to processing 2,000 more events of the same
// visitors (every shard loaded from its snapshot and the commits since).
func BenchmarkScaleOut(b *testing.B) {
	n := envInt(b, "CLICKTRAIL_BENCH_EVENTS", 200_000)
	counts := []int{1, 2, 4}
	if v := os.Getenv("CLICKTRAIL_BENCH_INSTANCES"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			c, err := strconv.Atoi(f)
			if err != nil || c < 1 {
				b.Fatalf("CLICKTRAIL_BENCH_INSTANCES=%q: want counts like 1,2,4", v)
			}
			counts = append(counts, c)
		}
	}
	bin := buildProcessor(b)
	for range b.N {
		for _, count := range counts {
			env := testenv.New(b)
			cfg := testConfig(b, env)
			cfg.IdleTimeout = time.Hour
			cfg.CheckpointInterval = DefaultConfig().CheckpointInterval
			var children []*child
			for i := range count {
				children = append(children, startChild(b, bin, cfg, fmt.Sprintf("p%d", i)))
			}
			start := time.Now()
			publishBacklog(b, env, n, nil)
			acked := func() int {
				sum := 0
				for _, c := range children {
					v, _ := strconv.ParseFloat(metricValue(b, c.addr, "clicktrail_processor_events_acknowledged_total"), 64)
					sum += int(v)
				}
				return sum
			}
			for deadline := time.Now().Add(30 * time.Minute); acked() < n; time.Sleep(200 * time.Millisecond) {
				if time.Now().After(deadline) {
					b.Fatalf("%d instances acknowledged %d of %d events in 30 minutes", count, acked(), n)
				}
			}
			took := time.Since(start)
			var peaks, sessions, shards []string
			maxPeak := 0.0
			for _, c := range children {
				mib := peakRSSMiB(b, c.cmd.Process.Pid)
				maxPeak = max(maxPeak, mib)
				peaks = append(peaks, fmt.Sprintf("%.0f", mib))
				sessions = append(sessions, metricValue(b, c.addr, "clicktrail_processor_open_sessions"))
				shards = append(shards, metricValue(b, c.addr, "clicktrail_processor_state_shards"))
			}
			b.ReportMetric(float64(n)/took.Seconds(), fmt.Sprintf("x%d-events/s", count))
			b.ReportMetric(maxPeak, fmt.Sprintf("x%d-peak-MiB", count))
			b.Logf("%d instances: %d events in %v (%.0f events/s); peak RSS MiB %s; open sessions %s; shards %s",
				count, n, took.Round(time.Millisecond), float64(n)/took.Seconds(), strings.Join(peaks, ", "), strings.Join(sessions, ", "), strings.Join(shards, ", "))

			// A new instance on this history, alone.
			for _, c := range children {
				_ = c.cmd.Process.Signal(os.Interrupt)
				_ = c.cmd.Wait()
			}
			fresh, ready, processing := startFresh(b, bin, cfg, env)
			b.ReportMetric(ready.Seconds(), fmt.Sprintf("x%d-ready-s", count))
			b.ReportMetric(processing.Seconds(), fmt.Sprintf("x%d-processing-s", count))
			b.Logf("a new instance after %d events of history: ready in %v, 2,000 more events acknowledged %v after its start (shards %s, open sessions %s)",
				n, ready.Round(time.Millisecond), processing.Round(time.Millisecond),
				metricValue(b, fresh.addr, "clicktrail_processor_state_shards"), metricValue(b, fresh.addr, "clicktrail_processor_open_sessions"))
			_ = fresh.cmd.Process.Signal(os.Interrupt)
			_ = fresh.cmd.Wait()
		}
	}
}

// startFresh starts a new instance alone on env's history and times it: from its
// start to ready, and to having acknowledged 2,000 more events (the first 2,000 of
// backlogEvents again: visitors of every shard).
func startFresh(b testing.TB, bin string, cfg Config, env *testenv.Env) (fresh *child, ready, processing time.Duration) {
	b.Helper()
	start := time.Now()
	fresh = startChild(b, bin, cfg, "fresh")
	ready = time.Since(start)
	publishBacklog(b, env, 2000, nil)
	for deadline := time.Now().Add(5 * time.Minute); ; time.Sleep(50 * time.Millisecond) {
		v, _ := strconv.ParseFloat(metricValue(b, fresh.addr, "clicktrail_processor_events_acknowledged_total"), 64)
		if int(v) >= 2000 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("a new instance acknowledged %v of 2,000 events in 5 minutes", v)
		}
	}
	return fresh, ready, time.Since(start)
}

// publishBacklog writes the first n events of backlogEvents to env's events topic.
// pace, when not nil, is called before each event with the count sent so far: it may
// block to hold the publisher back. A send that fails stops the publishing: b fails
// with the first error (and how many sends failed), not with a line for each.
func publishBacklog(b testing.TB, env *testenv.Env, n int, pace func(sent int)) {
	b.Helper()
	prod, err := env.Client().CreateProducer(pulsar.ProducerOptions{
		Topic: env.Topic(schemas.TopicEvents), CompressionType: pulsar.LZ4, BatcherBuilderType: pulsar.KeyBasedBatchBuilder,
		MaxPendingMessages: 5000,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer prod.Close()
	var mu sync.Mutex
	var first error
	failed := 0
	check := func() {
		mu.Lock()
		defer mu.Unlock()
		if first != nil {
			b.Fatalf("publish: %v (%d sends failed)", first, failed)
		}
	}
	ctx := context.Background()
	sent := 0
	backlogEvents(n, func(key string, payload []byte) {
		check()
		if pace != nil {
			pace(sent)
		}
		sent++
		prod.SendAsync(ctx, &pulsar.ProducerMessage{Key: key, Payload: payload}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				failed++
				mu.Unlock()
			}
		})
	})
	if err := prod.FlushWithCtx(ctx); err != nil {
		b.Fatal(err)
	}
	check()
}

// peakRSSMiB reads a process's peak resident set (VmHWM).
func peakRSSMiB(b testing.TB, pid int) float64 {
	b.Helper()
	kb := obs.ProcStatusKiB(pid, "VmHWM")
	if kb == 0 {
		b.Fatalf("no VmHWM for process %d", pid)
	}
	return float64(kb) / 1024
}
