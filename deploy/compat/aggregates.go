package compat

import (
	"fmt"
	"net/url"
	"sort"

	"github.com/clicktrail/clicktrail/processor"
)

// Aggregates are the processor's numbers the run must produce, computed from the
// stored rows: what the dashboard shows of the clients' events.
type Aggregates struct {
	Events, Pageviews                    map[string]int64
	Referrers, UTMSources                map[string]int64
	Browsers, Devices                    map[string]int64
	TotalEvents, TotalPageviews, Visitor int64
	Sessions                             int64
}

// WantAggregates computes the aggregates of rows (the run's, one per event): events by
// type (track by name), pageviews by path (a screen without one by its name), one
// session per visitor (user key) started by its first event, which gives the session's
// referrer host and utm source, and, for a browser's visitor only, its browser and
// device. browserKey says whether a user key is a browser client's; order gives each
// messageId's place in the order the clients sent them (the order the processor
// reads a visitor's events in).
func WantAggregates(rows map[string][]Row, browserKey func(string) bool, order map[string]int) Aggregates {
	a := Aggregates{Events: map[string]int64{}, Pageviews: map[string]int64{}, Referrers: map[string]int64{},
		UTMSources: map[string]int64{}, Browsers: map[string]int64{}, Devices: map[string]int64{}}
	first := map[string]Row{}
	for _, rs := range rows {
		r := rs[0]
		typ := r.Text("type")
		name := typ
		if typ == "track" {
			name = "track/" + r.Text("event")
		}
		a.Events[name]++
		a.TotalEvents++
		if typ == "page" || typ == "screen" {
			p := r.Text("page_path")
			if p == "" {
				p = r.Text("name")
			}
			a.Pageviews[p]++
			a.TotalPageviews++
		}
		key := r.Text("user_key")
		if f, ok := first[key]; !ok || order[r.Text("message_id")] < order[f.Text("message_id")] {
			first[key] = r
		}
	}
	for key, r := range first {
		a.Visitor++
		a.Sessions++
		if u, err := url.Parse(r.Text("referrer")); err == nil && u.Hostname() != "" {
			a.Referrers[u.Hostname()]++
		}
		if s := r.Text("utm_source"); s != "" {
			a.UTMSources[s]++
		}
		if browserKey(key) {
			a.Browsers[r.Text("browser")]++
			a.Devices[r.Text("device_type")]++
		}
	}
	return a
}

// Compare lists how the processor's stats differ from a, by panel.
func (a Aggregates) Compare(st processor.Stats) []string {
	var out []string
	list := func(panel string, want map[string]int64, got []processor.Entry) {
		g := map[string]int64{}
		for _, e := range got {
			g[e.Name] = e.Count
		}
		for _, k := range sortedKeys(want) {
			if g[k] != want[k] {
				out = append(out, fmt.Sprintf("%s: %q counts %d, want %d", panel, k, g[k], want[k]))
			}
		}
		for _, k := range sortedKeys(g) {
			if _, ok := want[k]; !ok {
				out = append(out, fmt.Sprintf("%s: %q counts %d, want none", panel, k, g[k]))
			}
		}
	}
	list("events", a.Events, st.Events)
	list("pages", a.Pageviews, st.Pages)
	list("referrers", a.Referrers, st.Referrers)
	list("utm sources", a.UTMSources, st.UTMSources)
	list("browsers", a.Browsers, st.Browsers)
	list("devices", a.Devices, st.Devices)
	total := func(name string, got, want int64) {
		if got != want {
			out = append(out, fmt.Sprintf("totals: %s %d, want %d", name, got, want))
		}
	}
	total("events", st.Totals.Events, a.TotalEvents)
	total("pageviews", st.Totals.Pageviews, a.TotalPageviews)
	total("visitors", st.Totals.Visitors, a.Visitor)
	total("sessions", st.Totals.Sessions, a.Sessions)
	sort.Strings(out)
	return out
}
