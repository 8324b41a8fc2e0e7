package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Group runs the actors of a service (the signal that ends it, its HTTP servers,
// consumer loops and producers) and stops them all once the first returns. It is the
// run group of oklog/run, which Prometheus's and Thanos's mains use, with two
// differences that decide the stop order and the exit status:
//   - Run stops the actors one at a time, in the order they were added, and waits for
//     an actor's run to return before it stops the next: the order of Add is the stop
//     order. Actors meant to stop together share a context that their stops cancel.
//   - Run returns the errors of every run and stop, the first first, so that a final
//     flush failing after SIGTERM still exits 1; oklog/run returns the first only.
type Group struct {
	// Grace bounds the whole stop: the context every stop gets ends this long after the
	// first actor returned [0: no bound].
	Grace  time.Duration
	actors []actor
}

type actor struct {
	run  func() error
	stop func(context.Context) error
}

// Add adds an actor: run works until stop makes it return, or fails. stop may block
// until what it stops has drained, or ctx ends; it is called even when run returned
// first.
func (g *Group) Add(run func() error, stop func(ctx context.Context) error) {
	g.actors = append(g.actors, actor{run, stop})
}

// AddContext adds an actor that returns when ctx is done: the signal, or the caller,
// that ends the service.
func (g *Group) AddContext(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	g.Add(func() error {
		<-ctx.Done()
		return nil
	}, func(context.Context) error {
		cancel()
		return nil
	})
}

// Run starts every actor, waits for the first to return, then stops them in order
// (see Group) and returns the errors of every run and stop, the first first.
func (g *Group) Run() error {
	if len(g.actors) == 0 {
		return nil
	}
	results := make([]chan error, len(g.actors))
	returned := make(chan int, len(g.actors))
	for i, a := range g.actors {
		results[i] = make(chan error, 1)
		go func() {
			results[i] <- a.run()
			returned <- i
		}()
	}
	first := <-returned
	errs := []error{<-results[first]}
	ctx := context.Background()
	if g.Grace > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.Grace)
		defer cancel()
	}
	for i, a := range g.actors {
		errs = append(errs, a.stop(ctx))
		if i != first {
			errs = append(errs, <-results[i])
		}
	}
	return errors.Join(errs...)
}

// HTTP is an actor serving srv on ln. Its stop stops accepting and waits for the
// requests in flight (http.Server.Shutdown) until the stop's context ends.
func HTTP(srv *http.Server, ln net.Listener) (run func() error, stop func(context.Context) error) {
	run = func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve http on %s: %w", ln.Addr(), err)
		}
		return nil
	}
	stop = func(ctx context.Context) error {
		if err := srv.Shutdown(ctx); err != nil {
			return fmt.Errorf("shut down http on %s: %w", ln.Addr(), err)
		}
		return nil
	}
	return run, stop
}
