package hostile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/clicktrail/clicktrail/deploy/chaos"
	"github.com/clicktrail/clicktrail/processor"
)

// Check is one check after the corpus: its name says what must hold, Err why it does
// not.
type Check struct {
	Name string
	Err  error
}

// maxDimension is the contract's cap on an aggregate dimension value, in bytes, and
// maxDistinct its cap on distinct values per dimension per tenant-minute.
const (
	maxDimension = 200
	maxDistinct  = 1000
	other        = "(other)"
)

// FinalChecks checks what a user would check once the pipeline has settled: a is
// DuckDB's reading of the lake.
func (p *Pipeline) FinalChecks(ctx context.Context, st *Stage, a *Analysis) []Check {
	stats, statsErr := p.runStats(ctx)
	checks := []Check{
		{"the marker batch is in the events table exactly once", p.markerOnce(st, a)},
		{"the marker batch is counted in the processor's aggregates", orErr(statsErr, func() error {
			if n := markerCount(stats, st.MarkerEvent); n != markerEvents {
				return fmt.Errorf("the processor counts %d events named %s, want %d", n, st.MarkerEvent, markerEvents)
			}
			return nil
		})},
		{"no service exited by itself", p.noExits()},
		{"DuckDB reads SELECT * of every Parquet file under the suite's prefix", listed("files DuckDB cannot read", a.Unreadable(), len(a.Files))},
		{"parquet-go reads every Parquet file under the suite's prefix", listed("files parquet-go cannot read", p.Mirror.Unreadable(), p.Mirror.Files())},
		{fmt.Sprintf("the collector's peak RSS is at most %d MiB", collectorRSSBound), p.rssBound("collector", collectorRSSBound)},
		{fmt.Sprintf("the processor's peak RSS is at most %d MiB", processorRSSBound), p.rssBound("processor", processorRSSBound)},
		{fmt.Sprintf("the archiver's peak RSS is at most %.0f MiB (30 KB events)", p.ArchiverRSS), p.rssBound("archiver", p.ArchiverRSS)},
		{"no accepted event is dropped downstream as undecodable", p.noneUndecodable()},
		{fmt.Sprintf("aggregate values are at most %d bytes", maxDimension), orErr(statsErr, func() error { return dimensionsCapped(stats) })},
		{"1,100 distinct paths in one minute leave an (other) bucket", p.otherBucket(ctx, st)},
		{"2,500 sessions of one visitor an hour apart are stored in few files", p.hourlyFiles(st)},
	}
	return checks
}

func orErr(err error, f func() error) error {
	if err != nil {
		return err
	}
	return f()
}

func listed(what string, items []string, of int) error {
	if len(items) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d %s; first ones:\n  %s", len(items), of, what, strings.Join(items[:min(len(items), 5)], "\n  "))
}

// markerOnce checks the marker's rows as DuckDB and parquet-go read them.
func (p *Pipeline) markerOnce(st *Stage, a *Analysis) error {
	duck := map[string]int{}
	for _, e := range a.Events {
		duck[e.MessageID]++
	}
	pq := p.Mirror.EventCounts()
	var bad []string
	for _, id := range st.MarkerIDs {
		if duck[id] != 1 || pq[id] != 1 {
			bad = append(bad, fmt.Sprintf("%s: %d rows by DuckDB, %d by parquet-go", id, duck[id], pq[id]))
		}
	}
	if len(st.MarkerIDs) == 0 {
		return errors.New("the marker batch was not sent")
	}
	return listed("marker events not stored exactly once", bad, len(st.MarkerIDs))
}

func (p *Pipeline) noExits() error {
	var exits []string
	for _, s := range p.Services() {
		for _, u := range s.Unexpected() {
			exits = append(exits, u+" (its log's end is printed below)")
		}
	}
	if len(exits) == 0 {
		return nil
	}
	return errors.New(strings.Join(exits, "\n"))
}

func (p *Pipeline) rssBound(name string, mib float64) error {
	if got := p.Peaks.PeakMiB(name); got > mib {
		return fmt.Errorf("%s peaked at %.0f MiB", name, got)
	}
	return nil
}

// noneUndecodable: an event the collector accepted must be one the processor and the
// archiver decode (issue 14's "200, then lost": a timestamp in year 10000).
func (p *Pipeline) noneUndecodable() error {
	var errs []error
	for _, m := range []struct {
		s           *chaos.Service
		metric, did string
	}{
		{p.Processor, "clicktrail_processor_undecodable_events_total", "dropped"},
		{p.Archiver, `clicktrail_archiver_undecodable_total{table="events"`, "filed as invalid"},
	} {
		n, err := m.s.Metric(m.metric)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("read the %s's metrics: %w", m.s.Name, err))
		case n > 0:
			errs = append(errs, fmt.Errorf("the %s %s %.0f undecodable events", m.s.Name, m.did, n))
		}
	}
	return errors.Join(errs...)
}

// dimensionsCapped checks every top list of the run's stats for values longer than
// the cap (the 30,000-character paths, referrers, utm sources and names).
func dimensionsCapped(st processor.Stats) error {
	var long []string
	for name, list := range map[string][]processor.Entry{"pages": st.Pages, "events": st.Events, "referrers": st.Referrers,
		"utm sources": st.UTMSources, "browsers": st.Browsers, "devices": st.Devices} {
		for _, e := range list {
			if len(e.Name) > maxDimension {
				long = append(long, fmt.Sprintf("%s: %d bytes (%s)", name, len(e.Name), truncate(e.Name, 40)))
			}
		}
	}
	sort.Strings(long)
	return listed("values longer than the cap", long, len(long))
}

// otherBucket checks the minute of the distinct paths: every pageview counted, at
// most maxDistinct paths of their own, the rest under "(other)".
func (p *Pipeline) otherBucket(ctx context.Context, st *Stage) error {
	if st.OtherMinute.IsZero() {
		return errors.New("the distinct paths were not sent")
	}
	s, err := p.Stats(ctx, st.OtherMinute, st.OtherMinute.Add(time.Minute))
	if err != nil {
		return err
	}
	if s.Totals.Pageviews != int64(st.OtherPaths) {
		return fmt.Errorf("the minute counts %d pageviews, want %d", s.Totals.Pageviews, st.OtherPaths)
	}
	var others int64
	for _, e := range s.Pages {
		if e.Name == other {
			others = e.Count
		}
	}
	if want := int64(st.OtherPaths - maxDistinct); others < want {
		return fmt.Errorf("%q counts %d pageviews, want at least %d (%d paths listed)", other, others, want, len(s.Pages))
	}
	return nil
}

// hourlyFiles checks that the hourly visitor's sessions (closed by the processor
// within seconds of each other) are stored in files placed by when they were
// published: in the hour folders the run spans, in a handful of files, not one per
// hour of event time.
func (p *Pipeline) hourlyFiles(st *Stage) error {
	files, sessions := 0, 0
	folders := map[string]bool{}
	for _, f := range p.Mirror.SessionFiles() {
		n := 0
		for _, s := range f.Sessions {
			if s.AnonymousID == st.HourlyVisitor {
				n++
			}
		}
		if n > 0 {
			files++
			sessions += n
			folders[f.Key[:strings.LastIndexByte(f.Key, '/')]] = true
		}
	}
	hours := int(time.Now().UTC().Truncate(time.Hour).Sub(p.Started.UTC().Truncate(time.Hour))/time.Hour) + 1
	switch {
	case sessions == 0:
		return errors.New("none of the visitor's sessions is stored")
	case len(folders) > hours:
		return fmt.Errorf("%d sessions stored in %d hour folders, want at most %d (the hours of the run)", sessions, len(folders), hours)
	case files > 10:
		return fmt.Errorf("%d sessions stored in %d files, want at most 10", sessions, files)
	}
	return nil
}
