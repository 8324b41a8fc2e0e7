package demo

import (
	"flag"
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
	flagenv.Log
}

// DefaultConfig returns the defaults, which fit `make run`.
func DefaultConfig() Config {
	return Config{
		Addr: "127.0.0.1:8091", CollectorURL: "http://127.0.0.1:8088", WriteKey: "dev",
		SDKPath:       "sdk-js/dist/clicktrail.min.js",
		DashboardURL:  "http://127.0.0.1:8089/?tenant=clicktrail&key=dev-read",
		ShutdownGrace: 5 * time.Second, Log: flagenv.DefaultLog(),
	}
}

// RegisterFlags binds c's fields to flags and environment variables.
func (c *Config) RegisterFlags(fs *flag.FlagSet) *flagenv.Set {
	s := flagenv.New(fs)
	s.String(&c.Addr, "demo.addr", "address of the site, /healthz, /readyz and /metrics")
	s.String(&c.CollectorURL, "demo.collector-url", "collector base URL the pages send events to (its sources must allow this site's origin)")
	s.String(&c.WriteKey, "demo.write-key", "write key the pages send with")
	s.String(&c.SDKPath, "demo.sdk", "the SDK's script-tag build (cd sdk-js && npm ci && npm run build)")
	s.String(&c.DashboardURL, "demo.dashboard-url", "dashboard linked from the pages (empty: no link)")
	s.Duration(&c.ShutdownGrace, "demo.shutdown-grace", "time to finish requests at shutdown")
	s.Log(&c.Log)
	return s
}

// Validate checks the settings; errors name the setting. Whether the SDK file exists is
// checked by New, which reads it.
func (c *Config) Validate() error {
	var v flagenv.Validation
	v.Check(c.Addr != "", "demo.addr", c.Addr, "required")
	u := httpURL(c.CollectorURL)
	v.Check(u != nil && u.Host != "", "demo.collector-url", c.CollectorURL, "want an http(s) URL such as http://127.0.0.1:8088")
	v.Check(c.WriteKey != "", "demo.write-key", c.WriteKey, "required")
	v.Check(c.SDKPath != "", "demo.sdk", c.SDKPath, "required")
	v.Check(c.DashboardURL == "" || httpURL(c.DashboardURL) != nil, "demo.dashboard-url", c.DashboardURL, "want an http(s) URL or nothing")
	v.Check(c.ShutdownGrace > 0, "demo.shutdown-grace", c.ShutdownGrace.String(), "must be positive")
	return v.Err()
}

// httpURL returns s parsed when it is an http or https URL, nil otherwise.
func httpURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil
	}
	return u
}
