// Package lifecycle holds what every service's life shares: the run group that starts
// and stops its parts (Group), its health state, its HTTP servers and its main.
package lifecycle

import (
	"net/http"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health is a service's explicit health state: alive from construction, ready only
// while the lifecycle says so (connected to its dependencies, not shutting down).
type Health struct {
	ready  atomic.Bool
	reason atomic.Value // string: why not ready
}

// SetReady marks the service ready.
func (h *Health) SetReady() { h.ready.Store(true); h.reason.Store("") }

// SetNotReady marks the service not ready, with a reason /readyz reports.
func (h *Health) SetNotReady(reason string) { h.ready.Store(false); h.reason.Store(reason) }

// Ready reports whether the service is ready.
func (h *Health) Ready() bool { return h.ready.Load() }

// Healthz answers 200 while the process serves HTTP at all.
func (h *Health) Healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

// Readyz answers 200 when ready, 503 with the reason otherwise.
func (h *Health) Readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if h.ready.Load() {
		_, _ = w.Write([]byte("ready\n"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	reason, _ := h.reason.Load().(string)
	if reason == "" {
		reason = "starting"
	}
	_, _ = w.Write([]byte("not ready: " + reason + "\n"))
}

// Mux returns a mux serving /healthz, /readyz and /metrics from reg.
func (h *Health) Mux(reg prometheus.Gatherer) *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", h.Healthz)
	mux.HandleFunc("GET /readyz", h.Readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
