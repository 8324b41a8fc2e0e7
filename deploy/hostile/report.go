package hostile

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// Table renders the cases' results as the suite prints them: case, expected, actual,
// latency and the collector's RSS after the case.
func Table(profile string, results []Result) string {
	var b strings.Builder
	failed, skipped := 0, 0
	for _, r := range results {
		switch {
		case r.Skipped != "":
			skipped++
		case r.Failed():
			failed++
		}
	}
	var groups []string
	for i, r := range results {
		if i == 0 || r.Case.Group != results[i-1].Case.Group {
			groups = append(groups, r.Case.Group)
		}
	}
	count := map[string]int{}
	for _, r := range results {
		count[r.Case.Group]++
	}
	var per []string
	for _, g := range groups {
		per = append(per, fmt.Sprintf("%s %d", g, count[g]))
	}
	fmt.Fprintf(&b, "hostile suite, %s profile: %d cases (%s), %d failed, %d not run.\n"+
		"result: ok, FAIL (the answer differs), LAKE (the answer is right, what was stored is not: see the errors).\n",
		profile, len(results), strings.Join(per, ", "), failed, skipped)
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "#\tgroup\tcase\texpected\tactual\tlatency\tRSS MiB\tresult\t")
	for _, r := range results {
		c := r.Case
		actual, latency, rss := r.Out.Summary(), fmt.Sprintf("%.0f ms", float64(r.Out.Latency)/float64(time.Millisecond)), fmt.Sprintf("%.0f", float64(r.RSSKiB)/1024)
		result := "ok"
		switch {
		case r.Skipped != "":
			actual, latency, result = r.Skipped, "-", "not run"
		case r.Err != nil:
			result = "FAIL"
		case r.StoredErr != nil:
			result = "LAKE"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", c.Number, c.Group, c.Name, truncate(c.Want.String(), 60), truncate(actual, 70), latency, rss, result)
	}
	_ = w.Flush()
	return b.String()
}

// ChecksTable renders the checks after the corpus.
func ChecksTable(checks []Check) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "after the corpus\tresult\t")
	for _, c := range checks {
		result := "ok"
		if c.Err != nil {
			result = "FAIL: " + truncate(strings.SplitN(c.Err.Error(), "\n", 2)[0], 90)
		}
		fmt.Fprintf(w, "%s\t%s\t\n", c.Name, result)
	}
	_ = w.Flush()
	return b.String()
}
