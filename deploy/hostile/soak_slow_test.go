package hostile

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestSlowConnectionsCutByTheServerAreOpenedAgain(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadTimeout: 500 * time.Millisecond, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			w.WriteHeader(http.StatusRequestTimeout)
		}
	})}
	go func() { _ = srv.Serve(l) }()
	defer srv.Close()

	const n = 20
	ctx, cancel := context.WithCancel(context.Background())
	h := holdSlow(ctx, &Target{Addr: l.Addr().String(), WriteKey: "k"}, n)
	allHeld := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		allHeld = allHeld || h.held.Load() == n
		if allHeld && h.cut.Load() >= n && h.opened.Load() >= 2*n {
			break
		}
	}
	cancel()
	h.wg.Wait()
	if !allHeld || h.cut.Load() < n || h.opened.Load() < 2*n || h.held.Load() != 0 || h.dialErrors.Load() != 0 {
		t.Errorf("all %d held at once: %v; opened %d, cut %d, not opened %d, held after the end %d",
			n, allHeld, h.opened.Load(), h.cut.Load(), h.dialErrors.Load(), h.held.Load())
	}
}

func TestThePercentileIsTheNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		p    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}} {
		if got := percentile(d, tt.p); got != tt.want {
			t.Errorf("p%.0f of 1..100 ms: %s, want %s", 100*tt.p, got, tt.want)
		}
	}
	if percentile(nil, 0.99) != 0 {
		t.Error("the percentile of nothing is not 0")
	}
}
