package collector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/internal/lifecycle"
)

func TestReadinessFollowsWhatTheCollectorSeesOfPulsar(t *testing.T) {
	brokerDown := errors.New("connection refused")
	type step struct {
		do        func(r *readiness, clock *time.Time)
		wantReady bool
	}
	connected := step{func(r *readiness, _ *time.Time) { r.connectedNow() }, true}
	tests := []struct {
		name  string
		steps []step
	}{
		{"not ready until the producers are connected", []step{
			{func(r *readiness, _ *time.Time) { r.connecting(nil) }, false},
			{func(r *readiness, _ *time.Time) { r.probed(nil) }, false},
			connected,
		}},
		{"a failed probe makes it not ready until a probe succeeds", []step{
			connected,
			{func(r *readiness, _ *time.Time) { r.probed(brokerDown) }, false},
			{func(r *readiness, _ *time.Time) { r.published(nil) }, false},
			{func(r *readiness, _ *time.Time) { r.probed(nil) }, true},
		}},
		{"a failed publish makes it not ready until a publish succeeds", []step{
			connected,
			{func(r *readiness, _ *time.Time) { r.published(errors.New("message send timeout")) }, false},
			{func(r *readiness, c *time.Time) { *c = c.Add(time.Second); r.probed(nil) }, false},
			{func(r *readiness, c *time.Time) { *c = c.Add(time.Second); r.published(nil) }, true},
		}},
		{"a failed publish with nothing after it expires after the window", []step{
			connected,
			{func(r *readiness, _ *time.Time) { r.published(errors.New("message send timeout")) }, false},
			{func(r *readiness, c *time.Time) { *c = c.Add(failWindow + time.Second); r.probed(nil) }, true},
		}},
		{"a full producer queue and a client that left say nothing about the broker", []step{
			connected,
			{func(r *readiness, _ *time.Time) { r.published(fmt.Errorf("publish: %w", ErrOverloaded)) }, true},
			{func(r *readiness, _ *time.Time) { r.published(context.Canceled) }, true},
		}},
		{"after shutdown nothing makes it ready again", []step{
			connected,
			{func(r *readiness, _ *time.Time) { r.stop("shutting down") }, false},
			{func(r *readiness, _ *time.Time) { r.probed(nil) }, false},
			{func(r *readiness, _ *time.Time) { r.published(errors.New("x")); r.published(nil) }, false},
			{func(r *readiness, _ *time.Time) { r.connectedNow() }, false},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h lifecycle.Health
			clock := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
			r := newReadiness(&h, func() time.Time { return clock })
			for i, s := range tc.steps {
				s.do(r, &clock)
				if h.Ready() != s.wantReady {
					rec := httptest.NewRecorder()
					h.Readyz(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
					t.Fatalf("step %d: ready %v, want %v (%s)", i, h.Ready(), s.wantReady, rec.Body)
				}
			}
		})
	}
}

// TestAProbeThatHangsCountsAsFailedAfterItsTimeout: a lookup that gets no answer (a
// broker gone silent) makes the collector not ready within the probe timeout, and
// ready again once a probe answers.
func TestAProbeThatHangsCountsAsFailedAfterItsTimeout(t *testing.T) {
	var h lifecycle.Health
	r := newReadiness(&h, time.Now)
	r.connectedNow()
	release := make(chan struct{})
	probes := make(chan struct{}, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.watch(ctx, 10*time.Millisecond, 50*time.Millisecond, func() error {
		probes <- struct{}{}
		<-release
		return nil
	})
	<-probes
	deadline := time.Now().Add(2 * time.Second)
	for h.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("still ready 2s after a probe hung")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(release)
	for !h.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready again after the probe answered")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMetricsLeaveTheIngestPortWhenMetricsAddrIsSet(t *testing.T) {
	tests := []struct {
		name        string
		metricsAddr string
		want        int
	}{
		{"by default /metrics is on the ingest port", "", 200},
		{"with a metrics address the ingest port answers 404", "127.0.0.1:9464", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newTestCollector(t, &fakePublisher{}, func(c *Config) { c.MetricsAddr = tc.metricsAddr })
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
			if rec.Code != tc.want {
				t.Errorf("/metrics: %d, want %d", rec.Code, tc.want)
			}
			rec = httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
			if rec.Code != 200 {
				t.Errorf("/healthz: %d", rec.Code)
			}
		})
	}
}
