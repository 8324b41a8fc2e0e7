package lifecycle

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestHealthEndpoints(t *testing.T) {
	var h Health
	mux := h.Mux(prometheus.NewRegistry())
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}

	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Fatalf("healthz while starting: got %d, want 200", code)
	}
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Fatalf("readyz while starting: got %d %q, want 503 starting", code, body)
	}
	h.SetReady()
	if code, _ := get("/readyz"); code != http.StatusOK {
		t.Fatalf("readyz when ready: got %d, want 200", code)
	}
	h.SetNotReady("pulsar unreachable")
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "pulsar unreachable") {
		t.Fatalf("readyz after losing pulsar: got %d %q", code, body)
	}
	if code, _ := get("/metrics"); code != http.StatusOK {
		t.Fatalf("metrics: got %d", code)
	}
}
