package hostile

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/deploy/chaos"
	"github.com/clicktrail/clicktrail/internal/testenv"
)

// SoakRun is one run of the soak: what was sent and what each service made of it.
type SoakRun struct {
	// Name is the kind's: "ordinary", "adversarial" or "adversarial-recent".
	Name string
	Send SendReport
	// Processed is the events the processor counted (every outcome of
	// clicktrail_processor_events_total), Outside those beyond its retention window;
	// Archived the rows the archiver wrote to Parquet (clicktrail_archiver_rows_total of
	// the events table).
	Processed, Outside, Archived int
	// What the processor's bounds did, read once drained: Capped is the values it cut
	// (clicktrail_processor_values_capped_total), StoreBuckets the buckets (tenant-minutes, -hours, -days) its
	// store holds, Commits the session-state commits it wrote and CommitBytes their
	// mean encoded size. HeapMiB is the processor's and the archiver's Go heap in use
	// then (go_memstats_heap_inuse_bytes), beside their peak RSS.
	Capped, StoreBuckets, Commits int
	CommitBytes                   float64
	HeapMiB                       map[string]float64
	// Pending says what was not drained when the wait ended ("" when everything was);
	// Drain is the wait, from the last answer.
	Pending string
	Drain   time.Duration
	// Peaks are the services' resident memory, sampled every 250 ms from their start
	// to the end of the drain.
	Peaks *Peaks
	// Exits lists the services' exits nobody asked for.
	Exits []string
	// Services still run: the slow phase uses the adversarial run's; the caller stops them.
	Services *Services
}

// soakSample is how often the services' memory is read.
const soakSample = 250 * time.Millisecond

// RunSoak runs one soak: a namespace of its own, the three services started afresh
// (their defaults but for addresses, namespace and prefix), cfg.Events events of the
// kind (see SoakTraffic) sent at cfg.Rate, then a wait until the processor counted and
// the archiver wrote every accepted event, or until five minutes plus the send's time
// passed.
func RunSoak(ctx context.Context, tb testing.TB, bins chaos.Binaries, cfg SoakConfig, kind SoakKind, logf func(string, ...any)) (*SoakRun, error) {
	tb.Helper()
	r := &SoakRun{Name: kind.String()}
	env := testenv.New(tb)
	svcs, err := StartServices(ctx, tb, bins, env, ServiceArgs{})
	if err != nil {
		return nil, fmt.Errorf("%s run: %w", r.Name, err)
	}
	r.Services = svcs
	peaksCtx, stopPeaks := context.WithCancel(ctx)
	defer stopPeaks()
	r.Peaks = WatchPeaks(peaksCtx, soakSample, svcs.Pids)

	tr := SoakTraffic{Run: "s" + randomHex(), Kind: kind, Batches: cfg.Batches(), Visitors: cfg.Visitors, Until: time.Now()}
	logf("%s run %s: sending %d events at %.0f events/s to namespace %s", r.Name, tr.Run, cfg.Events, cfg.Rate, env.Namespace)
	r.Send = SendSteady(ctx, svcs.Collector.Addr, WriteKey, cfg.Batches(), cfg.Rate, cfg.InFlight, tr.Body,
		func(f string, args ...any) { logf(r.Name+": "+f, args...) })
	sent := time.Now()
	r.Pending = r.waitDrained(ctx, svcs, 5*time.Minute+r.Send.Elapsed, logf)
	r.Drain = time.Since(sent)
	r.readBounds(svcs)
	r.Exits = svcs.Unexpected()
	return r, nil
}

// readBounds reads what the processor's bounds did and the heap in use (see SoakRun);
// a figure that cannot be read stays 0.
func (r *SoakRun) readBounds(svcs *Services) {
	p := svcs.Processor
	metric := func(s *chaos.Service, name string) float64 {
		v, _ := s.Metric(name)
		return v
	}
	r.Capped = int(metric(p, "clicktrail_processor_values_capped_total"))
	r.StoreBuckets = int(metric(p, "clicktrail_processor_store_buckets"))
	r.Commits = int(metric(p, `clicktrail_processor_commits_total{direction="written"`))
	if n := metric(p, "clicktrail_processor_commit_bytes_count"); n > 0 {
		r.CommitBytes = metric(p, "clicktrail_processor_commit_bytes_sum") / n
	}
	r.HeapMiB = map[string]float64{}
	for _, s := range []*chaos.Service{svcs.Processor, svcs.Archiver} {
		r.HeapMiB[s.Name] = metric(s, "go_memstats_heap_inuse_bytes") / (1 << 20)
	}
}

// waitDrained polls the processor's and the archiver's metrics until both counted
// every accepted event, a service exited, or limit passed; it returns what is pending.
func (r *SoakRun) waitDrained(ctx context.Context, svcs *Services, limit time.Duration, logf func(string, ...any)) string {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	want := r.Send.Accepted
	last := time.Now()
	for {
		if n, err := svcs.Processor.Metric("clicktrail_processor_events_total"); err == nil {
			r.Processed = int(n)
		}
		if n, err := svcs.Processor.Metric(`clicktrail_processor_events_total{outcome="outside"`); err == nil {
			r.Outside = int(n)
		}
		if n, err := svcs.Archiver.Metric(`clicktrail_archiver_rows_total{table="events"`); err == nil {
			r.Archived = int(n)
		}
		var pending []string
		if r.Processed < want {
			pending = append(pending, fmt.Sprintf("the processor counted %d of the %d events accepted", r.Processed, want))
		}
		if r.Archived < want {
			pending = append(pending, fmt.Sprintf("the archiver wrote %d of the %d events accepted", r.Archived, want))
		}
		for _, s := range svcs.All() {
			if s.Pid() == 0 {
				pending = append(pending, "the "+s.Name+" exited")
				return strings.Join(pending, "; ")
			}
		}
		if len(pending) == 0 {
			return ""
		}
		if time.Since(last) >= 30*time.Second {
			logf("%s: draining: %s", r.Name, strings.Join(pending, "; "))
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return strings.Join(pending, "; ") + " after " + limit.String()
		case <-time.After(2 * time.Second):
		}
	}
}

// Summary is a line for the log.
func (r *SoakRun) Summary() string {
	drained := "drained"
	if r.Pending != "" {
		drained = "NOT drained: " + r.Pending
	}
	return fmt.Sprintf("%s: %d events at %.0f/s, %d accepted, %d rejected, %d attempts refused, %d requests failed%s; processor counted %d (%d outside its window), archiver wrote %d; %s after %.0fs; peak RSS collector %.0f MiB, processor %.0f MiB, archiver %.0f MiB; exits: %v; processor: %d values cut, %d buckets held, %d commits written of %.0f bytes on average; heap in use at the end: processor %.0f MiB, archiver %.0f MiB",
		r.Name, r.Send.Events, r.Send.EventsPerSecond(), r.Send.Accepted, r.Send.Rejected, r.Send.Refused, r.Send.Failed, firstFailure(r.Send),
		r.Processed, r.Outside, r.Archived, drained, r.Drain.Seconds(),
		r.Peaks.PeakMiB("collector"), r.Peaks.PeakMiB("processor"), r.Peaks.PeakMiB("archiver"), r.Exits,
		r.Capped, r.StoreBuckets, r.Commits, r.CommitBytes, r.HeapMiB["processor"], r.HeapMiB["archiver"])
}

func firstFailure(s SendReport) string {
	if s.FirstFailure == "" {
		return ""
	}
	return " (first: " + s.FirstFailure + ")"
}
