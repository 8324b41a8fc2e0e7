package chaos

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/clicktrail/clicktrail/deploy/simulate"
)

// Load runs the visitor simulator in the background and keeps a timeline of its
// requests: when each attempt began and ended, whether it was refused, and when each
// event was accepted.
type Load struct {
	Started time.Time

	drain chan struct{}
	done  chan struct{}
	rep   *simulate.Report
	err   error

	mu       sync.Mutex
	attempts []attempt  // every attempt answered or given up, in the order they ended
	okSent   time.Time  // start of the latest-begun attempt answered 200
	accepted []Accepted // in the order the answers arrived
}

// attempt is one try of a request: when it began and ended, and whether it was
// refused (no answer, 5xx, 429).
type attempt struct {
	start, end time.Time
	refused    bool
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
	refused := a.Status == 0 || a.Status == http.StatusTooManyRequests || a.Status >= 500
	l.attempts = append(l.attempts, attempt{start: a.Start, end: a.End, refused: refused})
	if a.Status == http.StatusOK {
		if a.Start.After(l.okSent) {
			l.okSent = a.Start
		}
		for _, e := range a.Accepted {
			l.accepted = append(l.accepted, Accepted{Event: e, At: a.End})
		}
	}
}

// Refused counts the requests refused (no answer, 5xx, 429) whose refusal came in
// [from, to].
func (l *Load) Refused(from, to time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, a := range l.attempts {
		if a.refused && !a.end.Before(from) && !a.end.After(to) {
			n++
		}
	}
	return n
}

// Answers returns the number of attempts that ended in [from, to], answered or not,
// and the 99th percentile of their answer times (how long each waited for its
// answer, or for giving up).
func (l *Load) Answers(from, to time.Time) (requests int, p99 time.Duration) {
	l.mu.Lock()
	var times []time.Duration
	for _, a := range l.attempts {
		if !a.end.Before(from) && !a.end.After(to) {
			times = append(times, a.end.Sub(a.start))
		}
	}
	l.mu.Unlock()
	if len(times) == 0 {
		return 0, 0
	}
	slices.Sort(times)
	return len(times), times[(len(times)*99+99)/100-1]
}

// AcceptedSent reports whether an attempt begun after t was answered 200.
func (l *Load) AcceptedSent(t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.okSent.After(t)
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
