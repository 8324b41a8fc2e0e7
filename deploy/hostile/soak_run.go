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
	// Name is "ordinary" or "adversarial".
	Name string
	Send SendReport
	// Processed is the events the processor counted (every outcome of
	// clicktrail_processor_events_total), Outside those beyond its retention window;
	// Archived the rows the archiver wrote to Parquet (clicktrail_archiver_rows_total of
	// the events table).
	Processed, Outside, Archived int
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
// kind sent at cfg.Rate, then a wait until the processor counted and the archiver
// wrote every accepted event, or until five minutes plus the send's time passed.
func RunSoak(ctx context.Context, tb testing.TB, bins chaos.Binaries, cfg SoakConfig, adversarial bool, logf func(string, ...any)) (*SoakRun, error) {
	tb.Helper()
	r := &SoakRun{Name: "ordinary"}
	if adversarial {
		r.Name = "adversarial"
	}
	env := testenv.New(tb)
	svcs, err := StartServices(ctx, tb, bins, env, ServiceArgs{})
	if err != nil {
		return nil, fmt.Errorf("%s run: %w", r.Name, err)
	}
	r.Services = svcs
	peaksCtx, stopPeaks := context.WithCancel(ctx)
	defer stopPeaks()
	r.Peaks = WatchPeaks(peaksCtx, soakSample, svcs.Pids)

	tr := SoakTraffic{Run: "s" + randomHex(), Adversarial: adversarial, Batches: cfg.Batches(), Visitors: cfg.Visitors, Until: time.Now()}
	logf("%s run %s: sending %d events at %.0f events/s to namespace %s", r.Name, tr.Run, cfg.Events, cfg.Rate, env.Namespace)
	r.Send = SendSteady(ctx, svcs.Collector.Addr, WriteKey, cfg.Batches(), cfg.Rate, cfg.InFlight, tr.Body,
		func(f string, args ...any) { logf(r.Name+": "+f, args...) })
	sent := time.Now()
	r.Pending = r.waitDrained(ctx, svcs, 5*time.Minute+r.Send.Elapsed, logf)
	r.Drain = time.Since(sent)
	r.Exits = svcs.Unexpected()
	return r, nil
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
	return fmt.Sprintf("%s: %d events at %.0f/s, %d accepted, %d rejected, %d attempts refused, %d requests failed%s; processor counted %d (%d outside its window), archiver wrote %d; %s after %.0fs; peak RSS collector %.0f MiB, processor %.0f MiB, archiver %.0f MiB; exits: %v",
		r.Name, r.Send.Events, r.Send.EventsPerSecond(), r.Send.Accepted, r.Send.Rejected, r.Send.Refused, r.Send.Failed, firstFailure(r.Send),
		r.Processed, r.Outside, r.Archived, drained, r.Drain.Seconds(),
		r.Peaks.PeakMiB("collector"), r.Peaks.PeakMiB("processor"), r.Peaks.PeakMiB("archiver"), r.Exits)
}

func firstFailure(s SendReport) string {
	if s.FirstFailure == "" {
		return ""
	}
	return " (first: " + s.FirstFailure + ")"
}
