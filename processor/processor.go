package processor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/internal/lifecycle"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/processor/protocol"
)

// Processor runs one pipeline per source namespace and serves the dashboard.
type Processor struct {
	cfg     Config
	log     *slog.Logger
	reg     prometheus.Gatherer
	m       *metrics
	sources sources.Sources
	store   *Store
	snaps   protocol.Snapshots // nil: no snapshots
	health  lifecycle.Health
	addr    atomic.Value // net.Addr once listening
}

// New checks cfg, reads the sources file and returns a processor to Run.
func New(cfg Config, log *slog.Logger, reg *prometheus.Registry) (*Processor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ss, err := sources.Load(cfg.SourcesFile)
	if err != nil {
		return nil, err
	}
	if cfg.Instance == "" {
		cfg.Instance = instanceName()
	}
	p := &Processor{cfg: cfg, log: log, reg: reg, m: newMetrics(reg), sources: ss, store: NewStoreKeeping(cfg.Retention, cfg.Keep, time.Now)}
	if cfg.SnapshotInterval > 0 {
		snaps, err := newS3Snapshots(&cfg)
		if err != nil {
			return nil, &lifecycle.ConfigError{Err: err}
		}
		p.snaps = snaps
	}
	return p, nil
}

// Addr is the address the HTTP server listens on, nil before Run has bound it.
func (p *Processor) Addr() net.Addr {
	a, _ := p.addr.Load().(net.Addr)
	return a
}

// Run processes and serves until ctx ends, or until a pipeline fails: the
// orchestrator then restarts the process.
func (p *Processor) Run(ctx context.Context) error {
	p.health.SetNotReady("loading session state")
	ln, err := net.Listen("tcp", p.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", p.cfg.Addr, err)
	}
	p.addr.Store(ln.Addr())
	client, err := pulsarx.NewClient(p.cfg.PulsarURL, p.log)
	if err != nil {
		ln.Close()
		return err
	}
	defer client.Close()

	var pipes []*pipeline
	seen := map[string]bool{}
	for _, src := range p.sources {
		ns := src.Tenant + "/" + src.Namespace
		if seen[ns] {
			continue // one pipeline per namespace; the first source's time zone applies
		}
		seen[ns] = true
		pl, err := newPipeline(client, p.cfg, src, p.cfg.Instance, p.store, p.snaps, p.m, p.log)
		if err != nil {
			for _, q := range pipes {
				q.close()
			}
			ln.Close()
			return err
		}
		pipes = append(pipes, pl)
	}

	// The stop order is the order of Add: readiness off → every pipeline's final
	// checkpoint at once (sessions and state flushed, then acknowledgements, within
	// ShutdownGrace), consumers and producers closed → stop the HTTP server, which
	// shows the dashboard and /metrics until then; then the client is closed.
	g := lifecycle.Group{Grace: p.cfg.ShutdownGrace + lifecycle.HTTPGrace}
	g.AddContext(ctx)
	loaded := make(chan struct{}, len(pipes))
	g.Add(p.readiness(loaded, len(pipes), ln.Addr()))
	working, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	for _, pl := range pipes {
		g.Add(func() error {
			return pl.run(working, func() { loaded <- struct{}{} })
		}, func(context.Context) error {
			stopWork() // every pipeline's: their final checkpoints run together
			return nil
		})
	}
	g.Add(lifecycle.HTTP(lifecycle.NewHTTPServer(p.Handler()), ln))
	err = g.Run()
	p.log.Info("processor stopped", "instance", p.cfg.Instance)
	return err
}

// readiness is the actor of the processor's readiness: ready once each of the n
// pipelines has loaded its state (one value on loaded each), not ready from the moment
// the stop begins.
func (p *Processor) readiness(loaded <-chan struct{}, n int, addr net.Addr) (run func() error, stop func(context.Context) error) {
	stopping := make(chan struct{})
	run = func() error {
		for range n {
			select {
			case <-loaded:
			case <-stopping:
				return nil
			}
		}
		p.health.SetReady()
		p.log.Info("processor ready", "addr", addr.String(), "instance", p.cfg.Instance)
		<-stopping
		return nil
	}
	stop = func(context.Context) error {
		p.health.SetNotReady("shutting down")
		close(stopping)
		return nil
	}
	return run, stop
}

func instanceName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}
