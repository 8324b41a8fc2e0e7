package collector

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestTheProfilerServesItsHandlers(t *testing.T) {
	rec := httptest.NewRecorder()
	pprofMux().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/pprof/cmdline", nil))
	if rec.Code != 200 {
		t.Fatalf("cmdline: %d", rec.Code)
	}
}
