// Package retry calls an operation until it succeeds, waiting longer after each
// failure, with jitter.
package retry

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// Backoff is a capped exponential backoff: the nth wait (from 0) is First·2ⁿ, at most
// Max, jittered down to between half of it and all of it, so that the processes a
// broker or store outage failed together do not all come back in the same instant.
type Backoff struct {
	First, Max time.Duration
}

// wait is the nth wait, with r in [0, 1) choosing within the jitter.
func (b Backoff) wait(n int, r float64) time.Duration {
	d := b.First
	for ; n > 0 && d < b.Max; n-- {
		d *= 2
	}
	d = min(d, b.Max)
	return d/2 + time.Duration(r*float64(d-d/2))
}

// Do calls try until it returns nil, or ctx ends. After each failure it calls failed
// (when not nil) with the error and the wait before the next try. It returns nil once
// try succeeded, otherwise ctx's error joined with try's last.
func Do(ctx context.Context, b Backoff, try func() error, failed func(err error, wait time.Duration)) error {
	for n := 0; ; n++ {
		err := try()
		if err == nil {
			return nil
		}
		wait := b.wait(n, rand.Float64())
		if failed != nil {
			failed(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(ctx.Err(), err)
		case <-t.C:
		}
	}
}
