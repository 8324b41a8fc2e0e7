package collector

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAcksWaitForEveryMessageAndKeepTheFirstFailure(t *testing.T) {
	a := newAcks()
	for range 3 {
		a.add()
	}
	first, second := errors.New("first"), errors.New("second")
	go func() {
		a.done(nil)
		a.done(first)
		a.done(second)
	}()
	if err := a.wait(context.Background()); !errors.Is(err, first) {
		t.Fatalf("err = %v, want the first failure", err)
	}

	b := newAcks()
	b.add() // never acknowledged
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the deadline", err)
	}
	b.done(nil) // a late acknowledgement is harmless

	c := newAcks()
	c.add()
	c.done(nil) // acknowledged before wait: nothing to wait for
	if err := c.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}
