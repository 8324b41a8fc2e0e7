package hostile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/clicktrail/clicktrail/deploy/chaos"
	"github.com/clicktrail/clicktrail/processor"
)

// Pipeline is the running system under test, as the checks after the corpus see it.
type Pipeline struct {
	Collector, Processor, Archiver *chaos.Service
	// Tenant and ReadKey query the processor's stats.
	Tenant, ReadKey string
	Mirror          *Mirror
	// Run is the run's id, the start of every messageId the suite sends.
	Run string
	// Started is when the corpus began.
	Started time.Time
	Peaks   *Peaks
	// ArchiverRSS is the profile's bound on the archiver's peak RSS, in MiB.
	ArchiverRSS float64
}

// Services lists the three services.
func (p *Pipeline) Services() []*chaos.Service {
	return []*chaos.Service{p.Collector, p.Processor, p.Archiver}
}

// Pids names the services' processes, for WatchPeaks.
func (p *Pipeline) Pids() map[string]int {
	out := map[string]int{}
	for _, s := range p.Services() {
		out[s.Name] = s.Pid()
	}
	return out
}

// Stats asks the processor for the aggregates of [from, to).
func (p *Pipeline) Stats(ctx context.Context, from, to time.Time) (processor.Stats, error) {
	return chaos.FetchStats(ctx, p.Processor.Addr, p.Tenant, p.ReadKey, from, to)
}

// runStats are the aggregates of the whole run (the events sent at the time received).
func (p *Pipeline) runStats(ctx context.Context) (processor.Stats, error) {
	return p.Stats(ctx, p.Started.Add(-time.Hour), time.Now().Add(time.Hour))
}

// Settle waits, by polling, until the lake holds the marker batch and (at least) as
// many of the suite's events as the collector accepted, the processor counts the
// marker and the minute of distinct paths, and the hourly visitor's last session is
// stored; or until limit passes. What needs a service that is no longer running is
// not waited for. It returns what is still pending ("" when nothing).
func (p *Pipeline) Settle(ctx context.Context, st *Stage, accepted int, limit time.Duration) string {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	last := ""
	for {
		pending, waiting := p.pending(ctx, st, accepted)
		if ctx.Err() != nil && last != "" {
			return last // what was pending before the deadline cut this poll short
		}
		last = strings.Join(pending, "; ")
		if !waiting {
			return last
		}
		select {
		case <-ctx.Done():
			return last
		case <-time.After(2 * time.Second):
		}
	}
}

// pending lists the conditions of Settle not met yet, and says whether one of them
// can still be met (the services it needs run).
func (p *Pipeline) pending(ctx context.Context, st *Stage, accepted int) (pending []string, waiting bool) {
	if err := p.Mirror.Sync(ctx); err != nil {
		return []string{"lake: " + err.Error()}, true
	}
	conditions := []struct {
		needs []*chaos.Service
		unmet func() string
	}{
		{[]*chaos.Service{p.Archiver}, func() string { return p.markerStored(st) }},
		{[]*chaos.Service{p.Archiver}, func() string { return p.acceptedStored(accepted) }},
		{[]*chaos.Service{p.Processor, p.Archiver}, func() string {
			if !p.hourlyDone(st) {
				return "the hourly visitor's last session is not stored"
			}
			return ""
		}},
		{[]*chaos.Service{p.Processor}, func() string { return p.markerCounted(ctx, st) }},
		{[]*chaos.Service{p.Processor}, func() string { return p.otherCounted(ctx, st) }},
	}
	for _, c := range conditions {
		unmet := c.unmet()
		if unmet == "" {
			continue
		}
		for _, s := range c.needs {
			if s.Pid() == 0 {
				unmet += fmt.Sprintf(" (not waited for: the %s is not running)", s.Name)
				break
			}
		}
		if !strings.HasSuffix(unmet, "not running)") {
			waiting = true
		}
		pending = append(pending, unmet)
	}
	return pending, waiting
}

func (p *Pipeline) markerStored(st *Stage) string {
	counts := p.Mirror.EventCounts()
	missing := 0
	for _, id := range st.MarkerIDs {
		if counts[id] == 0 {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Sprintf("%d of the %d marker events are not in the lake", missing, len(st.MarkerIDs))
	}
	return ""
}

func (p *Pipeline) acceptedStored(accepted int) string {
	stored := 0
	for id := range p.Mirror.EventCounts() {
		if strings.HasPrefix(id, p.Run) {
			stored++
		}
	}
	if stored < accepted {
		return fmt.Sprintf("the lake holds %d of the %d events accepted", stored, accepted)
	}
	return ""
}

func (p *Pipeline) markerCounted(ctx context.Context, st *Stage) string {
	run, err := p.runStats(ctx)
	if err != nil {
		return "processor: " + err.Error()
	}
	if n := markerCount(run, st.MarkerEvent); n != markerEvents {
		return fmt.Sprintf("the processor counts %d of the %d marker events", n, markerEvents)
	}
	return ""
}

func (p *Pipeline) otherCounted(ctx context.Context, st *Stage) string {
	other, err := p.Stats(ctx, st.OtherMinute, st.OtherMinute.Add(time.Minute))
	switch {
	case err != nil:
		return "processor: " + err.Error()
	case other.Totals.Pageviews < int64(st.OtherPaths):
		return fmt.Sprintf("the processor counts %d of the %d pageviews of distinct paths", other.Totals.Pageviews, st.OtherPaths)
	}
	return ""
}

// markerCount is how many events of the marker's name the stats count.
func markerCount(st processor.Stats, event string) int64 {
	for _, e := range st.Events {
		if e.Name == "track/"+event {
			return e.Count
		}
	}
	return 0
}

// hourlyDone reports whether the hourly visitor's last session (its last event
// alone) is stored.
func (p *Pipeline) hourlyDone(st *Stage) bool {
	for _, f := range p.Mirror.SessionFiles() {
		for _, s := range f.Sessions {
			if s.AnonymousID == st.HourlyVisitor && !s.StartedAt.Before(st.HourlyLast.Add(-time.Second)) {
				return true
			}
		}
	}
	return false
}
