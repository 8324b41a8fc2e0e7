package processor

import (
	"testing"
	"time"
)

// The store keeps the minutes of its retention window, by its processing clock:
// partials outside it are dropped, and minutes leaving it are pruned.
func TestTheStoreKeepsOnlyItsRetentionWindow(t *testing.T) {
	clk := &clock{t0}
	s := NewStore(DefaultRetention, clk.now)
	minute := func(at time.Time) *Minute {
		m := NewMinute("acme", at)
		m.count(dimEvents, "page", 1)
		return m
	}
	tests := []struct {
		name string
		at   time.Time
		kept bool
	}{
		{"the current minute is kept", t0, true},
		{"a minute 47 hours ago is kept", t0.Add(-47 * time.Hour), true},
		{"the first minute of the window is kept", t0.Add(-DefaultRetention), true},
		{"the minute before the window is dropped", t0.Add(-DefaultRetention - time.Minute), false},
		{"a minute in year 1 is dropped", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"a minute twice the future skew ahead is kept", t0.Add(2 * maxFutureSkew), true},
		{"a minute further ahead is dropped", t0.Add(2*maxFutureSkew + time.Minute), false},
		{"a minute in year 9999 is dropped", time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC), false},
	}
	want := 0
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dropped := s.Add([]*Minute{minute(tc.at)})
			if (dropped == 0) != tc.kept {
				t.Errorf("dropped %d, want kept %v", dropped, tc.kept)
			}
			if tc.kept {
				want++
			}
			if s.Len() != want {
				t.Errorf("the store holds %d minutes, want %d", s.Len(), want)
			}
		})
	}
	off := minute(t0)
	off.Start = off.Start.Add(30 * time.Second)
	if s.Add([]*Minute{off}) != 1 {
		t.Errorf("a partial not starting on a minute was kept")
	}
	clk.t = clk.t.Add(time.Hour + time.Minute)
	s.Prune()
	if s.Len() != want-2 {
		t.Errorf("61 minutes later the store holds %d minutes, want %d", s.Len(), want-2)
	}
	clk.t = clk.t.Add(DefaultRetention)
	s.Prune()
	if s.Len() != 0 || len(s.tenants) != 0 {
		t.Errorf("after the retention the store holds %d minutes of %d tenants, want none", s.Len(), len(s.tenants))
	}
}
