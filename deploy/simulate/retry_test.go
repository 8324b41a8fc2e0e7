package simulate_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/deploy/simulate"
)

// flakyCollector answers the first attempt of every batch by dropping the connection
// (odd batches) or with a 503 (even batches), and accepts the second; it records the
// messageIds of every attempt.
type flakyCollector struct {
	mu       sync.Mutex
	attempts map[string]int // first messageId of a batch → attempts
	ids      map[string]int // messageId → times received
}

func (f *flakyCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Batch []struct {
			MessageID string `json:"messageId"`
		} `json:"batch"`
	}
	b, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(b, &body); err != nil || len(body.Batch) == 0 {
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	first := body.Batch[0].MessageID
	f.attempts[first]++
	n, odd := f.attempts[first], len(f.attempts)%2 == 1
	for _, e := range body.Batch {
		f.ids[e.MessageID]++
	}
	f.mu.Unlock()
	switch {
	case n == 1 && odd:
		// Stored, but the answer is lost: the client must send it again.
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case n == 1:
		http.Error(w, "broker unavailable", http.StatusServiceUnavailable)
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"accepted": len(body.Batch), "rejected": []any{}})
	}
}

func TestRefusedRequestsAreRetriedWithTheSameMessageIds(t *testing.T) {
	f := &flakyCollector{attempts: map[string]int{}, ids: map[string]int{}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	var mu sync.Mutex
	var refused, acceptedByCallback int
	rep, err := simulate.Run(context.Background(), simulate.Config{
		URL: srv.URL, WriteKey: "sim", Visitors: 20, Rate: 200, Concurrency: 10, ThinkTime: time.Millisecond,
		Seed: 7, RetryFor: 10 * time.Second, RecordEvents: true,
		OnAttempt: func(a simulate.Attempt) {
			mu.Lock()
			defer mu.Unlock()
			if a.Status != http.StatusOK {
				refused++
			}
			acceptedByCallback += len(a.Accepted)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	batches := len(f.attempts)
	if rep.Retries != batches || refused != batches || rep.Requests != 2*batches {
		t.Errorf("%d batches: %d requests, %d retries, %d refused attempts; want every batch sent twice", batches, rep.Requests, rep.Retries, refused)
	}
	if rep.Accepted != rep.Sent || len(rep.AcceptedIDs) != rep.Sent || len(rep.AcceptedEvents) != rep.Sent || acceptedByCallback != rep.Sent {
		t.Errorf("sent %d events: %d accepted, %d ids, %d events recorded, %d through OnAttempt", rep.Sent, rep.Accepted, len(rep.AcceptedIDs), len(rep.AcceptedEvents), acceptedByCallback)
	}
	for _, id := range rep.AcceptedIDs {
		if f.ids[id] != 2 {
			t.Fatalf("messageId %s reached the collector %d times; want 2 (the retry repeats it)", id, f.ids[id])
		}
	}
	if rep.Unconfirmed != 0 {
		t.Errorf("%d events unconfirmed; want 0", rep.Unconfirmed)
	}
	for _, e := range rep.AcceptedEvents {
		if e.MessageID == "" || e.AnonymousID == "" || e.Path == "" || e.Time.IsZero() || e.Transit <= 0 || e.Time.After(time.Now()) {
			t.Fatalf("recorded event lacks what a ground truth needs: %+v", e)
		}
	}
}

func TestWithoutRetriesARefusedRequestIsUnconfirmed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "broker unavailable", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	rep, err := simulate.Run(context.Background(), simulate.Config{URL: srv.URL, WriteKey: "sim", Visitors: 3, Rate: 100, ThinkTime: time.Millisecond, RecordEvents: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Retries != 0 || rep.Accepted != 0 || rep.Unconfirmed != rep.Sent || len(rep.UnconfirmedEvents) != rep.Sent || rep.Status[503] != rep.Requests {
		t.Errorf("report %+v; want every request sent once, refused, its events unconfirmed", rep)
	}
}

func TestDrainEndsTheRunOnceRequestsInFlightAreAnswered(t *testing.T) {
	var mu sync.Mutex
	slow := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(50 * time.Millisecond)
		mu.Lock()
		slow++
		mu.Unlock()
		_ = json.NewEncoder(w).Encode(map[string]any{"accepted": 0, "rejected": []any{}})
	}))
	defer srv.Close()
	drain := make(chan struct{})
	done := make(chan *simulate.Report)
	go func() {
		rep, _ := simulate.Run(context.Background(), simulate.Config{URL: srv.URL, WriteKey: "sim", Rate: 50, ThinkTime: time.Hour, Drain: drain})
		done <- rep
	}()
	time.Sleep(300 * time.Millisecond)
	close(drain)
	select {
	case rep := <-done:
		if rep.Requests == 0 || rep.Status[0] != 0 {
			t.Errorf("report %+v; want requests, none abandoned", rep)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not end within 10 s of the drain, although visits think for an hour")
	}
}
