// Package archiver writes every event, rejected event and closed session into Parquet
// files in an S3-compatible object store, effectively once.
//
// Delivery contract: the archiver reads each topic partition through the Failover
// subscription "archiver" (one active reader per partition; a standby takes over when it
// dies), writes the partition's messages into one file at a time, stores the file, and
// only then acknowledges cumulatively up to the file's last message. A crash before the
// acknowledgement replays the partition from the file's first message; the rebuilt file
// has the same name (it derives from that message's id) and replaces the stored one.
// Nothing acknowledged is lost and nothing is stored twice. A client's retry that the
// collector stored twice (same messageId, same partition) is dropped within the
// de-duplication window.
package archiver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/internal/lifecycle"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/retry"
	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/schemas"
)

// Archiver is one running archiver.
type Archiver struct {
	cfg        Config
	log        *slog.Logger
	reg        prometheus.Gatherer
	metrics    *metrics
	namespaces []sources.Namespace
	store      ObjectStore
	health     lifecycle.Health
}

// New checks cfg and reads the namespaces to archive; nothing connects until Run.
// A nil store means the object store of cfg.
func New(cfg Config, log *slog.Logger, reg *prometheus.Registry, store ObjectStore) (*Archiver, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ss, err := sources.Load(cfg.SourcesFile)
	if err != nil {
		return nil, err
	}
	if store == nil {
		if store, err = newMinioStore(&cfg); err != nil {
			return nil, err
		}
	}
	return &Archiver{cfg: cfg, log: log, reg: reg, metrics: newMetrics(reg), namespaces: ss.Namespaces(), store: store}, nil
}

// Run serves health and metrics on cfg.Addr and archives until ctx is done.
func (a *Archiver) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Addr, err)
	}
	return a.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened.
func (a *Archiver) Serve(ctx context.Context, ln net.Listener) error {
	client, err := pulsarx.NewClient(a.cfg.PulsarURL, a.log)
	if err != nil {
		ln.Close()
		return err
	}
	defer client.Close()

	// The stop order is the order of Add: every partition's open file stored and
	// acknowledged (within ShutdownGrace), consumers closed, readiness off → stop the
	// HTTP server, which shows /metrics until then; then the client is closed.
	g := lifecycle.Group{Grace: a.cfg.ShutdownGrace + lifecycle.HTTPGrace}
	g.AddContext(ctx)
	archiving, stopArchiving := context.WithCancel(context.Background())
	defer stopArchiving()
	g.Add(func() error {
		return a.archive(archiving, client)
	}, func(context.Context) error {
		stopArchiving()
		return nil
	})
	g.Add(lifecycle.HTTP(lifecycle.NewHTTPServer(a.health.Mux(a.reg)), ln))
	err = g.Run()
	a.log.Info("archiver stopped")
	return err
}

// archive subscribes to every archived topic, then consumes each until ctx ends or
// one fails, which stops them all, and the process: the orchestrator restarts it.
func (a *Archiver) archive(ctx context.Context, client pulsar.Client) error {
	a.health.SetNotReady("subscribing")
	subs, err := a.subscribe(ctx, client)
	if err != nil {
		return err
	}
	a.health.SetReady()
	a.log.Info("archiver running", "topics", len(subs), "bucket", a.cfg.Bucket)

	var g lifecycle.Group
	consuming, stop := context.WithCancel(ctx)
	defer stop()
	for _, sub := range subs {
		g.Add(func() error {
			defer sub.consumer.Close()
			return a.consume(consuming, sub)
		}, func(context.Context) error {
			stop() // every subscription's: their final flushes run together
			return nil
		})
	}
	err = g.Run()
	a.health.SetNotReady("stopped")
	return err
}

type subscription struct {
	consumer pulsar.Consumer
	tenant   string
	table    *table
}

// subscribe attaches a Failover consumer to each archived topic of each namespace,
// retrying while the broker is unreachable.
func (a *Archiver) subscribe(ctx context.Context, client pulsar.Client) ([]subscription, error) {
	var out []subscription
	for _, ns := range a.namespaces {
		for _, name := range []string{schemas.TopicEvents, schemas.TopicInvalid, schemas.TopicSessions} {
			topic, tbl := schemas.Topic(ns.Tenant, ns.Namespace, name), tableOf(name)
			var c pulsar.Consumer
			err := retry.Do(ctx, retry.Backoff{First: time.Second, Max: 30 * time.Second}, func() (err error) {
				c, err = client.Subscribe(pulsar.ConsumerOptions{
					Topic: topic, SubscriptionName: schemas.SubscriptionArchiver, Type: pulsar.Failover,
					SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
					ReceiverQueueSize:           tbl.prefetch,
					// A file may end inside a batch: with batch-index acknowledgement (also on
					// in the broker) a replay starts right after the file's last message, not
					// at the start of its batch.
					EnableBatchIndexAcknowledgment: true,
					// Acknowledge synchronously: the next file starts only once the broker
					// has recorded the previous one, so at most one stored file is ever
					// unacknowledged, and a replay rebuilds exactly that one.
					AckWithResponse: true,
				})
				return err
			}, func(err error, wait time.Duration) {
				a.log.Warn("subscribe", "topic", topic, "err", err, "retry_in", wait.String())
				a.health.SetNotReady("pulsar: " + err.Error())
			})
			if err != nil {
				for _, s := range out {
					s.consumer.Close()
				}
				return nil, ctx.Err()
			}
			out = append(out, subscription{consumer: c, tenant: ns.Tenant, table: tbl})
		}
	}
	return out, nil
}

// consume reads one subscription until ctx ends, then stores every open file.
func (a *Archiver) consume(ctx context.Context, sub subscription) error {
	r := &roller{cfg: &a.cfg, store: a.store, now: time.Now, metrics: a.metrics, onStoreError: a.storeHealth}
	streams := map[string]*stream{}
	tick := time.NewTicker(max(a.cfg.RollAge/4, 50*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return a.flush(r, sub, streams)
		case <-tick.C:
			for _, s := range streams {
				if err := r.tick(ctx, s, sub.consumer); err != nil && ctx.Err() == nil {
					return err
				}
			}
		case cm, ok := <-sub.consumer.Chan():
			if !ok {
				return a.flush(r, sub, streams)
			}
			msg := cm.Message
			s := streams[msg.Topic()]
			if s == nil {
				s = &stream{topic: msg.Topic(), tenant: sub.tenant, table: sub.table}
				streams[msg.Topic()] = s
			}
			a.metrics.lagSeconds.WithLabelValues(msg.Topic()).Set(time.Since(msg.PublishTime()).Seconds())
			if err := r.add(ctx, s, sub.consumer, msg); err != nil {
				if ctx.Err() != nil {
					return a.flush(r, sub, streams)
				}
				return fmt.Errorf("archive %s: %w", msg.Topic(), err)
			}
		}
	}
}

// flush stores and acknowledges every open file within the shutdown grace. What it
// cannot store stays unacknowledged and is replayed by the next owner.
func (a *Archiver) flush(r *roller, sub subscription, streams map[string]*stream) error {
	ctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownGrace)
	defer cancel()
	var errs []error
	for _, s := range streams {
		if err := r.roll(ctx, s, sub.consumer); err != nil {
			errs = append(errs, fmt.Errorf("final flush of %s: %w", s.topic, err))
		} else if err := r.ackSkipped(ctx, s, sub.consumer); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// storeHealth turns readiness off while uploads fail, and on again when one succeeds.
func (a *Archiver) storeHealth(err error) {
	if err != nil {
		if a.health.Ready() {
			a.log.Warn("object store unavailable; retrying, nothing acknowledged meanwhile", "err", err)
		}
		a.health.SetNotReady("object store: " + err.Error())
		return
	}
	if !a.health.Ready() {
		a.log.Info("object store available again")
		a.health.SetReady()
	}
}
