package demo

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"time"

	"github.com/clicktrail/clicktrail/internal/flagenv"
)

// Config of the demo site; defaults in brackets, flags and CLICKTRAIL_* variables
// registered by RegisterFlags.
type Config struct {
	// Addr serves the site, /healthz, /readyz and /metrics [127.0.0.1:8091].
	Addr string
	// CollectorURL is where the pages' SDK sends events [http://127.0.0.1:8088]. The
	// collector's sources file must allow the site's origin (http://127.0.0.1:8091).
	CollectorURL string
	// WriteKey is the source the pages send as [dev].
	WriteKey string
	// SDKPath is the SDK's script-tag build, served at /clicktrail.min.js
	// [sdk-js/dist/clicktrail.min.js, built by `cd sdk-js && npm ci && npm run build`].
	SDKPath string
	// DashboardURL is linked from every page's footer; "" hides the link
	// [http://127.0.0.1:8089/?tenant=clicktrail&key=dev-read].
	DashboardURL string
	// ShutdownGrace bounds the HTTP shutdown [5s].
	ShutdownGrace time.Duration
	// LogLevel and LogFormat [info, json].
	LogLevel, LogFormat string
}

// DefaultConfig returns the defaults, which fit `make run`.
func DefaultConfig() Config {
	return Config{
		Addr: "127.0.0.1:8091", CollectorURL: "http://127.0.0.1:8088", WriteKey: "dev",
		SDKPath:       "sdk-js/dist/clicktrail.min.js",
		DashboardURL:  "http://127.0.0.1:8089/?tenant=clicktrail&key=dev-read",
		ShutdownGrace: 5 * time.Second, LogLevel: "info", LogFormat: "json",
	}
}

// RegisterFlags binds c's fields to flags and environment variables.
func (c *Config) RegisterFlags(fs *flag.FlagSet) *flagenv.Set {
	s := flagenv.New(fs)
	s.String(&c.Addr, "demo.addr", "CLICKTRAIL_DEMO_ADDR", "address of the site, /healthz, /readyz and /metrics")
	s.String(&c.CollectorURL, "demo.collector-url", "CLICKTRAIL_DEMO_COLLECTOR_URL", "collector base URL the pages send events to (its sources must allow this site's origin)")
	s.String(&c.WriteKey, "demo.write-key", "CLICKTRAIL_DEMO_WRITE_KEY", "write key the pages send with")
	s.String(&c.SDKPath, "demo.sdk", "CLICKTRAIL_DEMO_SDK", "the SDK's script-tag build (cd sdk-js && npm ci && npm run build)")
	s.String(&c.DashboardURL, "demo.dashboard-url", "CLICKTRAIL_DEMO_DASHBOARD_URL", "dashboard linked from the pages (empty: no link)")
	s.Duration(&c.ShutdownGrace, "demo.shutdown-grace", "CLICKTRAIL_DEMO_SHUTDOWN_GRACE", "time to finish requests at shutdown")
	s.String(&c.LogLevel, "log.level", "CLICKTRAIL_LOG_LEVEL", "log level: debug, info, warn, error")
	s.String(&c.LogFormat, "log.format", "CLICKTRAIL_LOG_FORMAT", "log format: json or text")
	return s
}

// Validate checks the settings; errors name the setting. Whether the SDK file exists is
// checked by New, which reads it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(flag, env string, v any, why string) {
		errs = append(errs, fmt.Errorf("invalid --%s (%s=%q): %s", flag, env, v, why))
	}
	if c.Addr == "" {
		bad("demo.addr", "CLICKTRAIL_DEMO_ADDR", c.Addr, "required")
	}
	if u, err := url.Parse(c.CollectorURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		bad("demo.collector-url", "CLICKTRAIL_DEMO_COLLECTOR_URL", c.CollectorURL, "want an http(s) URL such as http://127.0.0.1:8088")
	}
	if c.WriteKey == "" {
		bad("demo.write-key", "CLICKTRAIL_DEMO_WRITE_KEY", c.WriteKey, "required")
	}
	if c.SDKPath == "" {
		bad("demo.sdk", "CLICKTRAIL_DEMO_SDK", c.SDKPath, "required")
	}
	if c.DashboardURL != "" {
		if u, err := url.Parse(c.DashboardURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
			bad("demo.dashboard-url", "CLICKTRAIL_DEMO_DASHBOARD_URL", c.DashboardURL, "want an http(s) URL or nothing")
		}
	}
	if c.ShutdownGrace <= 0 {
		bad("demo.shutdown-grace", "CLICKTRAIL_DEMO_SHUTDOWN_GRACE", c.ShutdownGrace.String(), "must be positive")
	}
	return errors.Join(errs...)
}
