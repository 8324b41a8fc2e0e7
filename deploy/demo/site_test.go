package demo

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const fakeSDK = "/* the SDK */ window.clicktrail = {};\n"

func testSite(t *testing.T, mutate func(*Config)) *httptest.Server {
	t.Helper()
	sdk := filepath.Join(t.TempDir(), "clicktrail.min.js")
	if err := os.WriteFile(sdk, []byte(fakeSDK), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sdk+".map", []byte(`{"version":3}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.SDKPath, cfg.CollectorURL, cfg.WriteKey = sdk, "http://127.0.0.1:18088", "site-key"
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func TestEveryPageLoadsTheSDKConfiguredForTheCollector(t *testing.T) {
	srv := testSite(t, nil)
	for _, p := range pages() {
		t.Run(p.Path, func(t *testing.T) {
			code, h, body := get(t, srv.URL+p.Path)
			if code != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				t.Fatalf("GET %s: %d %s", p.Path, code, h.Get("Content-Type"))
			}
			for _, want := range []string{
				`s.async=1;s.src="\/clicktrail.min.js";d.head.appendChild(s)`,
				`clicktrail.init({"writeKey":"site-key","endpoint":"http://127.0.0.1:18088"});`,
				`<body data-page="` + p.Path + `">`,
				`<title>` + p.Title + ` · Acme Analytics</title>`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("GET %s lacks %s", p.Path, want)
				}
			}
		})
	}
}

func TestEveryLinkOfTheSiteLeadsToAPage(t *testing.T) {
	srv := testSite(t, func(c *Config) { c.DashboardURL = "" })
	href := regexp.MustCompile(`href="([^"]*)"`)
	campaigns := 0
	for _, p := range pages() {
		_, _, body := get(t, srv.URL+p.Path)
		for _, m := range href.FindAllStringSubmatch(body, -1) {
			link := strings.ReplaceAll(m[1], "&amp;", "&")
			if !strings.HasPrefix(link, "/") {
				continue // the empty favicon (data:,)
			}
			if strings.Contains(link, "utm_campaign=") {
				campaigns++
			}
			if code, _, _ := get(t, srv.URL+link); code != http.StatusOK {
				t.Errorf("%s links to %s, which answers %d", p.Path, link, code)
			}
		}
	}
	if campaigns < 3 {
		t.Errorf("the site has %d links with utm parameters, want at least 3", campaigns)
	}
	if code, _, _ := get(t, srv.URL+"/no-such-page"); code != http.StatusNotFound {
		t.Errorf("an unknown page answers %d, want 404", code)
	}
}

func TestTheSignupButtonSendsATrackEvent(t *testing.T) {
	srv := testSite(t, nil)
	_, _, body := get(t, srv.URL+"/signup")
	for _, want := range []string{`id="signup-button"`, `clicktrail.track('Signed Up', { plan: chosen })`, `clicktrail.flush()`} {
		if !strings.Contains(body, want) {
			t.Errorf("the signup page lacks %s", want)
		}
	}
}

func TestTheSDKIsServedAsBuilt(t *testing.T) {
	srv := testSite(t, nil)
	code, h, body := get(t, srv.URL+SDKScript)
	if code != http.StatusOK || body != fakeSDK || !strings.HasPrefix(h.Get("Content-Type"), "text/javascript") {
		t.Errorf("GET %s: %d %q %q", SDKScript, code, h.Get("Content-Type"), body)
	}
	if code, _, body := get(t, srv.URL+SDKScript+".map"); code != http.StatusOK || body != `{"version":3}` {
		t.Errorf("GET the source map: %d %q", code, body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/style.css"} {
		if code, _, _ := get(t, srv.URL+path); code != http.StatusOK && !(path == "/readyz" && code == http.StatusServiceUnavailable) {
			t.Errorf("GET %s: %d", path, code)
		}
	}
}

func TestAMissingSDKBuildSaysHowToBuildIt(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SDKPath = filepath.Join(t.TempDir(), "dist", "clicktrail.min.js")
	_, err := New(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err == nil || !strings.Contains(err.Error(), "cd sdk-js && npm ci && npm run build") || !strings.Contains(err.Error(), cfg.SDKPath) {
		t.Fatalf("err = %v", err)
	}
}

func TestValidateNamesTheBadSetting(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"the defaults are valid", func(*Config) {}, ""},
		{"no address is refused", func(c *Config) { c.Addr = "" }, "--demo.addr (CLICKTRAIL_DEMO_ADDR"},
		{"a collector URL without a scheme is refused", func(c *Config) { c.CollectorURL = "127.0.0.1:8088" }, "--demo.collector-url (CLICKTRAIL_DEMO_COLLECTOR_URL"},
		{"an empty write key is refused", func(c *Config) { c.WriteKey = "" }, "--demo.write-key"},
		{"an empty SDK path is refused", func(c *Config) { c.SDKPath = "" }, "--demo.sdk"},
		{"a dashboard that is not a URL is refused", func(c *Config) { c.DashboardURL = "dashboard" }, "--demo.dashboard-url"},
		{"no dashboard is fine", func(c *Config) { c.DashboardURL = "" }, ""},
		{"a zero shutdown grace is refused", func(c *Config) { c.ShutdownGrace = 0 }, "--demo.shutdown-grace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tc.mutate(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
}

func TestFlagsOverrideEnvironmentOverridesDefaults(t *testing.T) {
	t.Setenv("CLICKTRAIL_DEMO_COLLECTOR_URL", "http://collector.internal:8088")
	t.Setenv("CLICKTRAIL_DEMO_WRITE_KEY", "from-env")
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"--demo.write-key", "from-flag", "--demo.shutdown-grace", "2s"}); err != nil {
		t.Fatal(err)
	}
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	if cfg.CollectorURL != "http://collector.internal:8088" || cfg.WriteKey != "from-flag" || cfg.ShutdownGrace != 2*time.Second || cfg.Addr != "127.0.0.1:8091" {
		t.Errorf("config = %+v", cfg)
	}
}

func TestTheSiteIsReadyWhileItServesAndStopsWithoutError(t *testing.T) {
	sdk := filepath.Join(t.TempDir(), "clicktrail.min.js")
	if err := os.WriteFile(sdk, []byte(fakeSDK), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.SDKPath = sdk
	s, err := New(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	if code, _, body := get(t, "http://"+ln.Addr().String()+"/readyz"); code != http.StatusOK {
		t.Fatalf("readyz while serving: %d %s", code, body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve = %v after its context ended", err)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("the site still answers after Serve returned")
	}
}
