package bench

import (
	"fmt"
	"strings"
)

// The adversarial soak (issue 14): deploy/hostile's BenchmarkSoak.
const (
	pkgHostile = "deploy/hostile"
	benchSoak  = "BenchmarkSoak"
)

// Goals of issue 14's benchmark.
const (
	goalSoakRatio       = 1.5 // adversarial peak RSS over the ordinary run's
	goalSlowP99ms       = 100.0
	goalSlowConnections = 2000
	goalSlowHeldShare   = 0.95 // of the slow connections, held on average
)

// soakRows: each service's peak RSS over the adversarial runs against the ordinary
// run of the same count, that every run drained (the adversarial-recent run with no
// event outside the processor's window), and the legitimate requests' latency while
// slow connections are held.
func soakRows(bs *Benchmarks) []Row {
	look := func(unit string) (Figure, bool) { return bs.Lookup(pkgHostile, benchSoak, unit) }
	events := "the same count of"
	if n, ok := look("soak-events"); ok {
		events = num(n.Median())
	}
	rows := soakPeakRows(look, "adversarial",
		fmt.Sprintf("adversarial soak, %s events of distinct paths, names, referrers, browsers, timestamps over centuries: peak RSS", events))
	rows = append(rows, soakDrainedRow(look))
	rows = append(rows, soakPeakRows(look, "adversarial-recent",
		fmt.Sprintf("adversarial soak inside the processor's window, %s events of distinct paths (an eighth of 1-2 KB), names, referrers, browsers, timestamps over the last 47 hours: peak RSS", events))...)
	rows = append(rows, soakRecentRow(look))
	rows = append(rows, slowRows(look)...)
	return rows
}

// soakPeakRows: each service's peak RSS over run (its metrics' prefix) against the
// ordinary run's.
func soakPeakRows(look func(string) (Figure, bool), run, fig string) []Row {
	var rows []Row
	for _, s := range []struct {
		part, goal string
		ok         func(adv, ratio float64) bool
	}{
		{"collector", fmt.Sprintf("≤ %.0f MiB", goalCollectorRSSMiB), func(adv, _ float64) bool { return adv <= goalCollectorRSSMiB }},
		{"processor", fmt.Sprintf("≤ %.1f× the ordinary run", goalSoakRatio), func(_, r float64) bool { return r <= goalSoakRatio }},
		{"archiver", fmt.Sprintf("≤ %.1f× the ordinary run", goalSoakRatio), func(_, r float64) bool { return r <= goalSoakRatio }},
	} {
		adv, okA := look(run + "-" + s.part + "-peak-MiB")
		ord, okO := look("ordinary-" + s.part + "-peak-MiB")
		if !okA || !okO || ord.Median() <= 0 {
			rows = append(rows, notRun(s.part, fig, s.goal))
			continue
		}
		r := adv.Median() / ord.Median()
		rows = append(rows, Row{s.part, fig, withRuns(fmt.Sprintf("%.0f MiB", adv.Median()), adv), fmt.Sprintf("%.0f MiB ordinary run", ord.Median()),
			fmt.Sprintf("%.2f×", r), s.goal, verdict(s.ok(adv.Median(), r))})
	}
	return rows
}

// soakDrainedRow: in both runs, every event was accepted, counted by the processor
// and written by the archiver, and no service exited.
func soakDrainedRow(look func(string) (Figure, bool)) Row {
	const part, fig = "end-to-end", "adversarial soak: events accepted / counted by the processor / written by the archiver; exits"
	goal := "all of them in both runs, no exit"
	n, ok := look("soak-events")
	if !ok {
		return notRun(part, fig, goal)
	}
	var values []string
	all := true
	for _, run := range []string{"ordinary", "adversarial"} {
		var v [5]float64
		for i, unit := range []string{"accepted", "processed", "archived", "exits", "outside"} {
			f, ok := look(run + "-" + unit)
			if !ok {
				return notRun(part, fig, goal)
			}
			v[i] = f.Median()
		}
		all = all && v[0] >= n.Median() && v[1] >= v[0] && v[2] >= v[0] && v[3] == 0
		s := fmt.Sprintf("%s %s / %s / %s", run, num(v[0]), num(v[1]), num(v[2]))
		if v[4] > 0 {
			s += fmt.Sprintf(" (%s outside the processor's window)", num(v[4]))
		}
		if v[3] > 0 {
			s += fmt.Sprintf(", %s exits", num(v[3]))
		}
		values = append(values, s)
	}
	return Row{part, fig, strings.Join(values, "; "), "—", "—", goal, verdict(all)}
}

// slowRows: the legitimate requests' p99 while the slow connections are held, against
// the same load alone, and the collector's peak RSS meanwhile.
func slowRows(look func(string) (Figure, bool)) []Row {
	const part = "collector"
	rate := "legitimate requests"
	if r, ok := look("legit-requests/s"); ok {
		rate = fmt.Sprintf("%s legitimate requests/s of 20 events", num(r.Median()))
	}
	fig := fmt.Sprintf("p99 latency of %s while %s slow connections trickle their bodies", rate, num(goalSlowConnections))
	goal := fmt.Sprintf("≤ %.0f ms, every answer 200, %s held", goalSlowP99ms, num(goalSlowConnections))
	var rows []Row
	p99, ok1 := look("legit-p99-ms")
	p50, ok2 := look("legit-p50-ms")
	non200, ok3 := look("legit-non200")
	reqs, ok4 := look("legit-requests")
	minHeld, ok5 := look("slow-min-held")
	meanHeld, ok6 := look("slow-mean-held")
	if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 {
		v := fmt.Sprintf("%s (p50 %s); %s of %s not 200; at least %s slow connections held (mean %s)", withRuns(ms(p99.Median()), p99), ms(p50.Median()),
			num(non200.Median()), num(reqs.Median()), num(minHeld.Median()), num(meanHeld.Median()))
		base, ratio := "—", "—"
		if b, ok := look("baseline-legit-p99-ms"); ok && b.Median() > 0 {
			base, ratio = ms(b.Median())+" without them", fmt.Sprintf("%.1f×", p99.Median()/b.Median())
		}
		met := p99.Median() <= goalSlowP99ms && non200.Median() == 0 && meanHeld.Median() >= goalSlowHeldShare*goalSlowConnections
		rows = append(rows, Row{part, fig, v, base, ratio, goal, verdict(met)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}

	fig = fmt.Sprintf("peak RSS while %s slow connections are held", num(goalSlowConnections))
	goal = fmt.Sprintf("≤ %.0f MiB", goalCollectorRSSMiB)
	if f, ok := look("slow-collector-peak-MiB"); ok {
		rows = append(rows, Row{part, fig, withRuns(fmt.Sprintf("%.0f MiB", f.Median()), f), "—", "—", goal, verdict(f.Median() <= goalCollectorRSSMiB)})
	} else {
		rows = append(rows, notRun(part, fig, goal))
	}
	return rows
}

// soakRecentRow: in the adversarial-recent run, every event was accepted, counted by
// the processor inside its retention window (none outside it: each was aggregated
// and sessionized) and written by the archiver, and no service exited.
func soakRecentRow(look func(string) (Figure, bool)) Row {
	const part = "end-to-end"
	const fig = "adversarial soak inside the processor's window: events accepted / counted by the processor / written by the archiver; outside its window; exits"
	const goal = "all of them, none outside the processor's window, no exit"
	n, ok := look("soak-events")
	if !ok {
		return notRun(part, fig, goal)
	}
	var v [5]float64
	for i, unit := range []string{"accepted", "processed", "archived", "outside", "exits"} {
		f, ok := look("adversarial-recent-" + unit)
		if !ok {
			return notRun(part, fig, goal)
		}
		v[i] = f.Median()
	}
	s := fmt.Sprintf("%s / %s / %s; %s outside the processor's window; %s exits", num(v[0]), num(v[1]), num(v[2]), num(v[3]), num(v[4]))
	// What the processor's bounds did, when the run reported it (not judged: the
	// bounds' own tests do).
	capped, ok1 := look("adversarial-recent-values-capped")
	buckets, ok2 := look("adversarial-recent-store-buckets")
	commits, ok3 := look("adversarial-recent-commits")
	if ok1 && ok2 && ok3 {
		s += fmt.Sprintf("; the processor cut %s values, held %s buckets, wrote %s commits", num(capped.Median()), num(buckets.Median()), num(commits.Median()))
	}
	met := v[0] >= n.Median() && v[1] >= v[0] && v[2] >= v[0] && v[3] == 0 && v[4] == 0
	return Row{part, fig, s, "—", "—", goal, verdict(met)}
}
