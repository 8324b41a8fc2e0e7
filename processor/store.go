package processor

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/clicktrail/clicktrail/processor/protocol"
)

// LiveWindow is how far back "visitors live" looks.
const LiveWindow = 5 * time.Minute

// Resolutions of the store, finest first: every partial is merged into a bucket of
// each (its minute, its hour and its UTC day), so a range is answered from the
// coarsest buckets its interval allows, and minutes need not be kept for long.
const (
	byMinute = iota
	byHour
	byDay
	numTiers
)

var tierWidth = [numTiers]time.Duration{time.Minute, time.Hour, 24 * time.Hour}
var tierName = [numTiers]string{"minute", "hour", "day"}

// Keep is how many of the latest buckets of each resolution the store keeps: the
// current one and those before it.
type Keep struct{ Minutes, Hours, Days int }

// DefaultKeep keeps 6 hours by minute (the dashboard's last hour, and the live
// visitors), 35 days by hour and 400 days by day.
var DefaultKeep = Keep{Minutes: 360, Hours: 840, Days: 400}

func (k Keep) count(tier int) int { return [numTiers]int{k.Minutes, k.Hours, k.Days}[tier] }

// Store holds the merged aggregates of every tenant: the sum of the partial minutes
// read from the aggregates topics (counts added, visitor sketches merged), by minute,
// by hour and by day. It is safe for concurrent use.
//
// A partial counts when its minute lies in the retention window of the store's
// processing clock: from retention before now to 2·MaxFutureSkew after now (twice the
// sessionizer's skew, so that a minute one instance counted is not refused by another
// whose clock is a little behind); others are dropped. It is merged into its minute,
// its hour and its day, each of which the store keeps while it is among the latest
// Keep buckets of its resolution. A bucket of an hour or a day is therefore exactly
// the merge of its minutes (Minute.Merge is commutative and associative, and bounds
// the named values by the same rule), whichever minutes were pruned since. Each
// bucket's dimensions are bounded (see Minute.Count), so the store is bounded by
// tenants × (Keep.Minutes + Keep.Hours + Keep.Days + a few) × 6 × 1001 values of at
// most MaxValueBytes, whatever the events.
//
// What each namespace's aggregates topic brought is held apart, with the position of
// the last message taken and the last part of each writer's aggregates, so that one
// namespace's part can be written to a snapshot and read back consistently (see
// WriteSnapshot); a query adds the namespaces up.
type Store struct {
	mu        sync.RWMutex
	spaces    map[string]*space // by namespace, "tenant/namespace"
	retention time.Duration
	keep      Keep
	now       func() time.Time
	pruned    int64 // the minute (Unix seconds) of the last prune
}

// space is what one namespace's aggregates topic brought.
type space struct {
	tenants map[string]*[numTiers]map[int64]*protocol.Minute
	// pos is the serialized id of the last message taken, seen the last part taken
	// of each writer's aggregates.
	pos  []byte
	seen map[string]seenPart
}

// seenPart is the last part taken of a writer's aggregates, and its publish time.
type seenPart struct {
	aggID
	At int64 // Unix seconds
}

// seenTTL is how long a writer is remembered after its last aggregate: longer than
// the session-state topic keeps its commits (7 days), so no commit of a writer
// forgotten can still be read.
const seenTTL = 8 * 24 * time.Hour

// NewStore returns an empty store counting retention of minutes before now (its
// processing clock; time.Now when nil) [DefaultRetention when not positive], and
// keeping DefaultKeep.
func NewStore(retention time.Duration, now func() time.Time) *Store {
	return NewStoreKeeping(retention, DefaultKeep, now)
}

// NewStoreKeeping is NewStore keeping keep (DefaultKeep's for counts not positive).
func NewStoreKeeping(retention time.Duration, keep Keep, now func() time.Time) *Store {
	if retention <= 0 {
		retention = protocol.DefaultRetention
	}
	if now == nil {
		now = time.Now
	}
	keep.Minutes = cmp.Or(max(keep.Minutes, 0), DefaultKeep.Minutes)
	keep.Hours = cmp.Or(max(keep.Hours, 0), DefaultKeep.Hours)
	keep.Days = cmp.Or(max(keep.Days, 0), DefaultKeep.Days)
	return &Store{spaces: map[string]*space{}, retention: retention, keep: keep, now: now}
}

// Add merges partial aggregates that come from no topic into the store, and returns
// how many it dropped: outside the window, or not starting on a minute.
func (s *Store) Add(partials []*protocol.Minute) (dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.merge(s.space(""), partials)
}

// Take merges one message of namespace ns's aggregates topic, found at pos
// (serialized) and published at publish: partials, the part id of writer's
// aggregates. A part at or before the last taken of its writer is a repeat and
// changes nothing but the position: a writer's parts appear in order (its own are
// published in order; a recovering instance publishes what it misses in order, after
// what it has seen). dropped is as for Add.
func (s *Store) Take(ns string, pos []byte, publish time.Time, writer string, id aggID, partials []*protocol.Minute) (repeat bool, dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.space(ns)
	sp.pos = pos
	if last, ok := sp.seen[writer]; ok && id.repeats(last.aggID) {
		return true, 0
	}
	sp.seen[writer] = seenPart{id, publish.Unix()}
	return false, s.merge(sp, partials)
}

// Skip notes that the message at pos of ns's aggregates topic was read and skipped.
func (s *Store) Skip(ns string, pos []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.space(ns).pos = pos
}

// Seen reports whether every part of writer's aggregate seq was taken from ns.
func (s *Store) Seen(ns, writer string, seq uint64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sp := s.spaces[ns]
	if sp == nil {
		return false
	}
	last, ok := sp.seen[writer]
	return ok && (seq < last.seq || seq == last.seq && last.part >= last.parts)
}

func (s *Store) space(ns string) *space {
	sp := s.spaces[ns]
	if sp == nil {
		sp = &space{tenants: map[string]*[numTiers]map[int64]*protocol.Minute{}, seen: map[string]seenPart{}}
		s.spaces[ns] = sp
	}
	return sp
}

// merge adds partials into sp; s.mu is held.
func (s *Store) merge(sp *space, partials []*protocol.Minute) (dropped int) {
	now := s.now()
	lo, hi := s.window(now)
	s.prune(now)
	for _, p := range partials {
		at := p.Start.Unix()
		if at < lo || at > hi || at%60 != 0 {
			dropped++
			continue
		}
		tiers := sp.tenants[p.Tenant]
		if tiers == nil {
			tiers = &[numTiers]map[int64]*protocol.Minute{}
			sp.tenants[p.Tenant] = tiers
		}
		for tier, w := range tierWidth {
			start := p.Start.UTC().Truncate(w)
			if start.Unix() < s.horizon(tier, now) {
				continue
			}
			if tiers[tier] == nil {
				tiers[tier] = map[int64]*protocol.Minute{}
			}
			b := tiers[tier][start.Unix()]
			if b == nil {
				b = &protocol.Minute{Tenant: p.Tenant, Start: start, Visitors: protocol.Sketch{Sketch: hyperloglog.New14()}}
				tiers[tier][start.Unix()] = b
			}
			b.Fold(p)
		}
	}
	return dropped
}

// window returns the first and last minute (Unix seconds) whose partials count.
func (s *Store) window(now time.Time) (lo, hi int64) {
	return now.Add(-s.retention).Truncate(time.Minute).Unix(), now.Add(2 * protocol.MaxFutureSkew).Unix()
}

// horizon returns the start (Unix seconds) of the oldest bucket of tier kept at now.
func (s *Store) horizon(tier int, now time.Time) int64 {
	w := tierWidth[tier]
	return now.UTC().Truncate(w).Add(-time.Duration(s.keep.count(tier)-1) * w).Unix()
}

// prune drops the buckets older than their tier's horizon and the writers not seen
// for seenTTL, once a minute; s.mu is held.
func (s *Store) prune(now time.Time) {
	at := now.Truncate(time.Minute).Unix()
	if at <= s.pruned {
		return
	}
	s.pruned = at
	var lo [numTiers]int64
	for tier := range lo {
		lo[tier] = s.horizon(tier, now)
	}
	for _, sp := range s.spaces {
		for tenant, tiers := range sp.tenants {
			n := 0
			for tier, buckets := range tiers {
				for start := range buckets {
					if start < lo[tier] {
						delete(buckets, start)
					}
				}
				n += len(buckets)
			}
			if n == 0 {
				delete(sp.tenants, tenant)
			}
		}
		for w, last := range sp.seen {
			if now.Sub(time.Unix(last.At, 0)) > seenTTL {
				delete(sp.seen, w)
			}
		}
	}
}

// Prune drops the buckets that left the store, as Add does (for a store that
// receives nothing).
func (s *Store) Prune() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prune(s.now())
}

// Len reports how many buckets (of a tenant and a minute, hour or day) the store holds.
func (s *Store) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, sp := range s.spaces {
		for _, tiers := range sp.tenants {
			for _, buckets := range tiers {
				n += len(buckets)
			}
		}
	}
	return n
}

// tier returns the buckets of tenant's tier in every namespace; s.mu is held.
func (s *Store) tier(tenant string, tier int) []map[int64]*protocol.Minute {
	var out []map[int64]*protocol.Minute
	for _, sp := range s.spaces {
		if tiers := sp.tenants[tenant]; tiers != nil && tiers[tier] != nil {
			out = append(out, tiers[tier])
		}
	}
	return out
}

// Stats is what the dashboard API answers for one tenant and time range.
type Stats struct {
	Tenant   string    `json:"tenant"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Interval string    `json:"interval"`
	// Resolution of the buckets the answer was read from: minute, hour or day.
	Resolution string  `json:"resolution"`
	Totals     Totals  `json:"totals"`
	Series     []Point `json:"series"`
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

// Query sums tenant's aggregates in [from, to) into intervals of step (a whole number
// of minutes), keeping limit rows per top list; now places the live window. It reads
// the buckets of one resolution (see tierFor): from is rounded down to it, and a
// bucket that starts before to counts whole (the reported To is rounded up). Top
// lists name the values that the bucket rule keeps over the whole range (see
// Minute.count): a range answered from minutes and the same range from hours or days
// give the same numbers.
func (s *Store) Query(tenant string, from, to time.Time, step time.Duration, limit int, now time.Time) (Stats, error) {
	step = max(step.Truncate(time.Minute), time.Minute)
	tier, err := s.tierFor(from.UTC().Truncate(time.Minute), step)
	if err != nil {
		return Stats{}, err
	}
	return s.read(tier, tenant, from, to, step, limit, now), nil
}

// read answers Query from the buckets of tier.
func (s *Store) read(tier int, tenant string, from, to time.Time, step time.Duration, limit int, now time.Time) Stats {
	w := tierWidth[tier]
	from, to = from.UTC().Truncate(w), roundUp(to.UTC(), w)
	st := Stats{Tenant: tenant, From: from, To: to, Interval: step.String(), Resolution: tierName[tier]}
	all := &protocol.Minute{Tenant: tenant, Start: from, Visitors: protocol.Sketch{Sketch: hyperloglog.New14()}}
	live := hyperloglog.New14()
	s.mu.RLock()
	spaces, minutes := s.tier(tenant, tier), s.tier(tenant, byMinute)
	for t := from; t.Before(to); t = t.Add(step) {
		p := Point{Start: t}
		sk := hyperloglog.New14()
		for b := t; b.Before(t.Add(step)) && b.Before(to); b = b.Add(w) {
			for _, buckets := range spaces {
				bb := buckets[b.Unix()]
				if bb == nil {
					continue
				}
				p.Events += bb.TotalEvents()
				p.Pageviews += bb.TotalPageviews()
				p.Sessions += bb.SessionsStarted
				p.Bounces += bb.Bounces
				_ = sk.Merge(bb.Visitors.Sketch)
				all.MergeCounts(&bb.Counts)
			}
		}
		p.Visitors = int64(sk.Estimate())
		_ = all.Visitors.Merge(sk)
		st.Series = append(st.Series, p)
	}
	liveFrom := now.UTC().Add(-LiveWindow).Truncate(time.Minute)
	for m := liveFrom; !m.After(now); m = m.Add(time.Minute) {
		for _, buckets := range minutes {
			if mm := buckets[m.Unix()]; mm != nil {
				_ = live.Merge(mm.Visitors.Sketch)
			}
		}
	}
	s.mu.RUnlock()

	st.Totals = Totals{
		Events: all.TotalEvents(), Pageviews: all.TotalPageviews(), Visitors: int64(all.Visitors.Estimate()),
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

// tierFor chooses the resolution a range starting at from (a whole minute) is read
// at, with intervals of step: among the resolutions step is a whole number of and
// that the store keeps back to from, the coarsest that from lies on, or else the
// finest (from is then rounded down to it). None: a RangeError naming the interval
// the range needs. A range older than even the days kept is read by day (step whole
// days), and finds nothing there.
func (s *Store) tierFor(from time.Time, step time.Duration) (int, error) {
	now := s.now()
	chosen := -1
	for tier, w := range tierWidth {
		if step%w != 0 || from.Truncate(w).Unix() < s.horizon(tier, now) {
			continue
		}
		if chosen < 0 || from.Truncate(w).Equal(from) {
			chosen = tier
		}
	}
	if chosen >= 0 {
		return chosen, nil
	}
	for tier, w := range tierWidth {
		if from.Truncate(w).Unix() >= s.horizon(tier, now) {
			return 0, &RangeError{fmt.Sprintf("this range is kept by %s from %s on: its interval must be a whole number of %ss",
				tierName[tier], time.Unix(s.horizon(tier, now), 0).UTC().Format(time.RFC3339), tierName[tier])}
		}
	}
	if step%tierWidth[byDay] == 0 {
		return byDay, nil
	}
	return 0, &RangeError{fmt.Sprintf("this range starts before the oldest day kept (%s): its interval must be a whole number of days",
		time.Unix(s.horizon(byDay, now), 0).UTC().Format(time.RFC3339))}
}

// RangeError says why the store cannot answer a range at the interval asked.
type RangeError struct{ Why string }

func (e *RangeError) Error() string { return e.Why }

// roundUp returns t rounded up to a whole number of w.
func roundUp(t time.Time, w time.Duration) time.Time {
	if r := t.Truncate(w); !r.Equal(t) {
		return r.Add(w)
	}
	return t
}

// Minutes returns a copy of tenant's counts by minute in [from, to) (for tests and
// tools comparing with a reference).
func (s *Store) Minutes(tenant string, from, to time.Time) map[time.Time]protocol.Counts {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := map[time.Time]protocol.Counts{}
	for _, buckets := range s.tier(tenant, byMinute) {
		for at, m := range buckets {
			t := time.Unix(at, 0).UTC()
			if !t.Before(from) && t.Before(to) {
				c := out[t]
				c.Add(&m.Counts)
				out[t] = c
			}
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
