package processor

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/processor/protocol"
)

// buckets reports how many buckets of tier the store holds.
func (s *Store) buckets(tier int) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := 0
	for _, sp := range s.spaces {
		for _, tiers := range sp.tenants {
			n += len(tiers[tier])
		}
	}
	return n
}

// tenantTiers returns tenant's buckets of the store's one namespace.
func (s *Store) tenantTiers(t *testing.T, tenant string) *[numTiers]map[int64]*protocol.Minute {
	t.Helper()
	if len(s.spaces) != 1 {
		t.Fatalf("the store holds %d namespaces, want 1", len(s.spaces))
	}
	for _, sp := range s.spaces {
		return sp.tenants[tenant]
	}
	return nil
}

func pageMinute(at time.Time, pages ...string) *protocol.Minute {
	m := protocol.NewMinute("acme", at)
	for _, p := range pages {
		m.Count(protocol.DimEvents, "page", 1)
		m.Count(protocol.DimPageviews, p, 1)
		m.Visitors.Insert([]byte("visitor-" + p))
	}
	return m
}

// A partial counts when its minute lies in the retention window of the store's
// processing clock; others are dropped.
func TestTheStoreCountsOnlyItsRetentionWindow(t *testing.T) {
	s := NewStore(protocol.DefaultRetention, (&clock{t0}).Now)
	tests := []struct {
		name string
		at   time.Time
		kept bool
	}{
		{"the current minute is kept", t0, true},
		{"a minute 47 hours ago is kept", t0.Add(-47 * time.Hour), true},
		{"the first minute of the window is kept", t0.Add(-protocol.DefaultRetention), true},
		{"the minute before the window is dropped", t0.Add(-protocol.DefaultRetention - time.Minute), false},
		{"a minute in year 1 is dropped", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"a minute twice the future skew ahead is kept", t0.Add(2 * protocol.MaxFutureSkew), true},
		{"a minute further ahead is dropped", t0.Add(2*protocol.MaxFutureSkew + time.Minute), false},
		{"a minute in year 9999 is dropped", time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := s.Len()
			dropped := s.Add([]*protocol.Minute{pageMinute(tc.at, "/")})
			if (dropped == 0) != tc.kept {
				t.Errorf("dropped %d, want kept %v", dropped, tc.kept)
			}
			if grew := s.Len() > before; !tc.kept && grew {
				t.Errorf("a dropped partial added buckets")
			}
		})
	}
	off := pageMinute(t0, "/")
	off.Start = off.Start.Add(30 * time.Second)
	if s.Add([]*protocol.Minute{off}) != 1 {
		t.Errorf("a partial not starting on a minute was kept")
	}
}

// Each resolution keeps its latest buckets: minutes leave first, then hours, then
// days, and a tenant with nothing left is forgotten.
func TestTheStorePrunesEachResolutionAfterItsKeep(t *testing.T) {
	clk := &clock{t0}
	s := NewStoreKeeping(protocol.DefaultRetention, Keep{Minutes: 60, Hours: 48, Days: 10}, clk.Now)
	s.Add([]*protocol.Minute{pageMinute(t0, "/"), pageMinute(t0.Add(-30*time.Minute), "/a")})
	want := func(when string, minutes, hours, days int) {
		t.Helper()
		s.Prune()
		got := [numTiers]int{s.buckets(byMinute), s.buckets(byHour), s.buckets(byDay)}
		if got != [numTiers]int{minutes, hours, days} {
			t.Errorf("%s: %d minutes, %d hours and %d days kept, want %d, %d and %d", when, got[0], got[1], got[2], minutes, hours, days)
		}
	}
	want("at once", 2, 2, 1)
	clk.T = t0.Add(30 * time.Minute)
	want("30 minutes later", 1, 2, 1)
	clk.T = t0.Add(61 * time.Minute)
	want("61 minutes later", 0, 2, 1)
	clk.T = t0.Add(47 * time.Hour)
	want("47 hours later", 0, 1, 1)
	clk.T = t0.Add(48 * time.Hour)
	want("48 hours later", 0, 0, 1)
	clk.T = t0.Add(10 * 24 * time.Hour)
	want("10 days later", 0, 0, 0)
	if s.tenantTiers(t, "acme") != nil {
		t.Errorf("a tenant with no bucket left is still held")
	}
	// A late partial (within the retention) older than the minutes kept still counts
	// in its hour and its day.
	clk.T = t0.Add(3 * time.Hour)
	if s.Add([]*protocol.Minute{pageMinute(t0, "/late")}) != 0 {
		t.Fatalf("a partial within the retention was dropped")
	}
	want("a late partial", 0, 1, 1)
}

// However the partials of 3 days arrive (cut anyhow, in any order, with more
// distinct values than a bucket names), each hour is the merge of its minutes and
// each day the merge of its hours, and a range reads the same by minute, by hour
// and by day.
func TestHoursAndDaysAreTheMergeOfTheirMinutes(t *testing.T) {
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	day0 := now.Add(-72 * time.Hour)
	rng := rand.New(rand.NewPCG(1, 2))
	var partials []*protocol.Minute
	for i := 0; i < 6000; i++ {
		at := day0.Add(time.Duration(rng.IntN(72*60)) * time.Minute)
		var pages []string
		for j := rng.IntN(4); j >= 0; j-- {
			pages = append(pages, fmt.Sprintf("/p/%d", rng.IntN(3000)))
		}
		partials = append(partials, pageMinute(at, pages...))
	}
	keepAll := Keep{Minutes: 72*60 + 1, Hours: 73, Days: 4}
	stores := []*Store{}
	for k := 0; k < 2; k++ {
		s := NewStoreKeeping(93*24*time.Hour, keepAll, func() time.Time { return now })
		rng.Shuffle(len(partials), func(i, j int) { partials[i], partials[j] = partials[j], partials[i] })
		for i := 0; i < len(partials); {
			n := 1 + rng.IntN(50)
			s.Add(partials[i:min(i+n, len(partials))])
			i += n
		}
		stores = append(stores, s)
	}
	s := stores[0]
	buckets := s.tenantTiers(t, "acme")
	for tier := byHour; tier < numTiers; tier++ {
		w := tierWidth[tier]
		for start, b := range buckets[tier] {
			merged := &protocol.Minute{Tenant: "acme", Start: time.Unix(start, 0).UTC(), Visitors: protocol.NewMinute("acme", now).Visitors}
			for m := merged.Start; m.Before(merged.Start.Add(w)); m = m.Add(tierWidth[tier-1]) {
				if mm := buckets[tier-1][m.Unix()]; mm != nil {
					merged.Fold(mm)
				}
			}
			if !reflect.DeepEqual(merged.Counts, b.Counts) || merged.Visitors.Estimate() != b.Visitors.Estimate() {
				t.Fatalf("the %s of %s is not the merge of its %ss", tierName[tier], merged.Start, tierName[tier-1])
			}
		}
	}
	if n := len(buckets[byDay][day0.Unix()].Pageviews); n != protocol.MaxDistinctValues+1 {
		t.Fatalf("a day names %d pages, want the bound %d and (other): the test does not reach the bound", n, protocol.MaxDistinctValues)
	}
	for tier, bs := range stores[1].tenantTiers(t, "acme") {
		for start, b := range bs {
			if a := buckets[tier][start]; !reflect.DeepEqual(a.Counts, b.Counts) || a.Visitors.Estimate() != b.Visitors.Estimate() {
				t.Fatalf("two stores given the same partials in other orders and cuts differ in the %s of %s", tierName[tier], a.Start)
			}
		}
	}
	to := day0.Add(72 * time.Hour)
	byMin := s.read(byMinute, "acme", day0, to, 24*time.Hour, 1000, now)
	for tier := byHour; tier < numTiers; tier++ {
		got := s.read(tier, "acme", day0, to, 24*time.Hour, 1000, now)
		got.Resolution = byMin.Resolution
		if !reflect.DeepEqual(got, byMin) {
			t.Errorf("3 days read by %s differ from the same read by minute:\n%+v\n%+v", tierName[tier], got.Totals, byMin.Totals)
		}
	}
	if byMin.Totals.Pageviews == 0 || len(byMin.Pages) != 1000 {
		t.Errorf("the range read %d pageviews and lists %d pages, want some and 1000", byMin.Totals.Pageviews, len(byMin.Pages))
	}
}

// A range is read at the coarsest resolution its interval and start allow; one the
// store cannot answer at the interval asked says which interval it needs.
func TestARangeIsReadAtTheResolutionItsIntervalAllows(t *testing.T) {
	s := NewStore(protocol.DefaultRetention, (&clock{t0}).Now) // t0 is 10:00
	tests := []struct {
		name    string
		from    time.Time
		step    time.Duration
		want    string
		wantErr string
	}{
		{"the last hour by minute", t0.Add(-time.Hour), time.Minute, "minute", ""},
		{"the last hour by hour, from a whole hour", t0.Add(-time.Hour), time.Hour, "hour", ""},
		{"the last hour by hour, from a minute", t0.Add(-50 * time.Minute), time.Hour, "minute", ""},
		{"5 hours 59 minutes ago by minute", t0.Add(-359 * time.Minute), time.Minute, "minute", ""},
		{"7 hours ago by 30 minutes", t0.Add(-7 * time.Hour), 30 * time.Minute, "", "whole number of hours"},
		{"7 hours ago by hour", t0.Add(-7*time.Hour - 10*time.Minute), time.Hour, "hour", ""},
		{"a day by day", t0.Add(-24 * time.Hour).Truncate(24 * time.Hour), 24 * time.Hour, "day", ""},
		{"34 days ago by hour", t0.Add(-34 * 24 * time.Hour), time.Hour, "hour", ""},
		{"40 days ago by hour", t0.Add(-40 * 24 * time.Hour), time.Hour, "", "whole number of days"},
		{"90 days ago by day", t0.Add(-90 * 24 * time.Hour), 24 * time.Hour, "day", ""},
		{"500 days ago by day", t0.Add(-500 * 24 * time.Hour), 24 * time.Hour, "day", ""},
		{"500 days ago by hour", t0.Add(-500 * 24 * time.Hour), time.Hour, "", "before the oldest day kept"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, err := s.Query("acme", tc.from, tc.from.Add(48*time.Hour), tc.step, 10, t0)
			switch {
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("err %v, want one saying %q", err, tc.wantErr)
			case tc.wantErr == "" && err != nil:
				t.Errorf("err %v", err)
			case tc.wantErr == "" && st.Resolution != tc.want:
				t.Errorf("read by %s, want by %s", st.Resolution, tc.want)
			case tc.wantErr == "" && st.From.After(tc.from):
				t.Errorf("from %s rounded to %s", tc.from, st.From)
			}
		})
	}
}

// Two days of a flood of distinct pages in every minute (what an attacker with a
// public write key can send) cost the 360 minutes, 49 hours and 3 days kept, not the
// 2,880 minutes of the retention.
func TestAFloodOfMinutesCostsTheBucketsKept(t *testing.T) {
	s := NewStore(protocol.DefaultRetention, (&clock{t0}).Now)
	for m := t0.Add(-protocol.DefaultRetention); !m.After(t0); m = m.Add(time.Minute) {
		s.Add([]*protocol.Minute{pageMinute(m, "/"+m.Format(time.Kitchen))})
	}
	if got, bound := s.Len(), 360+49+3; got > bound {
		t.Errorf("48 hours of minutes take %d buckets, want at most %d", got, bound)
	}
}
