package chaos

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/clicktrail/clicktrail/deploy/simulate"
)

// Load runs the visitor simulator in the background and keeps a timeline of its
// requests: when each was refused, and when each event was accepted.
type Load struct {
	Started time.Time

	drain chan struct{}
	done  chan struct{}
	rep   *simulate.Report
	err   error

	mu       sync.Mutex
	refusals []time.Time // end of every attempt refused (no answer, 5xx, 429)
	lastOK   time.Time   // end of the latest attempt answered 200
	accepted []Accepted  // in the order the answers arrived
}

// Accepted is an accepted event and when its 200 arrived.
type Accepted struct {
	simulate.Event
	At time.Time
}

// StartLoad starts cfg's simulation; cfg.Drain, RecordEvents and OnAttempt are set
// here. Requests are retried for retryFor.
func StartLoad(cfg simulate.Config) *Load {
	l := &Load{Started: time.Now(), drain: make(chan struct{}), done: make(chan struct{})}
	cfg.Drain, cfg.RecordEvents, cfg.OnAttempt = l.drain, true, l.observe
	go func() {
		defer close(l.done)
		l.rep, l.err = simulate.Run(context.Background(), cfg)
	}()
	return l
}

func (l *Load) observe(a simulate.Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case a.Status == http.StatusOK:
		if a.End.After(l.lastOK) {
			l.lastOK = a.End
		}
		for _, e := range a.Accepted {
			l.accepted = append(l.accepted, Accepted{Event: e, At: a.End})
		}
	case a.Status == 0 || a.Status == http.StatusTooManyRequests || a.Status >= 500:
		l.refusals = append(l.refusals, a.End)
	}
}

// Refused counts the requests refused (no answer, 5xx, 429) whose refusal came in
// [from, to].
func (l *Load) Refused(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, at := range l.refusals {
		if !at.Before(from) && !at.After(to) {
			n++
		}
	}
	return n
}

// AcceptedSince reports whether a request was answered 200 after t.
func (l *Load) AcceptedSince(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastOK.After(t)
}

// AcceptedBefore returns the ids of the events accepted before t.
func (l *Load) AcceptedBefore(t time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for _, a := range l.accepted {
		if a.At.Before(t) {
			ids = append(ids, a.MessageID)
		}
	}
	return ids
}

// AcceptedCount is the number of events accepted so far.
func (l *Load) AcceptedCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.accepted)
}

// Stop closes the drain (no new visits; visits stop once their request in flight is
// answered, retries included) and waits up to timeout for the simulation to end.
// It returns the report and every accepted event, in the order of their answers.
func (l *Load) Stop(timeout time.Duration) (*simulate.Report, []Accepted, error) {
	close(l.drain)
	select {
	case <-l.done:
	case <-time.After(timeout):
		return nil, nil, fmt.Errorf("the simulator did not end within %s of the drain", timeout)
	}
	if l.err != nil {
		return nil, nil, l.err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	acc := append([]Accepted(nil), l.accepted...)
	sort.SliceStable(acc, func(i, j int) bool { return acc[i].At.Before(acc[j].At) })
	if len(acc) != len(l.rep.AcceptedEvents) {
		return nil, nil, fmt.Errorf("the simulator reports %d accepted events, its requests' answers %d", len(l.rep.AcceptedEvents), len(acc))
	}
	return l.rep, acc, nil
}
