package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTheWaitDoublesUpToTheMaximumWithJitterBelowIt(t *testing.T) {
	b := Backoff{First: time.Second, Max: 30 * time.Second}
	tests := []struct {
		n        int
		r        float64
		min, max time.Duration
	}{
		{0, 0, 500 * time.Millisecond, 500 * time.Millisecond},
		{0, 0.999, 999 * time.Millisecond, time.Second},
		{1, 0.5, 1500 * time.Millisecond, 1500 * time.Millisecond},
		{4, 0.999, 15 * time.Second, 16 * time.Second},
		{5, 0, 15 * time.Second, 15 * time.Second},
		{5, 0.999, 29 * time.Second, 30 * time.Second},
		{60, 0.999, 29 * time.Second, 30 * time.Second},
	}
	for _, tc := range tests {
		got := b.wait(tc.n, tc.r)
		if got < tc.min || got > tc.max {
			t.Errorf("wait %d with r=%v: %v, want between %v and %v", tc.n, tc.r, got, tc.min, tc.max)
		}
	}
}

func TestDoRetriesUntilTheOperationSucceeds(t *testing.T) {
	b := Backoff{First: time.Millisecond, Max: 4 * time.Millisecond}
	fail := errors.New("broker unreachable")
	tries := 0
	var waits []time.Duration
	err := Do(context.Background(), b, func() error {
		if tries++; tries < 5 {
			return fail
		}
		return nil
	}, func(err error, wait time.Duration) {
		if !errors.Is(err, fail) {
			t.Errorf("failed told %v, want the operation's error", err)
		}
		waits = append(waits, wait)
	})
	if err != nil || tries != 5 || len(waits) != 4 {
		t.Fatalf("Do = %v after %d tries and %d waits, want nil after 5 and 4", err, tries, len(waits))
	}
	for i, w := range waits {
		if lo, hi := b.wait(i, 0), b.wait(i, 1); w < lo || w > hi {
			t.Errorf("wait %d: %v, want between %v and %v", i, w, lo, hi)
		}
	}
}

func TestDoStopsWhenTheContextEndsAndReportsTheLastError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	fail := errors.New("store unavailable")
	start := time.Now()
	err := Do(ctx, Backoff{First: time.Hour, Max: time.Hour}, func() error { return fail }, func(error, time.Duration) { cancel() })
	if !errors.Is(err, context.Canceled) || !errors.Is(err, fail) {
		t.Fatalf("Do = %v, want the cancellation and the last error", err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Fatalf("Do returned %v after the context ended, want at once", waited)
	}
}
