package processor

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/axiomhq/hyperloglog"
)

// LiveWindow is how far back "visitors live" looks.
const LiveWindow = 5 * time.Minute

// Store holds the merged per-minute aggregates of every tenant: the sum of the
// partial aggregates read from the aggregates topic (counts added, visitor sketches
// merged). It is safe for concurrent use.
//
// It keeps the minutes of the retention window of its processing clock: from the
// minute retention before now to 2·maxFutureSkew after now (twice the sessionizer's
// skew, so that a minute one instance counted is not refused by another whose clock
// is a little behind). A partial outside it is dropped, and older minutes are pruned
// as the clock moves on. Each minute's dimensions are bounded (see Minute.count), so
// the store is bounded by tenants × minutes of the window × 6 × 1001 values of at most
// maxValueBytes, whatever the events.
type Store struct {
	mu        sync.RWMutex
	tenants   map[string]map[int64]*Minute
	retention time.Duration
	now       func() time.Time
	pruned    int64 // the minute (Unix seconds) of the last prune
}

// NewStore returns an empty store keeping retention of minutes before now (its
// processing clock; time.Now when nil) [DefaultRetention when not positive].
func NewStore(retention time.Duration, now func() time.Time) *Store {
	if retention <= 0 {
		retention = DefaultRetention
	}
	if now == nil {
		now = time.Now
	}
	return &Store{tenants: map[string]map[int64]*Minute{}, retention: retention, now: now}
}

// Add merges partial aggregates into the store, and returns how many it dropped:
// outside the window, or not starting on a minute.
func (s *Store) Add(partials []*Minute) (dropped int) {
	lo, hi := s.window()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(lo)
	for _, p := range partials {
		at := p.Start.Unix()
		if at < lo || at > hi || at%60 != 0 {
			dropped++
			continue
		}
		mins := s.tenants[p.Tenant]
		if mins == nil {
			mins = map[int64]*Minute{}
			s.tenants[p.Tenant] = mins
		}
		m := mins[at]
		if m == nil {
			m = NewMinute(p.Tenant, p.Start)
			mins[at] = m
		}
		_ = m.Merge(p) // same tenant and minute: cannot fail
	}
	return dropped
}

// window returns the first and last minute (Unix seconds) the store keeps.
func (s *Store) window() (lo, hi int64) {
	now := s.now()
	return now.Add(-s.retention).Truncate(time.Minute).Unix(), now.Add(2 * maxFutureSkew).Unix()
}

// prune drops the minutes before lo, once a minute.
func (s *Store) prune(lo int64) {
	if lo <= s.pruned {
		return
	}
	s.pruned = lo
	for tenant, mins := range s.tenants {
		for at := range mins {
			if at < lo {
				delete(mins, at)
			}
		}
		if len(mins) == 0 {
			delete(s.tenants, tenant)
		}
	}
}

// Prune drops the minutes that left the window, as Add does (for a store that
// receives nothing).
func (s *Store) Prune() {
	lo, _ := s.window()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(lo)
}

// Len reports how many tenant-minutes the store holds.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, mins := range s.tenants {
		n += len(mins)
	}
	return n
}

// Stats is what the dashboard API answers for one tenant and time range.
type Stats struct {
	Tenant   string    `json:"tenant"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Interval string    `json:"interval"`
	Totals   Totals    `json:"totals"`
	Series   []Point   `json:"series"`
	// Top lists, largest first.
	Pages      []Entry `json:"pages"`
	Events     []Entry `json:"events"`
	Referrers  []Entry `json:"referrers"`
	UTMSources []Entry `json:"utmSources"`
	Browsers   []Entry `json:"browsers"`
	Devices    []Entry `json:"devices"`
	// LiveVisitors are the distinct visitors of the last LiveWindow (by event time).
	LiveVisitors int64 `json:"liveVisitors"`
}

// Totals are the sums over the range; Visitors are distinct over the whole range.
type Totals struct {
	Events               int64   `json:"events"`
	Pageviews            int64   `json:"pageviews"`
	Visitors             int64   `json:"visitors"`
	Sessions             int64   `json:"sessions"`
	SessionsEnded        int64   `json:"sessionsEnded"`
	Bounces              int64   `json:"bounces"`
	BounceRate           float64 `json:"bounceRate"`
	AvgSessionDurationMs float64 `json:"avgSessionDurationMs"`
}

// Point is one interval of the series.
type Point struct {
	Start     time.Time `json:"start"`
	Events    int64     `json:"events"`
	Pageviews int64     `json:"pageviews"`
	Visitors  int64     `json:"visitors"`
	Sessions  int64     `json:"sessions"`
	Bounces   int64     `json:"bounces"`
}

// Entry is one row of a top list.
type Entry struct {
	Name  string `json:"name"`
	Count int64  `json:"count"`
}

// Query sums tenant's minutes in [from, to) into intervals of step (a whole number of
// minutes), keeping limit rows per top list; now places the live window.
func (s *Store) Query(tenant string, from, to time.Time, step time.Duration, limit int, now time.Time) Stats {
	from, to = from.UTC().Truncate(time.Minute), to.UTC()
	step = max(step.Truncate(time.Minute), time.Minute)
	st := Stats{Tenant: tenant, From: from, To: to, Interval: step.String()}
	var all Counts
	total := hyperloglog.New14()
	live := hyperloglog.New14()
	s.mu.RLock()
	mins := s.tenants[tenant]
	for t := from; t.Before(to); t = t.Add(step) {
		p := Point{Start: t}
		sk := hyperloglog.New14()
		for m := t; m.Before(t.Add(step)) && m.Before(to); m = m.Add(time.Minute) {
			mm := mins[m.Unix()]
			if mm == nil {
				continue
			}
			p.Events += mm.TotalEvents()
			p.Pageviews += mm.TotalPageviews()
			p.Sessions += mm.SessionsStarted
			p.Bounces += mm.Bounces
			_ = sk.Merge(mm.Visitors.Sketch)
			all.Add(&mm.Counts)
		}
		p.Visitors = int64(sk.Estimate())
		_ = total.Merge(sk)
		st.Series = append(st.Series, p)
	}
	liveFrom := now.UTC().Add(-LiveWindow).Truncate(time.Minute)
	for m := liveFrom; !m.After(now); m = m.Add(time.Minute) {
		if mm := mins[m.Unix()]; mm != nil {
			_ = live.Merge(mm.Visitors.Sketch)
		}
	}
	s.mu.RUnlock()

	st.Totals = Totals{
		Events: all.TotalEvents(), Pageviews: all.TotalPageviews(), Visitors: int64(total.Estimate()),
		Sessions: all.SessionsStarted, SessionsEnded: all.SessionsEnded, Bounces: all.Bounces,
	}
	if all.SessionsEnded > 0 {
		st.Totals.BounceRate = float64(all.Bounces) / float64(all.SessionsEnded)
		st.Totals.AvgSessionDurationMs = float64(all.SessionDurationMs) / float64(all.SessionsEnded)
	}
	st.LiveVisitors = int64(live.Estimate())
	st.Pages, st.Events = top(all.Pageviews, limit), top(all.Events, limit)
	st.Referrers, st.UTMSources = top(all.Referrers, limit), top(all.UTMSources, limit)
	st.Browsers, st.Devices = top(all.Browsers, limit), top(all.Devices, limit)
	return st
}

// Minutes returns a copy of tenant's counts by minute in [from, to) (for tests and
// tools comparing with a reference).
func (s *Store) Minutes(tenant string, from, to time.Time) map[time.Time]Counts {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[time.Time]Counts{}
	for at, m := range s.tenants[tenant] {
		t := time.Unix(at, 0).UTC()
		if !t.Before(from) && t.Before(to) {
			var c Counts
			c.Add(&m.Counts)
			out[t] = c
		}
	}
	return out
}

func top(m map[string]int64, limit int) []Entry {
	out := make([]Entry, 0, len(m))
	for k, v := range m {
		out = append(out, Entry{k, v})
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}
