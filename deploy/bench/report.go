package bench

import (
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// Report writes the markdown report of in: the goals table, every benchmark figure
// (medians), the collector's load runs, and the files read. command is the command
// that produced the inputs (shown in the report), generated its time.
func Report(w io.Writer, in Inputs, command string, generated time.Time) error {
	p := &printer{w: w}
	p.f("## Benchmark report\n\n")
	p.f("Generated %s by `%s`", generated.Format("2006-01-02 15:04 MST"), command)
	if in.Bench.CPU != "" {
		p.f(" on %s", in.Bench.CPU)
	}
	p.f(". Each figure against the baseline measured in the same run; figures of a benchmark run several times are medians.\n\n")

	rows := Rows(in)
	goals, met, notMet, notRun := 0, 0, 0, 0
	for _, r := range rows {
		if r.Goal == "" {
			continue
		}
		goals++
		switch r.Verdict {
		case Met:
			met++
		case NotMet:
			notMet++
		case NotRun:
			notRun++
		}
	}
	p.f("Of %d goals: %d met, %d not met, %d not run.\n\n", goals, met, notMet, notRun)
	p.f("| part | figure | value | baseline (same run) | ratio | goal | |\n|---|---|---:|---:|---:|---|---|\n")
	for _, r := range rows {
		goal, v := r.Goal, r.Verdict
		if goal == "" {
			goal = "none set"
		}
		if v == NotMet {
			v = "**not met**"
		}
		if r.Value == NotRun {
			r.Baseline, r.Ratio = "", ""
		}
		p.f("| %s | %s | %s | %s | %s | %s | %s |\n", r.Part, r.Figure, cell(r.Value), cell(r.Baseline), cell(r.Ratio), goal, v)
	}

	if runs := in.Collector.Runs; len(runs) > 0 {
		p.f("\n### Collector load runs (deploy/local/bench-collector.sh)\n\n")
		p.f("| run | requests/s | events/s | vs decode-only | p50 | p99 | peak RSS | CPU cores: target / broker / machine | target CPU µs/event | answers |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
		dec := runs["decode"].EventsPerSecond
		for _, r := range collectorOrder(in.Collector) {
			vs := "—"
			if dec > 0 {
				vs = fmt.Sprintf("%.2f", r.EventsPerSecond/dec)
			}
			rss := "—"
			if r.PeakRSSKiB > 0 {
				rss = mib(r.PeakRSSKiB)
			}
			cores, per := "—", "—"
			if c := r.CPU; c != nil {
				cores = fmt.Sprintf("%.2f / %.2f / %.2f", c.Target, c.Broker, c.Machine)
			}
			if us, ok := r.MicrosPerEvent(); ok {
				per = fmt.Sprintf("%.0f", us)
			}
			p.f("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Name, num(r.RequestsPerSecond), num(r.EventsPerSecond), vs, ms(r.P50ms), ms(r.P99ms), rss, cores, per, r.StatusText())
		}
	}

	if all := in.Bench.All(); len(all) > 0 {
		p.f("\n### Every benchmark figure\n\n")
		p.f("| package | benchmark | unit | median | runs | range |\n|---|---|---|---:|---:|---:|\n")
		for _, f := range all {
			spread := "—"
			if len(f.Values) > 1 {
				spread = num(slices.Min(f.Values)) + " – " + num(slices.Max(f.Values))
			}
			p.f("| %s | %s | %s | %s | %d | %s |\n", shortPkg(f.Pkg), f.Name, f.Unit, num(f.Median()), len(f.Values), spread)
		}
	}

	p.f("\n### Inputs\n\n")
	if in.SDKFrom != "" {
		p.f("- SDK size from %s\n", in.SDKFrom)
	}
	for _, s := range in.Collector.Skipped {
		p.f("- not read: %s\n", s)
	}
	if len(in.Files) == 0 {
		p.f("- no input files found\n")
	}
	for _, f := range in.Files {
		p.f("- `%s`, written %s\n", f.Path, f.ModTime.Format("2006-01-02 15:04"))
	}
	return p.err
}

// collectorOrder: the baselines, the collector, the fixed rates, the overload, the
// recovery.
func collectorOrder(c CollectorRuns) []LoadRun {
	var out []LoadRun
	for _, n := range []string{"decode", "collector", "naive"} {
		if r, ok := c.Runs[n]; ok {
			out = append(out, r)
		}
	}
	out = append(out, c.Rated()...)
	for _, n := range []string{"overload", "recovery"} {
		if r, ok := c.Runs[n]; ok {
			out = append(out, r)
		}
	}
	return out
}

func shortPkg(p string) string {
	if s, ok := strings.CutPrefix(p, "github.com/clicktrail/clicktrail/"); ok {
		return s
	}
	if p == "" {
		return "—"
	}
	return path.Base(p)
}

func cell(s string) string {
	if s == "" {
		return ""
	}
	return strings.ReplaceAll(s, "|", "\\|")
}

type printer struct {
	w   io.Writer
	err error
}

func (p *printer) f(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
