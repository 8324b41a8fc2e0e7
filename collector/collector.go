// Package collector is Clicktrail's ingest API: the Segment HTTP Tracking API on Gin.
//
// A request is answered 200 only after Pulsar has acknowledged every event of it:
// valid events in the source's partitioned events topic (keyed by user key, key-based
// batches, LZ4 by default: see Config.Compression), invalid ones with their reason in
// events-invalid. When the broker is unavailable, the producer queues are full or too
// many requests are in flight the answer is 503 with Retry-After, and the client
// retries; a retry may store an event twice, which readers remove by messageId.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/internal/lifecycle"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/schemas"
)

// Collector is one running ingest API.
type Collector struct {
	cfg     Config
	log     *slog.Logger
	reg     prometheus.Gatherer
	metrics *metrics
	sources Sources
	health  lifecycle.Health
}

// New checks cfg and loads the sources; nothing connects until Run.
func New(cfg Config, log *slog.Logger, reg *prometheus.Registry) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sources, err := LoadSources(cfg.SourcesFile)
	if err != nil {
		return nil, err
	}
	return &Collector{cfg: cfg, log: log, reg: reg, metrics: newMetrics(reg), sources: sources}, nil
}

// Handler returns the HTTP handler (the API, /healthz, /readyz and /metrics) publishing
// through pub. Run uses it with the Pulsar publisher; benchmarks and tests with others.
func (c *Collector) Handler(pub Publisher) http.Handler {
	// Gin's mode is a package-level switch of the library; release mode only silences
	// its debug printing.
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	newAPI(&c.cfg, c.sources, pub, c.log, c.metrics, time.Now).routes(r)
	mux := c.health.Mux(c.reg)
	r.GET("/healthz", gin.WrapF(c.health.Healthz))
	r.GET("/readyz", gin.WrapF(c.health.Readyz))
	r.GET("/metrics", gin.WrapH(mux))
	return r
}

// Run serves until ctx is done, then shuts down in order: readiness off → stop
// accepting and drain requests in flight → flush the producers (every acknowledgement
// a client still waits for) → close the Pulsar client. Run is for a process of the
// collector's own: it first tunes the Go runtime (TuneRuntime).
func (c *Collector) Run(ctx context.Context) error {
	c.TuneRuntime()
	ln, err := net.Listen("tcp", c.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.cfg.Addr, err)
	}
	return c.Serve(ctx, ln)
}

// TuneRuntime applies the process-wide settings of the Go runtime: the garbage
// collector's target (GCPercent) and the soft memory limit (MemoryLimitMB). Serve does
// not, so that tests and a process embedding the collector among other services keep
// their own.
func (c *Collector) TuneRuntime() {
	if c.cfg.GCPercent > 0 {
		debug.SetGCPercent(c.cfg.GCPercent)
	}
	if c.cfg.MemoryLimitMB > 0 {
		debug.SetMemoryLimit(c.cfg.MemoryLimitMB << 20)
	}
}

// Serve is Run on a listener the caller opened (tests use port 0), without tuning the
// runtime.
func (c *Collector) Serve(ctx context.Context, ln net.Listener) error {
	if c.cfg.PprofAddr != "" {
		if err := servePprof(ctx, c.cfg.PprofAddr, c.log); err != nil {
			ln.Close()
			return err
		}
	}
	client, err := pulsarx.NewClient(c.cfg.PulsarURL, c.log)
	if err != nil {
		ln.Close()
		return err
	}
	defer client.Close()
	pub := newPulsarPublisher(client, &c.cfg, c.log, c.metrics)

	c.health.SetNotReady("connecting to pulsar")
	go c.connect(ctx, pub)

	srv := &http.Server{Handler: c.Handler(pub), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}
	c.log.Info("collector listening", "addr", ln.Addr().String(), "sources", len(c.sources))
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		return fmt.Errorf("serve http: %w", err)
	case <-ctx.Done():
	}

	c.health.SetNotReady("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.cfg.ShutdownGrace)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("drain http: %w", err))
	}
	if err := pub.flushAndClose(sctx); err != nil {
		errs = append(errs, err)
	}
	c.log.Info("collector stopped")
	return errors.Join(errs...)
}

// connect creates the producers of every source's topics, retrying until it succeeds
// or ctx ends, and then marks the collector ready.
func (c *Collector) connect(ctx context.Context, pub *pulsarPublisher) {
	var topics []string
	for _, s := range c.sources {
		topics = append(topics, s.Topic(schemas.TopicEvents), s.Topic(schemas.TopicInvalid))
	}
	for delay := time.Second; ; delay = min(2*delay, 30*time.Second) {
		err := pub.connect(topics)
		if err == nil {
			c.health.SetReady()
			c.log.Info("producers connected", "topics", len(topics))
			return
		}
		c.log.Warn("connect producers", "err", err, "retry_in", delay.String())
		c.health.SetNotReady("pulsar: " + err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}
