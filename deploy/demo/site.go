// Package demo is a small static website, "Acme Analytics", that embeds the Clicktrail
// browser SDK the way a customer's site does: the async loader snippet in each page's
// head and the script-tag build (sdk-js/dist/clicktrail.min.js) served by the site
// itself. Its pages (home, pricing, docs, a blog post and a signup form whose button
// sends a track event) link to each other, some links with utm_* campaign parameters,
// so a visitor clicking around produces page views, sessions, campaigns and events the
// dashboard and the archive show. `make run` serves it on http://127.0.0.1:8091.
package demo

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/internal/lifecycle"
)

// web holds the pages (one template each, sharing layout.html) and the stylesheet.
//
//go:embed web
var web embed.FS

// page is one page of the site.
type page struct {
	Path, File, Title string
	// Nav names the page in the navigation bar ("" keeps it out).
	Nav string
}

// pages of the site, in navigation order.
func pages() []page {
	return []page{
		{Path: "/", File: "home.html", Title: "Know your visitors", Nav: "Home"},
		{Path: "/pricing", File: "pricing.html", Title: "Pricing", Nav: "Pricing"},
		{Path: "/docs", File: "docs.html", Title: "Docs", Nav: "Docs"},
		{Path: "/blog/clickstream-at-scale", File: "blog.html", Title: "Clickstream at scale", Nav: "Blog"},
		{Path: "/signup", File: "signup.html", Title: "Sign up", Nav: "Sign up"},
	}
}

// SDKScript is the path the pages load the SDK from.
const SDKScript = "/clicktrail.min.js"

// Site serves the demo pages and the SDK.
type Site struct {
	cfg    Config
	log    *slog.Logger
	reg    prometheus.Gatherer
	health lifecycle.Health
	pages  []page
	tmpl   map[string]*template.Template // by page path
	// sdk and sdkMap are the script-tag build and its source map (nil when absent),
	// read once at start so a rebuild in progress never serves half a file.
	sdk, sdkMap []byte
	sdkTime     time.Time
}

// New checks cfg, reads the SDK build and parses the pages. A missing SDK build is an
// error that says how to build it.
func New(cfg Config, log *slog.Logger, reg *prometheus.Registry) (*Site, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Site{cfg: cfg, log: log, reg: reg, pages: pages(), tmpl: map[string]*template.Template{}}
	fi, err := os.Stat(cfg.SDKPath)
	if err != nil {
		return nil, fmt.Errorf("the SDK's script-tag build %s is missing (--demo.sdk, CLICKTRAIL_DEMO_SDK): build it with `cd sdk-js && npm ci && npm run build`: %w", cfg.SDKPath, err)
	}
	if s.sdk, err = os.ReadFile(cfg.SDKPath); err != nil {
		return nil, fmt.Errorf("read the SDK build: %w", err)
	}
	s.sdkTime = fi.ModTime()
	// The source map is optional: without it browsers show the minified code.
	if m, err := os.ReadFile(cfg.SDKPath + ".map"); err == nil {
		s.sdkMap = m
	}
	for _, p := range s.pages {
		t, err := template.ParseFS(web, "web/layout.html", "web/"+p.File)
		if err != nil {
			return nil, fmt.Errorf("parse page %s: %w", p.File, err)
		}
		s.tmpl[p.Path] = t
	}
	return s, nil
}

// Handler serves the pages, the SDK at /clicktrail.min.js, /style.css, /healthz,
// /readyz and /metrics.
func (s *Site) Handler() http.Handler {
	mux := s.health.Mux(s.reg)
	for _, p := range s.pages {
		pattern := "GET " + p.Path
		if p.Path == "/" {
			pattern = "GET /{$}"
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { s.render(w, r, p) })
	}
	mux.HandleFunc("GET "+SDKScript, func(w http.ResponseWriter, r *http.Request) {
		s.serveBytes(w, r, "text/javascript; charset=utf-8", s.sdk)
	})
	mux.HandleFunc("GET "+SDKScript+".map", func(w http.ResponseWriter, r *http.Request) {
		if s.sdkMap == nil {
			http.NotFound(w, r)
			return
		}
		s.serveBytes(w, r, "application/json", s.sdkMap)
	})
	mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, r *http.Request) {
		b, _ := fs.ReadFile(web, "web/style.css") // embedded: cannot fail
		s.serveBytes(w, r, "text/css; charset=utf-8", b)
	})
	return mux
}

// serveBytes answers with b, revalidated on every load (no-cache), so a rebuilt SDK
// reaches the browser after a restart of the site.
func (s *Site) serveBytes(w http.ResponseWriter, r *http.Request, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", s.sdkTime, bytes.NewReader(b))
}

// view is what a page template sees.
type view struct {
	Page         page
	Nav          []page
	Init         initOptions
	CollectorURL string
	WriteKey     string
	DashboardURL string
	SDKScript    string
}

// initOptions are the SDK's init options, written into each page as JSON.
type initOptions struct {
	WriteKey string `json:"writeKey"`
	Endpoint string `json:"endpoint"`
}

func (s *Site) render(w http.ResponseWriter, r *http.Request, p page) {
	v := view{
		Page: p, Nav: s.pages, Init: initOptions{WriteKey: s.cfg.WriteKey, Endpoint: s.cfg.CollectorURL},
		CollectorURL: s.cfg.CollectorURL, WriteKey: s.cfg.WriteKey, DashboardURL: s.cfg.DashboardURL,
		SDKScript: SDKScript,
	}
	var buf bytes.Buffer
	if err := s.tmpl[p.Path].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.log.Error("render page", "err", err, "page", p.Path)
		http.Error(w, "cannot render this page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(buf.Bytes())
}

// Run serves on cfg.Addr until ctx is done.
func (s *Site) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened (tests use port 0). Stop order:
// readiness off → stop accepting and finish requests in flight within ShutdownGrace.
func (s *Site) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	s.health.SetReady()
	s.log.Info("demo site listening", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/",
		"collector", s.cfg.CollectorURL, "sdk", s.cfg.SDKPath)
	g := lifecycle.Group{Grace: s.cfg.ShutdownGrace}
	g.AddContext(ctx)
	serve, drain := lifecycle.HTTP(srv, ln)
	g.Add(serve, func(ctx context.Context) error {
		s.health.SetNotReady("shutting down")
		return drain(ctx)
	})
	err := g.Run()
	s.log.Info("demo site stopped")
	return err
}
