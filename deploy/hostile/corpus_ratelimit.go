package hostile

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
)

// rateCases: a burst over a source's limit. The limited source allows 0.01 events a
// second with the smallest burst the collector gives (a full batch, 2,500 events): one
// batch of 2,500 spends it, and whatever follows within minutes is refused.
func rateCases() []*Case {
	retryAfter := func(o Outcome) error {
		if n, err := strconv.Atoi(o.Header.Get("Retry-After")); err != nil || n < 1 {
			return fmt.Errorf("Retry-After %q, want a whole number of seconds ≥ 1", o.Header.Get("Retry-After"))
		}
		return nil
	}
	return []*Case{
		{Name: "a batch of 2,500 events spends a small source's whole burst", Req: Request{Key: limitedWriteKey,
			Body: func(ids IDs) []byte { return batch(ids.tracks(2500)...) }}, Want: ok(2500)},
		{Name: "the next request over the source's limit gets 429 with Retry-After", Req: Request{Key: limitedWriteKey, Body: one()},
			Want: Expect{Status: http.StatusTooManyRequests, Check: retryAfter, Note: "with Retry-After ≥ 1"}},
		{Name: "a burst of 20 requests over the limit all get 429", Run: burst(20),
			Want: Expect{Status: http.StatusTooManyRequests, Check: all(http.StatusTooManyRequests, 20), Note: "×20"}},
		{Name: "another source is not slowed by the small source's limit", Req: Request{Body: one()}, Want: ok(1)},
	}
}

// burst sends n one-event requests with the limited source's key at once.
func burst(n int) func(ctx context.Context, t *Target, ids IDs) Outcome {
	return func(ctx context.Context, t *Target, ids IDs) Outcome {
		outs := make([]Outcome, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i] = t.Do(ctx, Request{Key: limitedWriteKey, Body: func(IDs) []byte { return batch(ids.track(i)) }}, ids)
			}()
		}
		wg.Wait()
		return combine(outs)
	}
}

// all checks that every request of a combined outcome got status.
func all(status, n int) func(o Outcome) error {
	return func(o Outcome) error {
		if o.Counts[status] != n {
			return fmt.Errorf("status counts %v, want %d×%d", o.Counts, n, status)
		}
		return nil
	}
}
