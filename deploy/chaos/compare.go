package chaos

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/clicktrail/clicktrail/processor"
	"github.com/clicktrail/clicktrail/schemas"
)

// LakeCheck is what the events table holds against the accepted events.
type LakeCheck struct {
	Rows int
	// Missing are accepted events without a row, Duplicated those with more than one;
	// Extra are rows of events neither accepted nor possibly stored (an unconfirmed
	// request's events may be stored: those are counted in Unconfirmed).
	Missing, Duplicated, Extra []string
	Unconfirmed                int
	// ReadersDisagree lists messageIds whose row counts differ between DuckDB and
	// parquet-go.
	ReadersDisagree []string
}

// CheckLake compares DuckDB's rows and parquet-go's counts with the accepted ids
// (and the ids of unconfirmed requests, which may or may not be stored).
func CheckLake(rows []Row, counts map[string]int, accepted []string, unconfirmed map[string]bool) LakeCheck {
	c := LakeCheck{Rows: len(rows)}
	duck := map[string]int{}
	for _, r := range rows {
		duck[r.MessageID]++
	}
	want := map[string]bool{}
	for _, id := range accepted {
		want[id] = true
		switch duck[id] {
		case 0:
			c.Missing = append(c.Missing, id)
		case 1:
		default:
			c.Duplicated = append(c.Duplicated, id)
		}
	}
	for id, n := range duck {
		switch {
		case want[id]:
		case unconfirmed[id] && n == 1:
			c.Unconfirmed++
		case unconfirmed[id]:
			c.Duplicated = append(c.Duplicated, id)
		default:
			c.Extra = append(c.Extra, id)
		}
		if counts[id] != n {
			c.ReadersDisagree = append(c.ReadersDisagree, id)
		}
	}
	for id := range counts {
		if duck[id] == 0 {
			c.ReadersDisagree = append(c.ReadersDisagree, id)
		}
	}
	sort.Strings(c.Missing)
	sort.Strings(c.Duplicated)
	sort.Strings(c.Extra)
	sort.Strings(c.ReadersDisagree)
	return c
}

// CheckTimes checks that each stored event time lies where the collector's clock
// correction must put it: in [Time, Time+Transit] of the simulator's record (with a
// few milliseconds for Parquet's millisecond precision). It returns the offenders.
func CheckTimes(events []Accepted, times map[string]time.Time) []string {
	const slack = 5 * time.Millisecond
	var bad []string
	for _, e := range events {
		t, ok := times[e.MessageID]
		if !ok {
			continue
		}
		if t.Before(e.Time.Add(-slack)) || t.After(e.Time.Add(e.Transit+slack)) {
			bad = append(bad, fmt.Sprintf("%s stored at %s, sent for %s + transit %s", e.MessageID, t.Format(time.StampMilli), e.Time.Format(time.StampMilli), e.Transit))
		}
	}
	sort.Strings(bad)
	return bad
}

// FetchStats asks a processor's stats API for [from, to) by minute.
func FetchStats(ctx context.Context, addr, tenant, readKey string, from, to time.Time) (processor.Stats, error) {
	u := fmt.Sprintf("http://%s/api/v1/stats?tenant=%s&from=%d&to=%d&interval=1m&limit=1000", addr, url.QueryEscape(tenant), from.Unix(), to.Unix())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return processor.Stats{}, err
	}
	req.Header.Set("Authorization", "Bearer "+readKey)
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return processor.Stats{}, fmt.Errorf("stats: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return processor.Stats{}, fmt.Errorf("stats: %s", resp.Status)
	}
	var st processor.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return processor.Stats{}, fmt.Errorf("decode stats: %w", err)
	}
	return st, nil
}

// StatsCheck is the processor's aggregates against the reference.
type StatsCheck struct {
	// Totals, Lists and Sessions describe differences; Minutes the differing minutes.
	Totals, Lists, Sessions []string
	Minutes                 map[int64]string
}

// Equal reports whether nothing differs.
func (c StatsCheck) Equal() bool {
	return len(c.Totals)+len(c.Lists)+len(c.Sessions)+len(c.Minutes) == 0
}

// MinutesEqual reports whether every minute in [from, to] is equal.
func (c StatsCheck) MinutesEqual(from, to time.Time) bool {
	for m := range c.Minutes {
		at := time.Unix(m, 0)
		if !at.Before(from.Truncate(time.Minute)) && !at.After(to) {
			return false
		}
	}
	return true
}

// visitorsNear allows HyperLogLog's error on unique visitors: exact for small sets in
// its sparse form, about 1% beyond.
func visitorsNear(got, want int64) bool {
	d := got - want
	if d < 0 {
		d = -d
	}
	return d <= max(1, want/50)
}

// CompareStats compares a processor's stats (whose range covers every event) and its
// closed sessions with the reference.
func CompareStats(ref *Reference, st processor.Stats, sessions map[string]schemas.Session) StatsCheck {
	c := StatsCheck{Minutes: map[int64]string{}}
	tot := st.Totals
	sessionsWant := int64(len(ref.Sessions))
	if tot.Events != ref.Events || tot.Pageviews != ref.Pageviews || tot.Sessions != sessionsWant || tot.SessionsEnded != sessionsWant ||
		tot.Bounces != ref.Bounces || !visitorsNear(tot.Visitors, int64(ref.Visitors)) {
		c.Totals = append(c.Totals, fmt.Sprintf("totals: got events=%d pageviews=%d sessions=%d ended=%d bounces=%d visitors=%d; want %d %d %d %d %d %d",
			tot.Events, tot.Pageviews, tot.Sessions, tot.SessionsEnded, tot.Bounces, tot.Visitors,
			ref.Events, ref.Pageviews, sessionsWant, sessionsWant, ref.Bounces, ref.Visitors))
	}
	lists := []struct {
		name string
		got  []processor.Entry
		want map[string]int64
	}{
		{"events by type and name", st.Events, ref.ByEvent},
		{"pageviews by path", st.Pages, ref.ByPath},
		{"sessions by referrer", st.Referrers, ref.Referrers},
		{"sessions by utm_source", st.UTMSources, ref.UTMSources},
	}
	for _, l := range lists {
		got := map[string]int64{}
		for _, e := range l.got {
			got[e.Name] = e.Count
		}
		if d := mapDiff(got, l.want); d != "" {
			c.Lists = append(c.Lists, l.name+": "+d)
		}
	}

	series := map[int64]processor.Point{}
	for _, p := range st.Series {
		series[p.Start.Unix()] = p
	}
	for at, m := range ref.Minutes {
		p := series[at]
		if p.Events != m.Events || p.Pageviews != m.Pageviews || p.Sessions != m.Sessions || p.Bounces != m.Bounces || !visitorsNear(p.Visitors, int64(len(m.Keys))) {
			c.Minutes[at] = fmt.Sprintf("%s: got events=%d pageviews=%d sessions=%d bounces=%d visitors=%d; want %d %d %d %d %d",
				time.Unix(at, 0).UTC().Format(time.TimeOnly), p.Events, p.Pageviews, p.Sessions, p.Bounces, p.Visitors,
				m.Events, m.Pageviews, m.Sessions, m.Bounces, len(m.Keys))
		}
	}
	for at, p := range series {
		if ref.Minutes[at] == nil && (p.Events != 0 || p.Sessions != 0 || p.Bounces != 0) {
			c.Minutes[at] = fmt.Sprintf("%s: got events=%d sessions=%d bounces=%d; want none", time.Unix(at, 0).UTC().Format(time.TimeOnly), p.Events, p.Sessions, p.Bounces)
		}
	}

	ms := func(t time.Time) int64 { return t.UnixMilli() }
	for id, w := range ref.Sessions {
		g, ok := sessions[id]
		switch {
		case !ok:
			c.Sessions = append(c.Sessions, "missing session "+id+" of "+w.UserKey)
		case g.UserKey != w.UserKey || g.EventCount != w.Events || g.PageviewCount != w.Pageviews || g.EntryPage != w.Entry || g.ExitPage != w.Exit ||
			g.IsBounce != w.Bounce || g.EndReason != w.Reason || ms(g.StartedAt) != ms(w.Start) || ms(g.EndedAt) != ms(w.End):
			c.Sessions = append(c.Sessions, fmt.Sprintf("session %s of %s: got events=%d pages=%d %s..%s %s→%s bounce=%v %s; want events=%d pages=%d %s..%s %s→%s bounce=%v %s",
				id, w.UserKey, g.EventCount, g.PageviewCount, g.StartedAt.Format(time.StampMilli), g.EndedAt.Format(time.StampMilli), g.EntryPage, g.ExitPage, g.IsBounce, g.EndReason,
				w.Events, w.Pageviews, w.Start.Format(time.StampMilli), w.End.Format(time.StampMilli), w.Entry, w.Exit, w.Bounce, w.Reason))
		}
	}
	for id, g := range sessions {
		if ref.Sessions[id] == nil {
			c.Sessions = append(c.Sessions, fmt.Sprintf("unexpected session %s of %s (%d events, %s)", id, g.UserKey, g.EventCount, g.EndReason))
		}
	}
	sort.Strings(c.Sessions)
	return c
}

func mapDiff(got, want map[string]int64) string {
	var keys []string
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := ""
	for _, k := range keys {
		if got[k] != want[k] {
			out += fmt.Sprintf(" %s got %d want %d;", k, got[k], want[k])
		}
	}
	return out
}
