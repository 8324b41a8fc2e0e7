package lifecycle

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// steps records what the actors of a test did, in order.
type steps struct {
	mu   sync.Mutex
	list []string
}

func (s *steps) add(step string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, step)
}

func (s *steps) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.list, ", ")
}

// waiter is an actor that works until stopped, then takes a while to drain.
func waiter(name string, s *steps) (run func() error, stop func(context.Context) error) {
	stopped := make(chan struct{})
	run = func() error {
		<-stopped
		time.Sleep(20 * time.Millisecond) // draining: the next stop must wait for it
		s.add(name + " returned")
		return nil
	}
	stop = func(context.Context) error {
		s.add("stop " + name)
		close(stopped)
		return nil
	}
	return run, stop
}

func TestTheFirstToReturnStopsTheOthersOneAtATimeInTheOrderAdded(t *testing.T) {
	var s steps
	var g Group
	g.Add(func() error {
		s.add("signal returned")
		return nil
	}, func(context.Context) error {
		s.add("stop signal")
		return nil
	})
	g.Add(waiter("http", &s))
	g.Add(waiter("producers", &s))
	if err := g.Run(); err != nil {
		t.Fatal(err)
	}
	want := "signal returned, stop signal, stop http, http returned, stop producers, producers returned"
	if got := s.String(); got != want {
		t.Errorf("steps:\n  %s\nwant\n  %s", got, want)
	}
}

func TestRunReturnsEveryErrorTheFirstFirst(t *testing.T) {
	errPipeline, errFlush, errCheckpoint := errors.New("pipeline failed"), errors.New("flush failed"), errors.New("final checkpoint failed")
	stopped := make(chan struct{})
	var g Group
	g.Add(func() error { <-stopped; return nil }, func(context.Context) error { close(stopped); return errFlush })
	g.Add(func() error { return errPipeline }, func(context.Context) error { return nil })
	other := make(chan struct{})
	g.Add(func() error { <-other; return errCheckpoint }, func(context.Context) error { close(other); return nil })
	err := g.Run()
	for _, want := range []error{errPipeline, errFlush, errCheckpoint} {
		if !errors.Is(err, want) {
			t.Errorf("Run = %v, want it to hold %v", err, want)
		}
	}
	if msg := err.Error(); !strings.HasPrefix(msg, errPipeline.Error()) {
		t.Errorf("Run = %q, want the error that started the stop first", msg)
	}
}

func TestEveryStopSharesOneGracePeriod(t *testing.T) {
	g := Group{Grace: 100 * time.Millisecond}
	g.Add(func() error { return nil }, func(context.Context) error { return nil })
	for range 3 {
		stopped := make(chan struct{})
		g.Add(func() error { <-stopped; return nil }, func(ctx context.Context) error {
			defer close(stopped)
			<-ctx.Done() // a drain that does not finish in time
			return ctx.Err()
		})
	}
	start := time.Now()
	err := g.Run()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want the drains cut off by the grace", err)
	}
	if took := time.Since(start); took < 100*time.Millisecond || took > 250*time.Millisecond {
		t.Errorf("the stop took %v, want the grace (100ms) for the three stops together", took)
	}
}

func TestAGroupEndsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var g Group
	g.AddContext(ctx)
	var s steps
	g.Add(waiter("loop", &s))
	done := make(chan error, 1)
	go func() { done <- g.Run() }()
	select {
	case err := <-done:
		t.Fatalf("Run returned %v before its context ended", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "stop loop, loop returned" {
		t.Errorf("steps: %s", got)
	}
}

// A request in flight when the stop begins is answered; the server then refuses new
// connections.
func TestTheHTTPActorDrainsTheRequestsInFlight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(arrived)
		<-release
		_, _ = io.WriteString(w, "done")
	}))
	ctx, cancel := context.WithCancel(context.Background())
	g := Group{Grace: 5 * time.Second}
	g.AddContext(ctx)
	g.Add(HTTP(srv, ln))
	done := make(chan error, 1)
	go func() { done <- g.Run() }()

	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- string(b)
	}()
	<-arrived
	cancel()
	time.Sleep(50 * time.Millisecond) // the stop has begun: no new connections
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("a new connection was accepted while draining")
	}
	close(release)
	if got := <-answer; got != "done" {
		t.Errorf("the request in flight got %q, want its answer", got)
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}
