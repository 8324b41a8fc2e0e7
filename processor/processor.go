package processor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/internal/lifecycle"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/sources"
)

// Processor runs one pipeline per source namespace and serves the dashboard.
type Processor struct {
	cfg     Config
	log     *slog.Logger
	reg     prometheus.Gatherer
	m       *metrics
	sources sources.Sources
	store   *Store
	snaps   Snapshots // nil: no snapshots
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

// Run processes and serves until ctx ends. Stop order: readiness off → stop
// accepting HTTP → each pipeline's final checkpoint (sessions and state flushed, then
// acknowledgements) → consumers and producers closed → client closed.
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

	srv := lifecycle.NewHTTPServer(p.Handler())
	httpCtx, stopHTTP := context.WithCancel(context.Background())
	defer stopHTTP()
	httpErr := make(chan error, 1)
	go func() { httpErr <- lifecycle.Serve(httpCtx, srv, ln, p.cfg.ShutdownGrace) }()

	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	var (
		wg      sync.WaitGroup
		errsMu  sync.Mutex
		errs    []error
		readyN  atomic.Int32
		pending = int32(len(pipes))
	)
	for _, pl := range pipes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := pl.run(workCtx, func() {
				if readyN.Add(1) == pending {
					p.health.SetReady()
					p.log.Info("processor ready", "addr", ln.Addr().String(), "instance", p.cfg.Instance)
				}
			})
			if err != nil {
				errsMu.Lock()
				errs = append(errs, err)
				errsMu.Unlock()
				stopWork() // one pipeline failing stops the process: the orchestrator restarts it
			}
		}()
	}
	var serveErr error
	select {
	case <-workCtx.Done():
		p.health.SetNotReady("shutting down")
		stopHTTP()
		serveErr = <-httpErr
	case serveErr = <-httpErr:
		p.health.SetNotReady("http server stopped")
		stopWork()
	}
	wg.Wait()
	if serveErr != nil {
		errs = append(errs, serveErr)
	}
	p.log.Info("processor stopped", "instance", p.cfg.Instance)
	return errors.Join(errs...)
}

func instanceName() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}
