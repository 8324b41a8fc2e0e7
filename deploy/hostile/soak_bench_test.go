//go:build linux

package hostile_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/deploy/chaos"
	"github.com/clicktrail/clicktrail/deploy/hostile"
	"github.com/clicktrail/clicktrail/internal/testenv"
)

// BenchmarkSoak is issue 14's adversarial soak (see hostile.SoakTraffic, RunSoak and
// RunSlow): the pipeline runs three times, afresh each time, with
// CLICKTRAIL_SOAK_EVENTS events (20,000; `make bench` sends 1,000,000) at
// CLICKTRAIL_SOAK_RATE events a second (5,000): first ordinary events, then
// adversarial ones, every one with a page path, event name, referrer host, UTM
// source, browser and timestamp of its own, the timestamps spread over years 0001 to
// now, then adversarial-recent ones, of values of their own too (an eighth of the
// paths and referrers random and 1 to 2 KB long) but stamped within the last 47 hours,
// so that the processor aggregates and sessionizes them all. After the adversarial
// run, on its pipeline, legitimate requests (CLICKTRAIL_SOAK_LEGIT a second, 100, of
// 20 events) alone for 10 s and for CLICKTRAIL_SOAK_SLOW_TIME (30s) while
// CLICKTRAIL_SOAK_SLOW (2,000) connections trickle their bodies. Run it with
// -benchtime 1x:
//
//	go test -run '^$' -bench BenchmarkSoak -benchtime 1x -timeout 60m ./deploy/hostile/
//
// It reports, for each run, each service's peak RSS (sampled every 250 ms from
// /proc), the events sent, accepted, counted by the processor (and how many of those
// were outside its retention window) and written by the archiver, the exits nobody
// asked for, and the values the processor cut, the minutes its store holds and the
// commits it wrote; the adversarial runs' peaks over the ordinary run's; and the
// legitimate requests' p50 and p99, their answers that were not 200, the slow
// connections held and the collector's peak RSS over the phase. deploy/bench's report
// judges them against the goals.
func BenchmarkSoak(b *testing.B) {
	cfg, err := hostile.SoakConfigFromEnv()
	if err != nil {
		b.Fatal(err)
	}
	// Each slow connection is a descriptor here and one in the collector (a child:
	// it inherits the limit), besides the soak's and the legitimate requests'.
	raiseOpenFiles(b, uint64(cfg.Slow)+2048)
	ctx := context.Background()
	bins, err := chaos.Build(ctx, testenv.Root(b), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("soak: %d events a run in batches of %d at %.0f events/s over %d visitors; %d slow connections, %.0f legitimate requests/s",
		cfg.Events, hostile.SoakBatch, cfg.Rate, cfg.Visitors, cfg.Slow, cfg.LegitRate)
	// go test prints ten lines of a benchmark's log, so the progress shows with -v only.
	progress := func(format string, args ...any) {
		if testing.Verbose() {
			b.Logf(format, args...)
		}
	}
	b.ResetTimer()
	for range b.N {
		// Ordinary first, then adversarial, then adversarial-recent, each on fresh
		// services: the baseline and the figures of the same run, alternated as the
		// other benchmarks do.
		ord, err := hostile.RunSoak(ctx, b, bins, cfg, hostile.SoakOrdinary, progress)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(ord.Summary())
		if err := ord.Services.Stop(30 * time.Second); err != nil {
			b.Error(err)
		}
		adv, err := hostile.RunSoak(ctx, b, bins, cfg, hostile.SoakAdversarial, progress)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(adv.Summary())
		slow, err := hostile.RunSlow(ctx, adv.Services, cfg, progress)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("slow phase: legitimate p99 %s (p50 %s), statuses %v, alone p99 %s; at least %.0f (mean %.0f) of %d slow connections held, %d opened, %d cut by the server, %d not opened; collector peak RSS %.0f MiB",
			slow.Held.P99, slow.Held.P50, slow.Held.Status, slow.Baseline.P99, slow.MinHeld, slow.MeanHeld, cfg.Slow,
			slow.Opened, slow.Cut, slow.DialErrors, slow.CollectorPeakMiB)
		if err := adv.Services.Stop(30 * time.Second); err != nil {
			b.Error(err)
		}
		rec, err := hostile.RunSoak(ctx, b, bins, cfg, hostile.SoakRecent, progress)
		if err != nil {
			b.Fatal(err)
		}
		b.Log(rec.Summary())
		if err := rec.Services.Stop(30 * time.Second); err != nil {
			b.Error(err)
		}
		reportSoak(b, cfg, ord, adv, rec, slow)
	}
}

// reportSoak reports the figures as custom metrics (deploy/bench's goals read them).
func reportSoak(b *testing.B, cfg hostile.SoakConfig, ord, adv, rec *hostile.SoakRun, slow hostile.SlowReport) {
	b.ReportMetric(float64(cfg.Events), "soak-events")
	for _, r := range []*hostile.SoakRun{ord, adv, rec} {
		for _, s := range []string{"collector", "processor", "archiver"} {
			b.ReportMetric(r.Peaks.PeakMiB(s), r.Name+"-"+s+"-peak-MiB")
		}
		b.ReportMetric(r.Send.EventsPerSecond(), r.Name+"-events/s")
		b.ReportMetric(float64(r.Send.Accepted), r.Name+"-accepted")
		b.ReportMetric(float64(r.Processed), r.Name+"-processed")
		b.ReportMetric(float64(r.Outside), r.Name+"-outside")
		b.ReportMetric(float64(r.Archived), r.Name+"-archived")
		b.ReportMetric(float64(len(r.Exits)), r.Name+"-exits")
		b.ReportMetric(float64(r.Capped), r.Name+"-values-capped")
		b.ReportMetric(float64(r.StoreBuckets), r.Name+"-store-buckets")
		b.ReportMetric(float64(r.Commits), r.Name+"-commits")
	}
	// The adversarial run's ratios keep their first names (collector-peak-ratio);
	// the adversarial-recent run's carry its name.
	for _, s := range []string{"collector", "processor", "archiver"} {
		if o := ord.Peaks.PeakMiB(s); o > 0 {
			b.ReportMetric(adv.Peaks.PeakMiB(s)/o, s+"-peak-ratio")
			b.ReportMetric(rec.Peaks.PeakMiB(s)/o, rec.Name+"-"+s+"-peak-ratio")
		}
	}
	b.ReportMetric(float64(slow.Slow), "slow-connections")
	b.ReportMetric(slow.MinHeld, "slow-min-held")
	b.ReportMetric(slow.MeanHeld, "slow-mean-held")
	b.ReportMetric(slow.CollectorPeakMiB, "slow-collector-peak-MiB")
	b.ReportMetric(cfg.LegitRate, "legit-requests/s")
	b.ReportMetric(float64(slow.Held.Requests), "legit-requests")
	b.ReportMetric(float64(slow.Held.Non200()), "legit-non200")
	b.ReportMetric(ms(slow.Held.P50), "legit-p50-ms")
	b.ReportMetric(ms(slow.Held.P99), "legit-p99-ms")
	b.ReportMetric(ms(slow.Baseline.P99), "baseline-legit-p99-ms")
	b.ReportMetric(float64(slow.Baseline.Non200()), "baseline-legit-non200")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// raiseOpenFiles raises this process's open-file limit to want (its hard limit at
// most). Setting it here, rather than Go's automatic raise, makes the children
// inherit it too.
func raiseOpenFiles(b *testing.B, want uint64) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Logf("open-file limit: %v", err)
		return
	}
	if lim.Cur >= want {
		return
	}
	lim.Cur = min(want, lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Logf("open-file limit: %v", err)
	}
	if lim.Cur < want {
		b.Logf("open-file limit %d (hard), below the %d the slow phase needs: raise ulimit -Hn", lim.Max, want)
	}
}
