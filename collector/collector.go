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
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/internal/lifecycle"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/retry"
	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/schemas"
)

// Collector is one running ingest API.
type Collector struct {
	cfg     Config
	log     *slog.Logger
	reg     prometheus.Gatherer
	metrics *metrics
	sources sources.Sources
	health  lifecycle.Health
	ready   *readiness
}

// New checks cfg and loads the sources; nothing connects until Run.
func New(cfg Config, log *slog.Logger, reg *prometheus.Registry) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ss, err := sources.Load(cfg.SourcesFile)
	if err != nil {
		return nil, err
	}
	c := &Collector{cfg: cfg, log: log, reg: reg, metrics: newMetrics(reg), sources: ss}
	c.ready = newReadiness(&c.health, time.Now)
	return c, nil
}

// Handler returns the HTTP handler (the API, /healthz, /readyz, and /metrics unless
// MetricsAddr moves it to a listener of its own) publishing through pub. Run uses it
// with the Pulsar publisher; benchmarks and tests with others.
func (c *Collector) Handler(pub Publisher) http.Handler {
	// Gin's mode is a package-level switch of the library; release mode only silences
	// its debug printing.
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(gin.Recovery())
	newAPI(&c.cfg, c.sources, pub, c.log, c.metrics, time.Now).routes(r)
	r.GET("/healthz", gin.WrapF(c.health.Healthz))
	r.GET("/readyz", gin.WrapF(c.health.Readyz))
	if c.cfg.MetricsAddr == "" {
		r.GET("/metrics", gin.WrapH(c.health.Mux(c.reg)))
	}
	return r
}

// httpServer returns a server of h with the collector's bounds: a header block of at
// most maxHeaderBytes (net/http answers 431 past it) and the read, write and idle
// timeouts of the config, so that no client holds a connection longer than they allow.
func (c *Collector) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: c.cfg.ReadHeaderTimeout,
		ReadTimeout:       c.cfg.ReadTimeout,
		WriteTimeout:      c.cfg.WriteTimeout,
		IdleTimeout:       c.cfg.IdleTimeout,
	}
}

// Run serves until ctx is done, then stops in the order Serve gives. Run is for a
// process of the collector's own: it first tunes the Go runtime (TuneRuntime).
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
	client, err := pulsarx.NewClient(c.cfg.PulsarURL, c.log)
	if err != nil {
		ln.Close()
		return err
	}
	defer client.Close()
	metricsLn, pprofLn, err := c.listenAside()
	if err != nil {
		ln.Close()
		return err
	}
	pub := newPulsarPublisher(client, &c.cfg, c.log, c.metrics)
	pub.outcome = c.ready.published
	c.ready.connecting(nil)

	// The stop order is the order of Add, all within ShutdownGrace: readiness off and
	// stop accepting → drain the requests in flight → flush the producers (every
	// acknowledgement a client still waits for) → stop the metrics listener, last so
	// that the final state stays visible while draining → stop the profiler; then the
	// Pulsar client is closed.
	g := lifecycle.Group{Grace: c.cfg.ShutdownGrace}
	g.AddContext(ctx)
	serveAPI, drainAPI := lifecycle.HTTP(c.httpServer(c.Handler(pub)), ln)
	g.Add(serveAPI, func(ctx context.Context) error {
		c.ready.stop("shutting down")
		return drainAPI(ctx)
	})
	watching, stopWatching := context.WithCancel(context.Background())
	g.Add(func() error {
		c.connect(watching, pub, client)
		return nil
	}, func(ctx context.Context) error {
		stopWatching()
		return pub.flushAndClose(ctx)
	})
	if metricsLn != nil {
		c.log.Info("metrics listening", "addr", metricsLn.Addr().String())
		g.Add(lifecycle.HTTP(c.httpServer(c.health.Mux(c.reg)), metricsLn))
	}
	if pprofLn != nil {
		c.log.Info("pprof listening", "addr", pprofLn.Addr().String())
		g.Add(servePprof(pprofLn))
	}
	c.log.Info("collector listening", "addr", ln.Addr().String(), "sources", len(c.sources))
	err = g.Run()
	c.log.Info("collector stopped")
	return err
}

// listenAside opens the listeners of the metrics server and the profiler, when their
// addresses are set (nil otherwise).
func (c *Collector) listenAside() (metrics, pprof net.Listener, err error) {
	if c.cfg.MetricsAddr != "" {
		if metrics, err = net.Listen("tcp", c.cfg.MetricsAddr); err != nil {
			return nil, nil, fmt.Errorf("listen for metrics on %s: %w", c.cfg.MetricsAddr, err)
		}
	}
	if c.cfg.PprofAddr != "" {
		if pprof, err = net.Listen("tcp", c.cfg.PprofAddr); err != nil {
			if metrics != nil {
				metrics.Close()
			}
			return nil, nil, fmt.Errorf("listen for pprof on %s: %w", c.cfg.PprofAddr, err)
		}
	}
	return metrics, pprof, nil
}

// connect creates the producers of every source's topics, retrying until it succeeds
// or ctx ends, then marks the collector ready and watches the broker (see readiness)
// until ctx ends.
func (c *Collector) connect(ctx context.Context, pub *pulsarPublisher, client pulsar.Client) {
	var topics []string
	for _, s := range c.sources {
		topics = append(topics, s.Topic(schemas.TopicEvents), s.Topic(schemas.TopicInvalid))
	}
	err := retry.Do(ctx, retry.Backoff{First: time.Second, Max: 30 * time.Second}, func() error { return pub.connect(topics) }, func(err error, wait time.Duration) {
		c.log.Warn("connect producers", "err", err, "retry_in", wait.String())
		c.ready.connecting(err)
	})
	if err != nil {
		return // ctx ended
	}
	c.log.Info("producers connected", "topics", len(topics))
	c.ready.connectedNow()
	probe := func() error {
		if _, err := client.TopicPartitions(topics[0]); err != nil {
			return fmt.Errorf("look up %s: %w", topics[0], err)
		}
		return nil
	}
	c.ready.watch(ctx, probeInterval, probeTimeout, probe)
}
