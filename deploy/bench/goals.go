package bench

import (
	"fmt"
	"slices"
	"strings"
)

// Row is one figure of the report against its baseline and goal.
type Row struct {
	Part, Figure string
	// Value and Baseline are formatted with their units; Ratio is value over baseline
	// (or as the goal states it).
	Value, Baseline, Ratio string
	// Goal is the issues' goal ("" when none is set); Verdict is "met", "not met",
	// "not run" or "" (no goal).
	Goal, Verdict string
}

// Verdicts.
const (
	Met    = "met"
	NotMet = "not met"
	NotRun = "not run"
)

// Packages and benchmarks the goals come from.
const (
	pkgArchiver  = "archiver"
	pkgProcessor = "processor"
	pkgE2E       = "deploy/bench"
	pkgCollector = "collector"
	benchPublish = "BenchmarkPublish"
	benchBacklog = "BenchmarkBacklog"
	benchLatency = "BenchmarkLatency"
	benchMemory  = "BenchmarkMemoryPerOpenSession"
	benchScale   = "BenchmarkScaleOut"
	benchStartup = "BenchmarkStartAfterHistory"
	benchE2EThru = "BenchmarkEndToEnd/throughput"
	benchE2ELat  = "BenchmarkEndToEnd/latency"
)

// Goals of the issues.
const (
	goalCollectorVsDecode   = 0.5
	goalCollectorVsNaive    = 5.0
	goalCollectorP99ms      = 20.0
	goalCollectorRSSMiB     = 200.0
	goalOverloadFlat        = 1.10 // the last third's peak over the first third's
	goalRecovery            = 0.9  // of the throughput before the overload
	goalArchiverRatio       = 0.5
	goalPerCore             = 100_000.0
	goalParquetShare        = 0.2
	goalArchiverRSSMiB      = 300.0
	goalProcessorRatio      = 0.6
	goalProcessorP99ms      = 2000.0
	goalBytesPerSession     = 1024.0
	goalScaleOutShare       = 0.35 // peak RSS of one of 4 instances over one alone
	goalReadySeconds        = 10.0
	goalHistoryEvents       = 10_000_000 // the history a new instance's start is measured after
	goalSDKBytes            = 3072
	collectorLatencyRPS     = 1000
	processorLatencyPerSecs = 5000
)

// Rows evaluates every goal on in.
func Rows(in Inputs) []Row {
	var rows []Row
	rows = append(rows, collectorRows(in.Collector)...)
	rows = append(rows, clientRow(&in.Bench))
	rows = append(rows, archiverRows(&in.Bench)...)
	rows = append(rows, processorRows(&in.Bench)...)
	rows = append(rows, sdkRow(in.SDKBytes))
	rows = append(rows, e2eRows(&in.Bench)...)
	rows = append(rows, soakRows(&in.Bench)...)
	return rows
}

func verdict(ok bool) string {
	if ok {
		return Met
	}
	return NotMet
}

func notRun(part, figure, goal string) Row {
	return Row{Part: part, Figure: figure, Value: NotRun, Goal: goal, Verdict: NotRun}
}

// clientRow: the collector's publishing CPU per message with the patched Pulsar client
// against the upstream release, alternated in the same run (deploy/local/bench-client.sh).
func clientRow(bs *Benchmarks) Row {
	const part, fig = "collector", "publishing CPU µs per message, patched Pulsar client vs upstream v0.21.0"
	p, okP := bs.Lookup(pkgCollector, benchPublish+"/client=patched", "cpu-µs/msg")
	u, okU := bs.Lookup(pkgCollector, benchPublish+"/client=upstream", "cpu-µs/msg")
	if !okP || !okU || p.Median() <= 0 {
		return notRun(part, fig, "")
	}
	return Row{part, fig, withRuns(fmt.Sprintf("%.1f µs", p.Median()), p), withRuns(fmt.Sprintf("%.1f µs upstream", u.Median()), u),
		fmt.Sprintf("%.2f× less", u.Median()/p.Median()), "", ""}
}

func collectorRows(c CollectorRuns) []Row {
	const part = "collector"
	col, okC := c.Runs["collector"]
	dec, okD := c.Runs["decode"]
	naive, okN := c.Runs["naive"]
	var rows []Row

	goal := fmt.Sprintf("≥ %.1f of decode-only", goalCollectorVsDecode)
	fig := "events/s, 200 after Pulsar's acknowledgement, vs decode-only"
	if okC && okD && dec.EventsPerSecond > 0 {
		r := col.EventsPerSecond / dec.EventsPerSecond
		rows = append(rows, Row{part, fig, col.ofRounds(num(col.EventsPerSecond), "events_per_second", num),
			dec.ofRounds(num(dec.EventsPerSecond)+" decode-only", "events_per_second", num), fmt.Sprintf("%.2f", r), goal, verdict(r >= goalCollectorVsDecode)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}

	goal = fmt.Sprintf("≥ %.0f×", goalCollectorVsNaive)
	fig = "events/s vs a naive handler with a synchronous Send per event"
	if okC && okN && naive.EventsPerSecond > 0 {
		r := col.EventsPerSecond / naive.EventsPerSecond
		rows = append(rows, Row{part, fig, num(col.EventsPerSecond), naive.ofRounds(num(naive.EventsPerSecond)+" naive", "events_per_second", num), fmt.Sprintf("%.1f×", r), goal, verdict(r >= goalCollectorVsNaive)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}

	goal = fmt.Sprintf("≤ %.0f ms, every answer 200, the rate reached", goalCollectorP99ms)
	fig = fmt.Sprintf("p99 latency at %s requests/s", num(collectorLatencyRPS))
	if r, ok := c.Runs[fmt.Sprintf("collector-%drps", collectorLatencyRPS)]; ok {
		reached := r.RequestsPerSecond >= 0.95*collectorLatencyRPS
		v := fmt.Sprintf("%s (p50 %s) at %s req/s; %s; %s", r.ofRounds(ms(r.P99ms), "p99_ms", ms), ms(r.P50ms), num(r.RequestsPerSecond), r.StatusText(), highestFastRate(c))
		rows = append(rows, Row{part, fig, v, "—", "—", goal, verdict(r.P99ms <= goalCollectorP99ms && r.OnlyOK() && reached)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}

	goal = fmt.Sprintf("≤ %.0f MiB", goalCollectorRSSMiB)
	fig = "peak RSS at full load and at the fixed rates"
	var peak int64
	for name, r := range c.Runs {
		if _, rated := rpsOf(name); name == "collector" || rated {
			peak = max(peak, r.PeakRSSKiB)
		}
	}
	if peak > 0 {
		base := "—"
		if dec.PeakRSSKiB > 0 {
			base = mib(dec.PeakRSSKiB) + " decode-only"
		}
		rows = append(rows, Row{part, fig, mib(peak), base, "—", goal, verdict(float64(peak)/1024 <= goalCollectorRSSMiB)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}

	over, okO := c.Runs["overload"]
	goal = fmt.Sprintf("flat: last third's peak ≤ %.2f× the first third's", goalOverloadFlat)
	fig = "10× overload: resident memory, sampled every second"
	if s := c.OverloadRSSKiB; len(s) >= 3 {
		third := max(1, len(s)/3)
		first, last := maxOf(s[:third]), maxOf(s[len(s)-third:])
		r := float64(last) / float64(max(first, 1))
		rows = append(rows, Row{part, fig, mib(last) + " last third", mib(first) + " first third", fmt.Sprintf("%.2f", r), goal, verdict(r <= goalOverloadFlat)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}
	goal = fmt.Sprintf("≤ %.0f MiB", goalCollectorRSSMiB)
	fig = "10× overload: peak RSS"
	if okO && over.PeakRSSKiB > 0 {
		rows = append(rows, Row{part, fig, mib(over.PeakRSSKiB), "—", "—", goal, verdict(float64(over.PeakRSSKiB)/1024 <= goalCollectorRSSMiB)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}
	goal = "excess refused with 429/503, nothing unanswered"
	fig = "10× overload: answers"
	if okO {
		ok := true
		for code, n := range over.Status {
			if code != "200" && code != "429" && code != "503" && n > 0 {
				ok = false
			}
		}
		v := fmt.Sprintf("%s at %s req/s; refusals p99 %s", over.StatusText(), num(over.RequestsPerSecond), ms(over.RefusedP99ms))
		rows = append(rows, Row{part, fig, v, "—", "—", goal, verdict(ok)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}
	goal = fmt.Sprintf("≥ %.1f of before", goalRecovery)
	fig = "events/s right after the overload (recovery)"
	if rec, ok := c.Runs["recovery"]; ok && okC && col.EventsPerSecond > 0 {
		r := rec.EventsPerSecond / col.EventsPerSecond
		rows = append(rows, Row{part, fig, num(rec.EventsPerSecond), num(col.EventsPerSecond) + " before", fmt.Sprintf("%.2f", r), goal, verdict(r >= goalRecovery)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}
	return rows
}

// highestFastRate names the highest fixed rate the collector served with p99 within
// the goal, every answer 200 and the rate reached, as bench-collector.sh does.
func highestFastRate(c CollectorRuns) string {
	best := "p99 over the goal at every fixed rate"
	for _, r := range c.Rated() {
		if r.P99ms <= goalCollectorP99ms && r.OnlyOK() && r.RequestsPerSecond >= 0.95*r.TargetRate {
			best = fmt.Sprintf("p99 ≤ %.0f ms up to %s req/s", goalCollectorP99ms, num(r.TargetRate))
		}
	}
	return best
}

func archiverRows(bs *Benchmarks) []Row {
	const part = "archiver"
	var rows []Row
	rows = append(rows, backlogRatioRow(bs, part, pkgArchiver, "archiver-events/s", goalArchiverRatio))
	rows = append(rows, perCoreRow(bs, part, pkgArchiver, "archiver-events/cpu-s"))

	goal := fmt.Sprintf("≤ %.0f%% of the JSON", 100*goalParquetShare)
	fig := "Parquet bytes per event (backlog)"
	pq, ok1 := bs.Lookup(pkgArchiver, benchBacklog, "parquet-B/event")
	js, ok2 := bs.Lookup(pkgArchiver, benchBacklog, "json-B/event")
	if ok1 && ok2 && js.Median() > 0 {
		r := pq.Median() / js.Median()
		rows = append(rows, Row{part, fig, withRuns(num(pq.Median())+" B", pq), num(js.Median()) + " B of JSON", fmt.Sprintf("%.1f%%", 100*r), goal, verdict(r <= goalParquetShare)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}

	goal = fmt.Sprintf("≤ %.0f MiB", goalArchiverRSSMiB)
	fig = "peak RSS draining the backlog, 128 MiB files"
	if f, ok := bs.Lookup(pkgArchiver, benchBacklog, "archiver-peak-RSS-MiB"); ok {
		rows = append(rows, Row{part, fig, withRuns(num(f.Median())+" MiB", f), "—", "—", goal, verdict(f.Median() <= goalArchiverRSSMiB)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}
	return rows
}

func processorRows(bs *Benchmarks) []Row {
	const part = "processor"
	var rows []Row
	rows = append(rows, backlogRatioRow(bs, part, pkgProcessor, "processor-events/s", goalProcessorRatio))
	rows = append(rows, perCoreRow(bs, part, pkgProcessor, "processor-events/cpu-s"))

	goal := fmt.Sprintf("≤ %s", ms(goalProcessorP99ms))
	fig := fmt.Sprintf("event to dashboard latency p99 at %s events/s", num(processorLatencyPerSecs))
	if p99, f, ok := latencyFigure(bs, pkgProcessor, benchLatency, "p99", false); ok {
		base, ratio := "—", "—"
		if b, _, ok := latencyFigure(bs, pkgProcessor, benchLatency, "p99", true); ok && b > 0 {
			base, ratio = ms(b)+" baseline", fmt.Sprintf("%.1f×", p99/b)
		}
		v := ms(p99)
		if p50, _, ok := latencyFigure(bs, pkgProcessor, benchLatency, "p50", false); ok {
			v += " (p50 " + ms(p50) + ")"
		}
		rows = append(rows, Row{part, fig, withRuns(v, f), base, ratio, goal, verdict(p99 <= goalProcessorP99ms)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}

	rows = append(rows, scaleOutRows(bs)...)
	rows = append(rows, startupRow(bs))

	goal = fmt.Sprintf("≤ %s B", num(goalBytesPerSession))
	fig = "heap per open session (1,000,000 open)"
	if f, ok := bs.Lookup(pkgProcessor, benchMemory, "bytes/session"); ok {
		rows = append(rows, Row{part, fig, withRuns(num(f.Median())+" B", f), "—", "—", goal, verdict(f.Median() <= goalBytesPerSession)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}
	return rows
}

// scaleOutRows: BenchmarkScaleOut's largest peak RSS of 4 instances against one
// alone, and the longest time from a new instance's start to processing.
func scaleOutRows(bs *Benchmarks) []Row {
	const part = "processor"
	var rows []Row
	goal := fmt.Sprintf("≤ %.2f of one instance's", goalScaleOutShare)
	fig := "peak RSS per instance with 4 instances (the largest), same stream and open sessions"
	one, ok1 := bs.Lookup(pkgProcessor, benchScale, "x1-peak-MiB")
	four, ok4 := bs.Lookup(pkgProcessor, benchScale, "x4-peak-MiB")
	if ok1 && ok4 && one.Median() > 0 {
		r := four.Median() / one.Median()
		rows = append(rows, Row{part, fig, withRuns(fmt.Sprintf("%.0f MiB", four.Median()), four), withRuns(fmt.Sprintf("%.0f MiB alone", one.Median()), one),
			fmt.Sprintf("%.2f", r), goal, verdict(r <= goalScaleOutShare)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}
	goal = fmt.Sprintf("≤ %.0f s", goalReadySeconds)
	fig = "a new instance on the benchmark's history: start to processing (the longest of 1, 2 and 4)"
	worst, found := 0.0, false
	for _, unit := range []string{"x1-processing-s", "x2-processing-s", "x4-processing-s"} {
		if f, ok := bs.Lookup(pkgProcessor, benchScale, unit); ok {
			worst, found = max(worst, f.Median()), true
		}
	}
	if found {
		rows = append(rows, Row{part, fig, fmt.Sprintf("%.1f s", worst), "—", "—", goal, verdict(worst <= goalReadySeconds)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}
	return rows
}

// startupRow: BenchmarkStartAfterHistory's new instance, the time from its start to
// processing after goalHistoryEvents events of history. After a smaller history (the
// benchmark's default) the figure is shown but the goal was not measured: "not run".
func startupRow(bs *Benchmarks) Row {
	const part = "processor"
	goal := fmt.Sprintf("≤ %.0f s after ≥ %s events of history", goalReadySeconds, num(goalHistoryEvents))
	fig := "a new instance after a long history: start to ready and processing (from snapshots)"
	proc, ok1 := bs.Lookup(pkgProcessor, benchStartup, "processing-s")
	hist, ok2 := bs.Lookup(pkgProcessor, benchStartup, "history-events")
	if !ok1 || !ok2 {
		return notRun(part, fig, goal)
	}
	events := slices.Min(hist.Values)
	v := fmt.Sprintf("%.1f s", proc.Median())
	if ready, ok := bs.Lookup(pkgProcessor, benchStartup, "ready-s"); ok {
		v += fmt.Sprintf(" (ready %.1f s)", ready.Median())
	}
	v += " after " + num(events) + " events"
	if open, ok := bs.Lookup(pkgProcessor, benchStartup, "open-sessions"); ok {
		v += ", " + num(open.Median()) + " open sessions"
	}
	if events < goalHistoryEvents {
		return Row{part, fig, withRuns(v+": fewer than the goal's", proc), "—", "—", goal, NotRun}
	}
	return Row{part, fig, withRuns(v, proc), "—", "—", goal, verdict(proc.Median() <= goalReadySeconds)}
}

// backlogRatioRow: a BenchmarkBacklog's rate against its consume-and-ack baseline.
func backlogRatioRow(bs *Benchmarks, part, pkg, unit string, goalRatio float64) Row {
	goal := fmt.Sprintf("≥ %.1f of consume-and-ack", goalRatio)
	fig := "backlog drained, events/s, vs a consumer that only acknowledges"
	v, ok1 := bs.Lookup(pkg, benchBacklog, unit)
	b, ok2 := bs.Lookup(pkg, benchBacklog, "baseline-events/s")
	if !ok1 || !ok2 || b.Median() == 0 {
		return notRun(part, fig, goal)
	}
	// The median of the runs' own ratios, as benchstat would give, when reported.
	r := v.Median() / b.Median()
	if f, ok := bs.Lookup(pkg, benchBacklog, "ratio"); ok {
		r = f.Median()
	}
	return Row{part, fig, withRuns(num(v.Median()), v), num(b.Median()) + " consume-and-ack", fmt.Sprintf("%.2f", r), goal, verdict(r >= goalRatio)}
}

func perCoreRow(bs *Benchmarks, part, pkg, unit string) Row {
	goal := fmt.Sprintf("≥ %s per core", num(goalPerCore))
	fig := "events per CPU-second (backlog)"
	f, ok := bs.Lookup(pkg, benchBacklog, unit)
	if !ok {
		return notRun(part, fig, goal)
	}
	return Row{part, fig, withRuns(num(f.Median()), f), "—", "—", goal, verdict(f.Median() >= goalPerCore)}
}

func sdkRow(bytes int64) Row {
	goal := fmt.Sprintf("≤ %s B (3 KB)", num(goalSDKBytes))
	fig := "script-tag build, minified and gzipped"
	if bytes == 0 {
		return notRun("sdk-js", fig, goal)
	}
	return Row{"sdk-js", fig, num(float64(bytes)) + " B", "—", "—", goal, verdict(bytes <= goalSDKBytes)}
}

// e2eRows: the end-to-end benchmark's figures against the raw Pulsar baseline of the
// same run. The issues set no goal for these.
func e2eRows(bs *Benchmarks) []Row {
	const part = "end-to-end"
	var rows []Row
	base, okB := bs.Lookup(pkgE2E, benchE2EThru, "baseline-events/s")
	for _, t := range []struct{ unit, fig string }{
		{"accepted-events/s", "events/s until every request was answered 200"},
		{"dashboard-events/s", "events/s until the dashboard's API counts them all"},
		{"parquet-events/s", "events/s until every row is in Parquet in the object store"},
	} {
		f, ok := bs.Lookup(pkgE2E, benchE2EThru, t.unit)
		if !ok {
			rows = append(rows, notRun(part, t.fig, ""))
			continue
		}
		row := Row{part, t.fig, withRuns(num(f.Median()), f), "—", "—", "", ""}
		if okB && base.Median() > 0 {
			row.Baseline = num(base.Median()) + " raw Pulsar round trip"
			row.Ratio = fmt.Sprintf("%.2f", f.Median()/base.Median())
		}
		rows = append(rows, row)
	}
	for _, t := range []struct{ what, unit, baseline, baseName string }{
		{"the 200", "ack", "baseline-publish", "raw Pulsar publish"},
		{"the dashboard's API", "dashboard", "baseline-consume", "raw Pulsar consume"},
		{"Parquet in the object store", "parquet", "baseline-consume", "raw Pulsar consume"},
	} {
		for _, p := range []string{"p50", "p99"} {
			fig := fmt.Sprintf("latency, send to %s, %s", t.what, p)
			f, ok := bs.Lookup(pkgE2E, benchE2ELat, t.unit+"-"+p+"-ms")
			if !ok {
				rows = append(rows, notRun(part, fig, ""))
				continue
			}
			row := Row{part, fig, withRuns(ms(f.Median()), f), "—", "—", "", ""}
			if b, ok := bs.Lookup(pkgE2E, benchE2ELat, t.baseline+"-"+p+"-ms"); ok && b.Median() > 0 {
				row.Baseline = ms(b.Median()) + " " + t.baseName
				row.Ratio = fmt.Sprintf("%.1f×", f.Median()/b.Median())
			}
			rows = append(rows, row)
		}
	}
	// How busy the machine was: on a shared one, other work slows the pipeline down.
	thru, ok1 := bs.Lookup(pkgE2E, benchE2EThru, "machine-cores")
	lat, ok2 := bs.Lookup(pkgE2E, benchE2ELat, "machine-cores")
	if ok1 || ok2 {
		v := func(f Figure, ok bool) string {
			if !ok {
				return NotRun
			}
			return fmt.Sprintf("%.2f", f.Median())
		}
		rows = append(rows, Row{part, "the whole machine's CPU in use, throughput / latency phase (cores; the services, the broker, the S3 server, the load and anything else)",
			v(thru, ok1) + " / " + v(lat, ok2), "—", "—", "", ""})
	}
	if f, ok := bs.Lookup(pkgE2E, benchE2ELat, "sent-events/s"); ok && len(rows) > 0 {
		for i := range rows {
			if strings.HasPrefix(rows[i].Figure, "latency") {
				rows[i].Figure += fmt.Sprintf(" (at %s events/s)", num(f.Median()))
				break
			}
		}
	}
	return rows
}

// latencyFigure finds a latency percentile among the units of a benchmark (or of its
// sub-benchmarks, "BenchmarkLatency/5000"): the first unit naming pct ("p99-ms",
// "latency-p99-s", ...), a baseline's ("baseline-p99-ms") when baseline is set,
// converted to milliseconds.
func latencyFigure(bs *Benchmarks, pkg, name, pct string, baseline bool) (msValue float64, f Figure, ok bool) {
	for _, f := range bs.All() {
		if !pkgMatches(f.Pkg, pkg) || f.Name != name && !strings.HasPrefix(f.Name, name+"/") {
			continue
		}
		l := strings.ToLower(f.Unit)
		if !strings.Contains(l, pct) || strings.Contains(l, "baseline") != baseline {
			continue
		}
		v := f.Median()
		switch {
		case strings.HasSuffix(l, "ns"):
			return v / 1e6, f, true
		case strings.HasSuffix(l, "us") || strings.HasSuffix(l, "µs"):
			return v / 1e3, f, true
		case strings.HasSuffix(l, "ms"):
			return v, f, true
		case strings.HasSuffix(l, "s"):
			return v * 1e3, f, true
		}
	}
	return 0, Figure{}, false
}
