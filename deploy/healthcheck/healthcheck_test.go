package healthcheck

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestURL(t *testing.T) {
	tests := []struct {
		name, addr, target, want, wantErr string
	}{
		{name: "a port alone is probed on loopback", addr: ":8088", target: "/readyz", want: "http://127.0.0.1:8088/readyz"},
		{name: "every IPv4 interface is probed on loopback", addr: "0.0.0.0:8089", target: "/healthz", want: "http://127.0.0.1:8089/healthz"},
		{name: "every IPv6 interface is probed on loopback", addr: "[::]:8090", target: "/readyz", want: "http://127.0.0.1:8090/readyz"},
		{name: "a specific host is kept", addr: "127.0.0.2:8088", target: "/readyz", want: "http://127.0.0.2:8088/readyz"},
		{name: "a full URL is used as it is", addr: "", target: "http://10.0.0.1:1/x", want: "http://10.0.0.1:1/x"},
		{name: "a path needs an address", addr: "", target: "/readyz", wantErr: "no address"},
		{name: "an address needs a port", addr: "localhost", target: "/readyz", wantErr: "invalid address"},
		{name: "a target is a path or a URL", addr: ":1", target: "readyz", wantErr: "invalid target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := URL(tt.addr, tt.target)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("URL(%q, %q) = %q, %v; want an error with %q", tt.addr, tt.target, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("URL(%q, %q) = %q, %v; want %q", tt.addr, tt.target, got, err, tt.want)
			}
		})
	}
}

func TestProbeSucceedsOnlyOn2xxAndNamesTheReason(t *testing.T) {
	var ready atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/readyz", http.StatusFound)
			return
		}
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: pulsar unreachable\nmore\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	err := Probe(ctx, NewClient(), srv.URL+"/readyz")
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "pulsar unreachable") || strings.Contains(err.Error(), "more") {
		t.Fatalf("probe of a service not ready: %v; want the status and the reason's first line", err)
	}
	ready.Store(true)
	if err := Probe(ctx, NewClient(), srv.URL+"/readyz"); err != nil {
		t.Fatalf("probe of a ready service: %v", err)
	}
	if err := Probe(ctx, NewClient(), srv.URL+"/moved"); err == nil {
		t.Fatal("a redirect was followed; a health endpoint must answer itself")
	}
	srv.Close()
	if err := Probe(ctx, NewClient(), srv.URL+"/readyz"); err == nil {
		t.Fatal("probe of a stopped service succeeded")
	}
}
