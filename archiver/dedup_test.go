package archiver

import (
	"fmt"
	"testing"
	"time"
)

func TestDedup(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	type sight struct {
		id       string
		at       time.Duration // after t0
		repeated bool
	}
	tests := []struct {
		name   string
		window time.Duration
		sights []sight
	}{
		{"a messageId seen again within the window is a repeat", time.Minute, []sight{{"a", 0, false}, {"a", 30 * time.Second, true}}},
		{"a messageId seen again after the window is not", time.Minute, []sight{{"a", 0, false}, {"a", 61 * time.Second, false}}},
		{"a repeat received earlier than the original, within the window, is a repeat", time.Minute, []sight{{"a", time.Minute, false}, {"a", 10 * time.Second, true}}},
		{"different messageIds are not repeats", time.Minute, []sight{{"a", 0, false}, {"b", 0, false}}},
		{"an id forgotten because newer events moved the window on is new again", time.Minute, []sight{{"a", 0, false}, {"b", 2 * time.Minute, false}, {"a", 30 * time.Second, false}}},
		{"a zero window turns de-duplication off", 0, []sight{{"a", 0, false}, {"a", 0, false}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := newDedup(tc.window)
			for i, s := range tc.sights {
				if got := d.repeated(s.id, t0.Add(s.at)); got != s.repeated {
					t.Errorf("sighting %d (%s at +%s): repeated %v, want %v", i, s.id, s.at, got, s.repeated)
				}
			}
		})
	}
}

func TestDedupRemembersOnlyTheWindow(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	d := newDedup(time.Minute)
	// 100,000 events, one per 10 ms: the window holds the last 6,000 or so.
	for i := range 100_000 {
		if d.repeated(fmt.Sprintf("m-%d", i), t0.Add(time.Duration(i)*10*time.Millisecond)) {
			t.Fatalf("event %d reported as a repeat", i)
		}
	}
	if n := d.size(); n > 6002 {
		t.Errorf("%d ids remembered, want at most a minute's worth (6,001)", n)
	}
	if len(d.order)-d.head > 6002 || cap(d.order) > 4*6002 {
		t.Errorf("order holds %d live of %d (cap %d): not compacted", len(d.order)-d.head, len(d.order), cap(d.order))
	}
	if !d.repeated("m-99999", t0.Add(1000*time.Second)) {
		t.Error("the latest id is not recognised")
	}
}
