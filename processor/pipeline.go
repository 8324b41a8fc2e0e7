package processor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/processor/protocol"
	"github.com/clicktrail/clicktrail/schemas"
)

// expireEvery is how often quiet sessions are looked for.
const expireEvery = 2 * time.Second

// A batch of events is what arrives within batchWindow of its first event, at most
// maxBatch events: one read of the session-state topic to its end (a round trip to the
// broker) precedes each batch.
const (
	batchWindow = 20 * time.Millisecond
	maxBatch    = 10000
)

// pipeline processes one namespace on Pulsar: it consumes the events through the
// Key_Shared subscription and hands them to the protocol's Machine (sessions,
// commits, aggregates, shards: see package protocol), whose ports are the
// session-state, sessions and aggregates topics (statelog.go); and it tails the
// aggregates topic into the store.
type pipeline struct {
	cfg   Config
	ns    string // tenant/namespace, for logs and metrics
	log   *slog.Logger
	m     *metrics
	store *Store
	snaps protocol.Snapshots // nil: none
	now   func() time.Time
	mc    *protocol.Machine

	client     pulsar.Client
	consumer   pulsar.Consumer
	aggReader  pulsar.Reader // aggregates
	state      *stateLog
	sessions   pulsar.Producer
	aggregates pulsar.Producer

	lastSnap time.Time
	snapPos  []byte // the aggregates position of the last snapshot written (writeSnapshot)

	batch      []pulsar.ConsumerMessage
	keys       []string // the batch's keys
	lastExpire time.Time

	tailWG sync.WaitGroup
}

func newPipeline(client pulsar.Client, cfg Config, src *sources.Source, instance string, store *Store, snaps protocol.Snapshots, m *metrics, log *slog.Logger) (*pipeline, error) {
	loc, err := src.Location()
	if err != nil {
		return nil, err
	}
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	writer := instance + "-" + hex.EncodeToString(nonce[:])
	p := &pipeline{
		cfg: cfg, ns: src.Tenant + "/" + src.Namespace, store: store, snaps: snaps, client: client, m: m, now: time.Now,
		log: log.With("tenant", src.Tenant, "namespace", src.Namespace),
	}
	topic := func(name string) string { return schemas.Topic(src.Tenant, src.Namespace, name) }
	p.state = &stateLog{client: client, topic: topic(schemas.TopicSessionState)}
	fail := func(err error) (*pipeline, error) {
		p.close()
		return nil, err
	}
	// From the latest snapshot when there is one: its parts of aggregates read again
	// (were its position lost) would be repeats, so any start at or before it is exact.
	start := p.fromSnapshot()
	if start == nil {
		start = pulsar.EarliestMessageID()
	}
	if p.aggReader, err = client.CreateReader(pulsar.ReaderOptions{
		Topic: topic(schemas.TopicAggregates), StartMessageID: start, ReceiverQueueSize: 1000,
	}); err != nil {
		return fail(fmt.Errorf("read %s: %w", topic(schemas.TopicAggregates), err))
	}
	// The session state is read from its end: a shard's state is loaded when its keys
	// first arrive (see protocol.Machine.Before).
	if p.state.reader, err = client.CreateReader(pulsar.ReaderOptions{
		Topic: p.state.topic, StartMessageID: pulsar.LatestMessageID(), ReceiverQueueSize: 1000,
	}); err != nil {
		return fail(fmt.Errorf("read %s: %w", p.state.topic, err))
	}
	// Commits are up to 1 MiB each: no batching, so each is one entry.
	if p.state.prod, err = client.CreateProducer(pulsar.ProducerOptions{
		Topic: p.state.topic, CompressionType: pulsar.LZ4, DisableBatching: true,
		MaxPendingMessages: 1000,
	}); err != nil {
		return fail(fmt.Errorf("produce to %s: %w", p.state.topic, err))
	}
	if p.aggregates, err = client.CreateProducer(pulsar.ProducerOptions{
		Topic: topic(schemas.TopicAggregates), CompressionType: pulsar.LZ4, DisableBatching: true,
		MaxPendingMessages: 1000,
	}); err != nil {
		return fail(fmt.Errorf("produce to %s: %w", topic(schemas.TopicAggregates), err))
	}
	// Default batching: the archiver reads sessions through a Failover subscription,
	// in order; key-based batches would cost a buffer per key.
	if p.sessions, err = client.CreateProducer(pulsar.ProducerOptions{
		Topic: topic(schemas.TopicSessions), CompressionType: pulsar.LZ4,
		BatchingMaxPublishDelay: 2 * time.Millisecond, MaxPendingMessages: 10000,
	}); err != nil {
		return fail(fmt.Errorf("produce to %s: %w", topic(schemas.TopicSessions), err))
	}
	// The consumer comes last: no event arrives before the state can be read.
	if p.consumer, err = client.Subscribe(pulsar.ConsumerOptions{
		Topic: topic(schemas.TopicEvents), SubscriptionName: schemas.SubscriptionProcessor,
		Type: pulsar.KeyShared, SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
		Name: instance, ReceiverQueueSize: 5000,
	}); err != nil {
		return fail(fmt.Errorf("subscribe %s to %s: %w", schemas.SubscriptionProcessor, topic(schemas.TopicEvents), err))
	}
	p.mc = protocol.NewMachine(protocol.Config{
		Rules:  protocol.SessionRules{Inactivity: cfg.Inactivity, MaxDuration: cfg.MaxDuration, Location: loc, IdleTimeout: cfg.IdleTimeout, Retention: cfg.Retention},
		Writer: writer, Namespace: p.ns, Now: p.now,
		Log: p.state, Out: &outputs{sessions: p.sessions, aggregates: p.aggregates, m: m, log: p.log}, Acker: acker{p.consumer},
		Snapshots: snaps, Seen: p.seenAggregate, Metrics: m.protocol(p.ns), Logger: p.log,
	})
	return p, nil
}

// run processes until ctx ends, then writes a last checkpoint (within ShutdownGrace)
// and returns. ready is called once the aggregates have been read to their end.
func (p *pipeline) run(ctx context.Context, ready func()) error {
	// Aggregates first: the commits read next whose aggregate is already there need no
	// recovery.
	for p.aggReader.HasNext() {
		msg, err := p.aggReader.Next(ctx)
		if err != nil {
			p.close()
			return fmt.Errorf("read aggregates: %w", err)
		}
		p.takeAggregate(msg)
	}
	tailCtx, stopTail := context.WithCancel(context.Background())
	defer stopTail()
	p.tailWG.Add(1)
	go p.tailAggregates(tailCtx)
	if p.snaps != nil {
		p.tailWG.Add(1)
		go p.snapshotEvery(tailCtx, p.cfg.SnapshotInterval)
	}
	if err := p.mc.CatchUp(ctx); err != nil {
		stopTail()
		p.tailWG.Wait()
		p.close()
		return err
	}
	p.log.Info("pipeline ready: aggregates loaded; each shard of the session state loads when its keys arrive", "writer", p.mc.Writer())
	ready()
	err := p.loop(ctx)
	stopTail()
	p.tailWG.Wait()
	p.mc.Wait()
	if p.snaps != nil && err == nil {
		// The next instance starts from here.
		sctx, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownGrace)
		p.writeSnapshot(sctx)
		cancel()
	}
	p.close()
	return err
}

func (p *pipeline) loop(ctx context.Context) error {
	// due fires CheckpointInterval after the last checkpoint (and so, when idle, every
	// CheckpointInterval: the session-state topic is read then too).
	due := time.NewTimer(p.cfg.CheckpointInterval)
	defer due.Stop()
	window := time.NewTimer(batchWindow)
	defer window.Stop()
	in := p.consumer.Chan()
	// stop ends the loop on err: after the last checkpoint when ctx ended (err then
	// comes from ctx: what was not handled is redelivered), else with err.
	stop := func(err error) error {
		if ctx.Err() != nil {
			return p.shutdown()
		}
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return p.shutdown()
		case err := <-p.mc.Errs():
			return err
		case <-p.mc.Written():
			if err := p.mc.CatchUp(ctx); err != nil {
				return stop(err)
			}
		case msg := <-in:
			// Take what arrives within the batch window, then read every commit written
			// so far, then handle the batch: a key that moved here carries its previous
			// owner's last commit, written before its events could reach this instance.
			p.batch = append(p.batch[:0], msg)
			window.Reset(batchWindow)
		collect:
			for len(p.batch) < maxBatch && p.mc.Pending()+len(p.batch) < p.cfg.CheckpointEvents {
				select {
				case msg := <-in:
					p.batch = append(p.batch, msg)
				case <-window.C:
					break collect
				case <-ctx.Done():
					break collect
				}
			}
			p.keys = p.keys[:0]
			for _, msg := range p.batch {
				p.keys = append(p.keys, msg.Key())
			}
			if err := p.mc.Before(ctx, p.keys); err != nil {
				return stop(err)
			}
			for _, msg := range p.batch {
				if err := p.handle(ctx, msg); err != nil {
					return stop(err)
				}
				// A key's contributions reached its share of a commit: write them before
				// its next event.
				if p.mc.NeedsCheckpoint() {
					if err := p.mc.Checkpoint(ctx); err != nil {
						return stop(err)
					}
				}
			}
			clear(p.batch)
			if p.mc.Pending() >= p.cfg.CheckpointEvents {
				if err := p.mc.Checkpoint(ctx); err != nil {
					return stop(err)
				}
				due.Reset(p.cfg.CheckpointInterval)
			}
		case <-due.C:
			if err := p.mc.CatchUp(ctx); err != nil {
				return stop(err)
			}
			if now := p.now(); now.Sub(p.lastExpire) >= expireEvery {
				p.mc.Expire()
				p.lastExpire = now
				p.store.Prune()
				p.m.storeBuckets.Set(float64(p.store.Len()))
			}
			if p.snaps != nil && p.now().Sub(p.lastSnap) >= p.cfg.SnapshotInterval {
				p.lastSnap = p.now()
				if err := p.mc.SnapshotShards(ctx); err != nil {
					return stop(err)
				}
			} else if err := p.mc.Checkpoint(ctx); err != nil {
				return stop(err)
			}
			if err := p.mc.RecoverOrphans(ctx); err != nil {
				return stop(err)
			}
			due.Reset(p.cfg.CheckpointInterval)
		}
	}
}

func (p *pipeline) handle(ctx context.Context, msg pulsar.ConsumerMessage) error {
	id := msg.ID()
	e, err := schemas.DecodeStored(msg.Payload())
	if err != nil {
		p.mc.Skip(id)
		p.m.badEvents.Inc()
		p.log.Warn("undecodable event dropped", "err", err, "message_id", id.String())
		return nil
	}
	pos := protocol.Position{Partition: id.PartitionIdx(), Ledger: id.LedgerID(), Entry: id.EntryID(), Batch: id.BatchIdx()}
	out, err := p.mc.Add(ctx, id, msg.Key(), e, pos)
	if err != nil {
		return err
	}
	p.m.events.WithLabelValues(e.Tenant, out.String()).Inc()
	p.m.lag.WithLabelValues(p.ns).Set(p.now().Sub(msg.PublishTime()).Seconds())
	return nil
}

// shutdown writes the last checkpoint, so every event processed is acknowledged
// (readiness is already off); run then closes consumers and producers.
func (p *pipeline) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownGrace)
	defer cancel()
	err := p.mc.Shutdown(ctx)
	if err == nil {
		err = p.aggregates.FlushWithCtx(ctx)
	}
	if err != nil {
		return fmt.Errorf("final checkpoint of %s: %w", p.ns, err)
	}
	return nil
}

func (p *pipeline) close() {
	if p.consumer != nil {
		p.consumer.Close()
	}
	for _, prod := range []pulsar.Producer{p.sessions, p.state.prod, p.aggregates} {
		if prod != nil {
			prod.Close()
		}
	}
	for _, r := range []pulsar.Reader{p.state.reader, p.aggReader} {
		if r != nil {
			r.Close()
		}
	}
}
