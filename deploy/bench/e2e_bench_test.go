//go:build linux

package bench_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/deploy/chaos"
	"github.com/clicktrail/clicktrail/internal/testenv"
)

// e2eConfig is the benchmark's load, from the environment.
type e2eConfig struct {
	// Events sent in the throughput phase [100000]: CLICKTRAIL_BENCH_E2E_EVENTS.
	Events int
	// Concurrency: requests in flight in the throughput phase [32]:
	// CLICKTRAIL_BENCH_E2E_CONCURRENCY.
	Concurrency int
	// Rate of batches a second in the latency phase [200]: CLICKTRAIL_BENCH_E2E_RATE.
	Rate float64
	// Duration of the latency phase [20s]: CLICKTRAIL_BENCH_E2E_DURATION.
	Duration time.Duration
	// Samples: how many batches of the latency phase are timed to the dashboard and
	// to Parquet [400]: CLICKTRAIL_BENCH_E2E_SAMPLES.
	Samples int
	// Poll: how often the dashboard's API and the object store are asked [100ms]:
	// CLICKTRAIL_BENCH_E2E_POLL.
	Poll time.Duration
}

func loadE2EConfig(b *testing.B) e2eConfig {
	b.Helper()
	c := e2eConfig{Events: 100_000, Concurrency: 32, Rate: 200, Duration: 20 * time.Second, Samples: 400, Poll: 100 * time.Millisecond}
	num := func(name string, dst *int) {
		if v := os.Getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				b.Fatalf("%s=%q: want a positive number", name, v)
			}
			*dst = n
		}
	}
	dur := func(name string, dst *time.Duration) {
		if v := os.Getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				b.Fatalf("%s=%q: want a positive duration like 20s", name, v)
			}
			*dst = d
		}
	}
	num("CLICKTRAIL_BENCH_E2E_EVENTS", &c.Events)
	num("CLICKTRAIL_BENCH_E2E_CONCURRENCY", &c.Concurrency)
	num("CLICKTRAIL_BENCH_E2E_SAMPLES", &c.Samples)
	dur("CLICKTRAIL_BENCH_E2E_DURATION", &c.Duration)
	dur("CLICKTRAIL_BENCH_E2E_POLL", &c.Poll)
	if v := os.Getenv("CLICKTRAIL_BENCH_E2E_RATE"); v != "" {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			b.Fatalf("CLICKTRAIL_BENCH_E2E_RATE=%q: want a positive number of batches a second", v)
		}
		c.Rate = r
	}
	if c.Samples > 900 {
		// Each sample is an event name of its own, and the API lists 1,000 names.
		b.Fatalf("CLICKTRAIL_BENCH_E2E_SAMPLES=%d: at most 900, the dashboard's API lists 1,000 event names", c.Samples)
	}
	c.Events = max(batchSize, c.Events/batchSize*batchSize)
	return c
}

// pipeline is the collector, the processor and the archiver running as child
// processes on one testenv namespace.
type pipeline struct {
	env                            *testenv.Env
	collector, processor, archiver *service
	dash                           dashboard
	tr                             traffic
}

// BenchmarkEndToEnd measures the whole pipeline (collector, processor and archiver as
// child processes of this checkout's binaries, on a namespace of their own of the
// real Pulsar and S3 server), with the load coming over HTTP from this process as the
// SDK sends it: POST /v1/batch, 20 events of one visitor, text/plain, the write key in
// the body (the SDK itself is not in the loop: it sends the same request).
//
// throughput sends CLICKTRAIL_BENCH_E2E_EVENTS events (100,000) with 32 requests in
// flight and reports events/s until (a) every request was answered 200, (b) the
// dashboard's API counts every event, (c) the object store holds every row in Parquet
// (the archiver rolls its files after 1 s). Its baseline, in the same run and on the
// same broker: a raw Pulsar producer (SendAsync, LZ4, key-based batching) to a
// consumer, the same events (baseline-events/s). It also reports each service's events
// per CPU-second over the phase and peak resident memory.
//
// latency sends 200 batches a second for 20 s (CLICKTRAIL_BENCH_E2E_RATE,
// CLICKTRAIL_BENCH_E2E_DURATION) and reports p50 and p99 of the time from each
// request's send to its 200 (ack-*), and, for 400 sampled batches of 20 track events
// with a name of their own, to the moment the dashboard's API counts all 20 by that
// name (dashboard-*) and the moment the object store holds all 20 rows (parquet-*).
// Both are polled every 100 ms (CLICKTRAIL_BENCH_E2E_POLL), so they read up to one
// poll late. Its baseline: raw Pulsar batches of 20 at the same rate, until Pulsar
// acknowledged them (baseline-publish-*) and until a consumer received them
// (baseline-consume-*).
//
// Both phases report the requests refused (429/503, retried after Retry-After as the
// SDK does) and the CPU they used in cores: each service's, this process's (harness)
// and the whole machine's (machine: the broker, the S3 server and anything else
// running, so that a run on a shared machine can be told from a quiet one).
func BenchmarkEndToEnd(b *testing.B) {
	cfg := loadE2EConfig(b)
	p := startPipeline(b)
	b.Run("throughput", func(b *testing.B) {
		for range b.N {
			p.throughput(b, cfg)
		}
	})
	b.Run("latency", func(b *testing.B) {
		for range b.N {
			p.latency(b, cfg)
		}
	})
}

func startPipeline(b *testing.B) *pipeline {
	b.Helper()
	env := testenv.New(b)
	bin, logs := b.TempDir(), b.TempDir()
	if _, err := chaos.Build(context.Background(), testenv.Root(b), bin); err != nil {
		b.Fatal(err)
	}
	var id [4]byte
	_, _ = rand.Read(id[:])
	p := &pipeline{env: env, tr: traffic{run: hex.EncodeToString(id[:]), writeKey: "e2e-bench", visitors: 10_000}}

	sources := filepath.Join(b.TempDir(), "sources.yaml")
	src := fmt.Sprintf("sources:\n  - id: e2e-bench\n    writeKey: %s\n    readKey: e2e-bench-read\n    tenant: %s\n    namespace: %s\n    origins: []\n    timezone: UTC\n",
		p.tr.writeKey, env.Tenant, env.Namespace)
	if err := os.WriteFile(sources, []byte(src), 0o600); err != nil {
		b.Fatal(err)
	}
	pv := env.Provision
	common := []string{"--pulsar.url", pv.PulsarURL, "--sources", sources, "--log.level", "warn"}
	addr := testenv.FreeAddr(b)
	p.collector = startService(b, "collector", filepath.Join(bin, "collector"), addr, logs,
		append([]string{"--collector.addr", addr, "--collector.instance-id", "e2e-" + p.tr.run}, common...)...)
	addr = testenv.FreeAddr(b)
	p.processor = startService(b, "processor", filepath.Join(bin, "processor"), addr, logs,
		append([]string{"--processor.addr", addr, "--processor.instance", "e2e-" + p.tr.run}, common...)...)
	addr = testenv.FreeAddr(b)
	p.archiver = startService(b, "archiver", filepath.Join(bin, "archiver"), addr, logs,
		append([]string{"--archiver.addr", addr, "--archiver.roll-age", "1s", "--archiver.tmp-dir", b.TempDir(),
			"--archiver.key-prefix", env.Prefix, "--s3.endpoint", pv.S3Endpoint, "--s3.access-key", pv.S3AccessKey,
			"--s3.secret-key", pv.S3SecretKey, "--s3.bucket", pv.Bucket}, common...)...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, s := range p.services() {
		if err := s.waitReady(ctx); err != nil {
			b.Fatal(err)
		}
	}
	p.dash = dashboard{addr: p.processor.addr, tenant: env.Tenant, readKey: "e2e-bench-read", client: &http.Client{Timeout: 10 * time.Second}}
	return p
}

// throughput is the throughput phase (see BenchmarkEndToEnd).
func (p *pipeline) throughput(b *testing.B, cfg e2eConfig) {
	batches := cfg.Events / batchSize
	base := rawRoundTrip(b, p.env, p.tr, batches)

	// A run of its own, so that a second iteration sends new messageIds.
	var id [4]byte
	_, _ = rand.Read(id[:])
	tr := p.tr
	tr.run += "-" + hex.EncodeToString(id[:])
	lk := newLake(p.env.S3(), p.env.Provision.Bucket, p.env.Prefix, "")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	if _, err := lk.sync(ctx, nil); err != nil { // what earlier iterations stored
		b.Fatal(err)
	}
	rows0 := lk.stored()
	st0, err := p.dash.stats(ctx, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	events0 := st0.Totals.Events
	cpu0 := map[*service]time.Duration{p.collector: p.collector.cpu(), p.processor: p.processor.cpu(), p.archiver: p.archiver.cpu()}
	cpu := map[*service]time.Duration{}

	s := newSender(p.collector.addr)
	u0 := takeUsage(p.services()...)
	start := time.Now()
	var next atomic.Int64
	var refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, cfg.Concurrency)
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1)) - 1; i < batches; i = int(next.Add(1)) - 1 {
				_, events := tr.batch(i, "", time.Now())
				n, err := s.post(ctx, tr.body(events, time.Now()))
				refused.Add(int64(n))
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	accepted := time.Since(start)
	cpu[p.collector] = p.collector.cpu()
	select {
	case err := <-errs:
		b.Fatalf("send: %v", err)
	default:
	}

	var counted, archived time.Duration
	for counted == 0 || archived == 0 {
		if counted == 0 {
			st, err := p.dash.stats(ctx, start)
			if err == nil && st.Totals.Events-events0 >= int64(cfg.Events) {
				counted = time.Since(start)
				cpu[p.processor] = p.processor.cpu()
			}
		}
		if archived == 0 {
			listed, err := lk.sync(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			if lk.stored()-rows0 >= int64(cfg.Events) {
				archived = listed.Sub(start)
				cpu[p.archiver] = p.archiver.cpu()
			}
		}
		if ctx.Err() != nil {
			st, _ := p.dash.stats(context.Background(), start)
			b.Fatalf("after %s: the dashboard counts %d of %d events, Parquet holds %d rows\n%s\n%s",
				time.Since(start).Round(time.Second), st.Totals.Events-events0, cfg.Events, lk.stored()-rows0, p.processor.logTail(10), p.archiver.logTail(10))
		}
		sleepCtx(ctx, cfg.Poll)
	}
	u1 := takeUsage(p.services()...)

	n := float64(cfg.Events)
	b.ReportMetric(n/base.Seconds(), "baseline-events/s")
	b.ReportMetric(n/accepted.Seconds(), "accepted-events/s")
	b.ReportMetric(n/counted.Seconds(), "dashboard-events/s")
	b.ReportMetric(n/archived.Seconds(), "parquet-events/s")
	for _, s := range p.services() {
		if c := cpu[s] - cpu0[s]; c > 0 {
			b.ReportMetric(n/c.Seconds(), s.name+"-events/cpu-s")
		}
		b.ReportMetric(float64(s.peakRSSKiB())/1024, s.name+"-peak-RSS-MiB")
	}
	b.ReportMetric(float64(refused.Load()), "refused-requests")
	reportCores(b, u0.cores(u1))
	b.Logf("%d events in batches of %d, %d requests in flight: raw Pulsar round trip %s; pipeline: all answered 200 after %s (%d refusals retried), counted by the dashboard's API after %s, in Parquet after %s; CPU: collector %s, processor %s, archiver %s",
		cfg.Events, batchSize, cfg.Concurrency, base.Round(time.Millisecond), accepted.Round(time.Millisecond), refused.Load(),
		counted.Round(time.Millisecond), archived.Round(time.Millisecond),
		(cpu[p.collector] - cpu0[p.collector]).Round(time.Millisecond), (cpu[p.processor] - cpu0[p.processor]).Round(time.Millisecond),
		(cpu[p.archiver] - cpu0[p.archiver]).Round(time.Millisecond))
}

// latency is the latency phase (see BenchmarkEndToEnd).
func (p *pipeline) latency(b *testing.B, cfg e2eConfig) {
	var id [4]byte
	_, _ = rand.Read(id[:])
	tr := p.tr
	tr.run += "-" + hex.EncodeToString(id[:])
	samplePrefix := "e2e-sample-" + tr.run + "-"
	total := int(cfg.Rate * cfg.Duration.Seconds())
	every := max(1, total/cfg.Samples)

	ctx, cancel := context.WithTimeout(context.Background(), cfg.Duration+10*time.Minute)
	defer cancel()
	var onDash, inLake arrivals
	lk := newLake(p.env.S3(), p.env.Provision.Bucket, p.env.Prefix, samplePrefix)
	if _, err := lk.sync(ctx, nil); err != nil { // skip what is stored already
		b.Fatal(err)
	}
	wctx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	lakeErrs := make(chan error, 1)
	start := time.Now()
	go watchDashboard(wctx, p.dash, start, samplePrefix, cfg.Poll, &onDash)
	go watchLake(wctx, lk, cfg.Poll, &inLake, lakeErrs)

	s := newSender(p.collector.addr)
	u0 := takeUsage(p.services()...)
	var (
		mu      sync.Mutex
		acks    []time.Duration
		sent    = map[string]time.Time{}
		refused int
		sendErr error
		wg      sync.WaitGroup
	)
	inFlight := make(chan struct{}, 512)
	for i := range total {
		sleepCtx(ctx, time.Until(start.Add(time.Duration(float64(i)/cfg.Rate*float64(time.Second)))))
		sample := ""
		if i%every == every/2 {
			sample = samplePrefix + strconv.Itoa(i)
		}
		inFlight <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-inFlight; wg.Done() }()
			_, events := tr.batch(i, sample, time.Now())
			body := tr.body(events, time.Now())
			t0 := time.Now()
			n, err := s.post(ctx, body)
			ack := time.Since(t0)
			mu.Lock()
			defer mu.Unlock()
			refused += n
			if err != nil {
				sendErr = err
				return
			}
			acks = append(acks, ack)
			if sample != "" {
				sent[sample] = t0
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	u1 := takeUsage(p.services()...)
	if sendErr != nil {
		b.Fatalf("send: %v", sendErr)
	}
	samples := len(sent)
	for onDash.count() < samples || inLake.count() < samples {
		select {
		case err := <-lakeErrs:
			b.Fatal(err)
		case <-ctx.Done():
			b.Fatalf("%s after the last send: the dashboard shows %d of %d sample batches, Parquet holds %d\n%s\n%s",
				time.Since(start.Add(elapsed)).Round(time.Second), onDash.count(), samples, inLake.count(), p.processor.logTail(10), p.archiver.logTail(10))
		case <-time.After(cfg.Poll):
		}
	}
	stopWatching()

	var toDash, toLake []time.Duration
	for name, t0 := range sent {
		at, _ := onDash.at(name)
		toDash = append(toDash, at.Sub(t0))
		at, _ = inLake.at(name)
		toLake = append(toLake, at.Sub(t0))
	}
	publish, consume := rawLatency(b, p.env, p.tr, cfg.Rate, cfg.Duration)

	b.ReportMetric(float64(total*batchSize)/elapsed.Seconds(), "sent-events/s")
	b.ReportMetric(float64(samples), "samples")
	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"ack", acks}, {"dashboard", toDash}, {"parquet", toLake}, {"baseline-publish", publish}, {"baseline-consume", consume}} {
		b.ReportMetric(msOf(percentile(m.d, 0.50)), m.name+"-p50-ms")
		b.ReportMetric(msOf(percentile(m.d, 0.99)), m.name+"-p99-ms")
	}
	b.ReportMetric(float64(refused), "refused-requests")
	for _, s := range p.services() {
		b.ReportMetric(float64(s.peakRSSKiB())/1024, s.name+"-peak-RSS-MiB")
	}
	reportCores(b, u0.cores(u1))
	b.Logf("%d batches of %d events at %.0f a second (%s); %d sampled: to the 200 p50 %s p99 %s, to the dashboard p50 %s p99 %s, to Parquet p50 %s p99 %s; raw Pulsar at the same rate: published p50 %s p99 %s, consumed p50 %s p99 %s",
		total, batchSize, cfg.Rate, elapsed.Round(time.Millisecond), samples,
		percentile(acks, .5), percentile(acks, .99), percentile(toDash, .5), percentile(toDash, .99), percentile(toLake, .5), percentile(toLake, .99),
		percentile(publish, .5), percentile(publish, .99), percentile(consume, .5), percentile(consume, .99))
}

func (p *pipeline) services() []*service { return []*service{p.collector, p.processor, p.archiver} }

// reportCores reports the CPU the phase used, in cores: each service's, this process's
// (harness: the load and the watchers) and the whole machine's (machine: the broker,
// the S3 server and anything else running, other tests included, which a shared
// machine's figures should be read with).
func reportCores(b *testing.B, cores map[string]float64) {
	for name, c := range cores {
		b.ReportMetric(c, name+"-cores")
	}
}

// percentile is the nearest-rank percentile p (0..1) of d.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)].Round(100 * time.Microsecond)
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
