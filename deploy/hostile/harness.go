package hostile

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Result is what one case got.
type Result struct {
	Case *Case
	Out  Outcome
	// Err says how the answer differs from the contract's, Skipped why the case did
	// not run, StoredErr how the lake's rows of the case differ (see CheckStored).
	Err, StoredErr error
	Skipped        string
	// RSSKiB is the collector's resident memory right after the case.
	RSSKiB int64
}

// Failed reports whether the case did not get its answer or its rows.
func (r Result) Failed() bool { return r.Err != nil || r.StoredErr != nil }

// RunCorpus runs the cases against t: the background ones (which mostly wait for a
// server timeout) all at once from the start, the others in turn meanwhile, logging
// each group's progress. rss reads the collector's resident memory in KiB. The
// results are in the cases' order.
func RunCorpus(ctx context.Context, t *Target, cases []*Case, rss func() int64, logf func(string, ...any)) []Result {
	results := make([]Result, len(cases))
	var wg sync.WaitGroup
	run := func(i int) {
		c := cases[i]
		r := Result{Case: c}
		switch {
		case c.LongOnly && !t.Profile.Long:
			r.Skipped = "not run in the " + t.Profile.Name + " profile: it takes over a minute"
		case c.Run != nil:
			r.Out = c.Run(ctx, t, c.IDs)
		default:
			r.Out = t.Do(ctx, c.Req, c.IDs)
		}
		if r.Skipped == "" {
			r.Err = c.Want.Met(r.Out)
		}
		r.RSSKiB = rss()
		results[i] = r
	}
	for i, c := range cases {
		if c.Background {
			wg.Add(1)
			go func() { defer wg.Done(); run(i) }()
		}
	}
	group, began, failed := "", time.Now(), 0
	done := func() {
		if group != "" {
			logf("%s: ran in %.1fs, %d failed", group, time.Since(began).Seconds(), failed)
		}
	}
	for i, c := range cases {
		if c.Background {
			continue
		}
		if c.Group != group {
			done()
			group, began, failed = c.Group, time.Now(), 0
		}
		run(i)
		if results[i].Err != nil {
			failed++
		}
	}
	done()
	wg.Wait()
	return results
}

// Accepted sums the events the collector accepted over the results.
func Accepted(results []Result) int {
	n := 0
	for _, r := range results {
		n += r.Out.Accepted
	}
	return n
}

// Failure describes a failed result for the test's error list.
func (r Result) Failure() string {
	c := r.Case
	s := fmt.Sprintf("case %d (%s) %q: ", c.Number, c.Group, c.Name)
	if r.Err != nil {
		s += fmt.Sprintf("want %s, got %s: %v", c.Want, r.Out.Summary(), r.Err)
	}
	if r.StoredErr != nil {
		if r.Err != nil {
			s += "; "
		}
		s += "in the lake: " + r.StoredErr.Error()
	}
	return s
}
