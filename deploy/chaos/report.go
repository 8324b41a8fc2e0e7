package chaos

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Attribute fills in each outcome's accepted, copies, missing, duplicates and
// aggregates from the final checks, for the events sent from the fault's start to
// the next fault's start (the last fault's window runs to the end of the load). An
// event counts by when its request was first refused, if it was: a fault refused it,
// even if it was first sent before the fault began and accepted after the next one;
// otherwise by when it was sent.
// It returns the same figures for the load before the first fault (warmup).
func Attribute(outcomes []Outcome, loadStart time.Time, events []Accepted, copies map[string]int, lake LakeCheck, stats StatsCheck) (warmup Outcome) {
	missing, dup := setOf(lake.Missing), setOf(lake.Duplicated)
	warmup = Outcome{Fault: "load before the faults", Start: loadStart.Add(-time.Minute)}
	rows := append([]*Outcome{&warmup}, ptrs(outcomes)...)
	for i, o := range rows {
		end := time.Now().Add(time.Hour)
		if i+1 < len(rows) {
			end = rows[i+1].Start
		}
		for _, e := range events {
			at := e.Time
			if !e.Refused.IsZero() {
				at = e.Refused
			}
			if at.Before(o.Start) || !at.Before(end) {
				continue
			}
			o.Accepted++
			if n := copies[e.MessageID]; n > 1 {
				o.Copies += n - 1
			}
			if missing[e.MessageID] {
				o.Missing++
			}
			if dup[e.MessageID] {
				o.Duplicates++
			}
		}
		o.AggregatesEqual = stats.MinutesEqual(o.Start, end)
	}
	return warmup
}

func ptrs(os []Outcome) []*Outcome {
	out := make([]*Outcome, len(os))
	for i := range os {
		out[i] = &os[i]
	}
	return out
}

func setOf(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// Table renders the outcomes, and a total line, as the suite prints them.
func Table(profile string, loadStart time.Time, warmup Outcome, outcomes []Outcome, total Outcome) string {
	var b strings.Builder
	fmt.Fprintf(&b, "fault suite, %s profile: accepted/copies/missing/duplicates count the accepted events sent (or first refused) from the fault's start to the next fault's;\n", profile)
	b.WriteString("copies are the extra copies in the events topic the pipeline had to remove; aggregates compare the minutes of that window.\n")
	b.WriteString("resumed is from the fault's start, recovery from the component's return; refused and p99 (answer time) count the requests from the fault's start to the recovery.\n")
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "fault\tat\toutage\tresumed\trecovery\trefused\tp99\taccepted\tcopies\tmissing\tduplicates\taggregates equal\t")
	row := func(o Outcome, at, outage, resumed, recovery string) {
		refused, p99 := strconv.Itoa(o.Refused), "-"
		if o.Requests > 0 {
			refused = fmt.Sprintf("%d of %d (%.1f%%)", o.Refused, o.Requests, 100*float64(o.Refused)/float64(o.Requests))
			p99 = secs(o.P99)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t\n", o.Fault, at, outage, resumed, recovery, refused, p99,
			o.Accepted, o.Copies, o.Missing, o.Duplicates, yesNo(o.AggregatesEqual))
	}
	row(warmup, "0s", "-", "-", "-")
	for _, o := range outcomes {
		at := secs(o.Start.Sub(loadStart))
		outage, resumed, recovery := "-", "-", "not recovered"
		if !o.Back.IsZero() {
			outage = secs(o.Back.Sub(o.Start))
		}
		if !o.Resumed.IsZero() {
			resumed = secs(o.Resumed.Sub(o.Start))
		}
		if !o.Recovered.IsZero() {
			recovery = secs(o.Recovered.Sub(o.Back))
		}
		row(o, at, outage, resumed, recovery)
	}
	row(total, "", "", "", "")
	_ = w.Flush()
	return b.String()
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1fs", d.Seconds()) }

func yesNo(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}
