package collector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clicktrail/clicktrail/internal/lifecycle"
)

// Readiness timing: how often the broker is probed, how long a probe may take before
// the collector counts the broker as unreachable, and how long a failed publish keeps
// the collector not ready when nothing succeeds after it.
const (
	probeInterval = 2 * time.Second
	probeTimeout  = 3 * time.Second
	failWindow    = 10 * time.Second
)

// readiness decides what /readyz answers from what the collector sees of Pulsar. The
// collector is ready once its producers are connected, and stays ready unless
//   - a probe of the broker (a topic lookup, every probeInterval) fails or gets no
//     answer within probeTimeout, until a probe succeeds; or
//   - a publish failed for a reason of the broker's (not a full queue, not a client
//     that left), and nothing was acknowledged since, for failWindow.
//
// So a load balancer stops sending to a collector whose requests could only get 503,
// within about probeInterval + probeTimeout of the broker going away, and sends again
// once a lookup or a publish succeeds.
type readiness struct {
	health *lifecycle.Health
	now    func() time.Time

	// lastOK is when a publish was last acknowledged (Unix nanoseconds), and failing
	// whether a failure is more recent: the acknowledgement of every message updates
	// them without the lock.
	lastOK  atomic.Int64
	failing atomic.Bool

	mu        sync.Mutex
	connected bool
	stopped   bool
	probeErr  error
	lastFail  time.Time // the last failed publish
	failErr   error
}

func newReadiness(h *lifecycle.Health, now func() time.Time) *readiness {
	return &readiness{health: h, now: now}
}

// connecting reports that the producers are not (yet) connected.
func (r *readiness) connecting(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connected = false
	if err != nil {
		r.setNotReady("pulsar: " + err.Error())
		return
	}
	r.setNotReady("connecting to pulsar")
}

// connectedNow reports that every producer is connected.
func (r *readiness) connectedNow() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connected = true
	r.update()
}

// published records the outcome of one publish. A full producer queue (overload) and a
// request whose client left say nothing about the broker and are ignored.
func (r *readiness) published(err error) {
	if errors.Is(err, ErrOverloaded) || errors.Is(err, context.Canceled) {
		return
	}
	if err == nil {
		r.lastOK.Store(r.now().UnixNano())
		if !r.failing.Load() {
			return // the common case: nothing changes
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.lastFail, r.failErr = r.now(), err
	}
	r.update()
}

// probed records the outcome of a probe of the broker.
func (r *readiness) probed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.probeErr = err
	r.update()
}

// stop marks the collector not ready for good (shutdown): nothing later makes it ready.
func (r *readiness) stop(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	r.health.SetNotReady(reason)
}

// update sets the health from the state; r.mu is held.
func (r *readiness) update() {
	switch {
	case r.stopped:
	case !r.connected:
	case r.probeErr != nil:
		r.setNotReady("pulsar unreachable: " + r.probeErr.Error())
	case r.publishFailing():
		r.setNotReady("publishing to pulsar fails: " + r.failErr.Error())
	default:
		r.health.SetReady()
	}
}

// publishFailing reports whether the last publish outcome is a failure of less than
// failWindow ago; r.mu is held.
func (r *readiness) publishFailing() bool {
	failing := r.lastFail.UnixNano() > r.lastOK.Load() && r.now().Sub(r.lastFail) < failWindow
	r.failing.Store(failing)
	return failing
}

func (r *readiness) setNotReady(reason string) {
	if !r.stopped {
		r.health.SetNotReady(reason)
	}
}

// watch probes the broker every interval until ctx ends. A probe that does not answer
// within timeout counts as failed at once, and the next starts only once it has
// returned, so probes never pile up. The state is updated after every probe, which
// also ends a failWindow that nothing else would.
func (r *readiness) watch(ctx context.Context, interval, timeout time.Duration, probe func() error) {
	for {
		done := make(chan error, 1)
		go func() { done <- probe() }()
		select {
		case err := <-done:
			r.probed(err)
		case <-time.After(timeout):
			r.probed(fmt.Errorf("no answer to a lookup within %s", timeout))
			select {
			case err := <-done:
				r.probed(err)
			case <-ctx.Done():
				return
			}
		case <-ctx.Done():
			return
		}
		select {
		case <-time.After(interval):
		case <-ctx.Done():
			return
		}
	}
}
