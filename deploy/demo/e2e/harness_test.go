package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/processor"
)

// stats asks the processor's API for tenant's numbers in [from, to), by minute.
func stats(t *testing.T, base, tenant string, from, to time.Time) processor.Stats {
	t.Helper()
	u := fmt.Sprintf("%s/api/v1/stats?tenant=%s&from=%d&to=%d&interval=1m&limit=1000", base, url.QueryEscape(tenant), from.Unix(), to.Unix())
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+e2eReadKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("stats: %s %s", resp.Status, b)
	}
	var st processor.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("decode stats: %v", err)
	}
	return st
}

// acceptedByCollector sums clicktrail_collector_events_accepted_total.
func acceptedByCollector(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == "clicktrail_collector_events_accepted_total" {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// startProcessor runs a processor until the test ends and returns its base URL.
func startProcessor(t *testing.T, cfg processor.Config, log *slog.Logger) string {
	t.Helper()
	p, err := processor.New(cfg, log, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("processor stopped with: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("processor did not stop within 60s")
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for p.Addr() == nil {
		select {
		case err := <-done:
			t.Fatalf("processor: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("processor did not listen within 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "http://" + p.Addr().String()
}

// serve runs fn on ln until the test ends and returns the address; a failed shutdown
// fails the test.
func serve(t *testing.T, name string, ln net.Listener, fn func(ctx context.Context, ln net.Listener) error) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("%s stopped with: %v", name, err)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("%s did not stop within 60s", name)
		}
	})
	return ln.Addr().String()
}

func serveHandler(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func waitOK(t *testing.T, u string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 within %s (last: %v)", u, within, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// testLogger discards the services' logs, or shows their warnings with -v.
func testLogger(t *testing.T) *slog.Logger {
	t.Helper()
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.DiscardHandler)
}

// sdkBuild returns the SDK's script-tag build, building it (npm ci, npm run build in
// sdk-js) when it is missing: on a fresh clone `make test` runs the Go tests before the
// SDK's.
func sdkBuild(t *testing.T, root string) string {
	t.Helper()
	path := filepath.Join(root, "sdk-js", "dist", "clicktrail.min.js")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	dir := filepath.Join(root, "sdk-js")
	steps := [][]string{{"npm", "run", "build"}}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".bin", "esbuild")); err != nil {
		steps = append([][]string{{"npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"}}, steps...)
	}
	for _, s := range steps {
		t.Logf("sdk-js/dist is missing: running %v in sdk-js", s)
		cmd := exec.Command(s[0], s[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build the SDK (cd sdk-js && npm ci && npm run build): %v failed: %v\n%s", s, err, out)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the SDK build did not write %s", path)
	}
	return path
}
