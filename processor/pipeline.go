package processor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/schemas"
)

// Message properties of commits and aggregates: their writer and sequence number, so
// that an instance recognises its own commits without decoding them.
const (
	writerProperty = "writer"
	seqProperty    = "seq"
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

// pipeline processes one namespace: it consumes the events through the Key_Shared
// subscription, keeps the sessionizer, writes closed sessions, commits and
// aggregates, and tails the session-state topic (into the sessionizer) and the
// aggregates topic (into the store).
//
// Delivery: an event is acknowledged only after the sessions it closed are flushed,
// the commit holding it is flushed and read back as counting, and its aggregate is
// flushed. A crash redelivers the unacknowledged events; the key's committed position
// makes the replay idempotent. A crash between the sessions flush and the commit
// republishes those sessions (same sessionId): the sessions topic is at least once. A
// crash between the commit and its aggregate leaves the aggregate to the other
// instances (recoverAfter).
type pipeline struct {
	cfg     Config
	writer  string // this run's writer id: instance name and a random suffix
	markers uint64 // markers this run wrote to the session-state topic (see sync)
	ns      string // tenant/namespace, for logs and metrics
	log     *slog.Logger
	m       *metrics
	store   *Store
	snaps   Snapshots // nil: none
	rules   SessionRules
	z       *Sessionizer
	now     func() time.Time

	client     pulsar.Client
	stateTopic string
	consumer   pulsar.Consumer
	reader     pulsar.Reader // session-state, from its end at start
	aggReader  pulsar.Reader // aggregates
	state      pulsar.Producer
	sessions   pulsar.Producer
	aggregates pulsar.Producer

	// The shards whose keys this instance holds (see shards.go), when each last had
	// an event, and the last message of the session-state topic read.
	served    [stateShards]bool
	lastEvent [stateShards]time.Time
	lastRead  pulsar.MessageID
	lastSnap  time.Time
	snapPos   []byte // the aggregates position of the last snapshot written (writeSnapshot)

	pending    []pulsar.MessageID // processed, not in a checkpoint yet
	batch      []pulsar.ConsumerMessage
	lastExpire time.Time
	buf        []byte

	// The checkpoint written and not read back yet (at most one), and its commits.
	flight *flight
	own    map[uint64]*Commit
	// written is signalled when a commit of this instance is persisted: read it back.
	written chan struct{}
	// asyncErr receives the first error of a send or acknowledgement that runs on.
	asyncErr chan error
	// acking counts checkpoints whose aggregates are being published.
	acking  sync.WaitGroup
	overrun bool     // an own commit did not count
	orphans []orphan // other writers' counting commits whose aggregate was not seen

	tailWG sync.WaitGroup
}

func newPipeline(client pulsar.Client, cfg Config, src *sources.Source, instance string, store *Store, snaps Snapshots, m *metrics, log *slog.Logger) (*pipeline, error) {
	loc, err := src.Location()
	if err != nil {
		return nil, err
	}
	var nonce [4]byte
	_, _ = rand.Read(nonce[:])
	rules := SessionRules{Inactivity: cfg.Inactivity, MaxDuration: cfg.MaxDuration, Location: loc, IdleTimeout: cfg.IdleTimeout, Retention: cfg.Retention}
	p := &pipeline{
		cfg: cfg, writer: instance + "-" + hex.EncodeToString(nonce[:]), ns: src.Tenant + "/" + src.Namespace,
		store: store, snaps: snaps, rules: rules, client: client, m: m, now: time.Now, own: map[uint64]*Commit{},
		written: make(chan struct{}, 1), asyncErr: make(chan error, 1),
		log: log.With("tenant", src.Tenant, "namespace", src.Namespace),
	}
	p.z = NewSessionizer(rules, p.writer, p.now)
	p.rules = p.z.rules // with the defaults filled in
	topic := func(name string) string { return schemas.Topic(src.Tenant, src.Namespace, name) }
	p.stateTopic = topic(schemas.TopicSessionState)
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
	// first arrive (see load).
	if p.reader, err = client.CreateReader(pulsar.ReaderOptions{
		Topic: p.stateTopic, StartMessageID: pulsar.LatestMessageID(), ReceiverQueueSize: 1000,
	}); err != nil {
		return fail(fmt.Errorf("read %s: %w", topic(schemas.TopicSessionState), err))
	}
	// Commits are up to maxCommitBytes each: no batching, so each is one entry.
	if p.state, err = client.CreateProducer(pulsar.ProducerOptions{
		Topic: topic(schemas.TopicSessionState), CompressionType: pulsar.LZ4, DisableBatching: true,
		MaxPendingMessages: 1000,
	}); err != nil {
		return fail(fmt.Errorf("produce to %s: %w", topic(schemas.TopicSessionState), err))
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
	return p, nil
}

// run processes until ctx ends, then writes a last checkpoint (within ShutdownGrace)
// and returns. ready is called once the aggregates and the session state have been
// read to their ends.
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
	if err := p.catchUp(ctx); err != nil {
		stopTail()
		p.tailWG.Wait()
		p.close()
		return err
	}
	p.log.Info("pipeline ready: aggregates loaded; each shard of the session state loads when its keys arrive", "writer", p.writer)
	ready()
	err := p.loop(ctx)
	stopTail()
	p.tailWG.Wait()
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
		case err := <-p.asyncErr:
			return err
		case <-p.written:
			if err := p.catchUp(ctx); err != nil {
				return stop(err)
			}
		case msg := <-in:
			// Take what arrives within the batch window, then read every commit written
			// so far, then handle the batch: a key that moved here carries its previous
			// owner's last commit, written before its events could reach this instance.
			p.batch = append(p.batch[:0], msg)
			window.Reset(batchWindow)
		collect:
			for len(p.batch) < maxBatch && len(p.pending)+len(p.batch) < p.cfg.CheckpointEvents {
				select {
				case msg := <-in:
					p.batch = append(p.batch, msg)
				case <-window.C:
					break collect
				case <-ctx.Done():
					break collect
				}
			}
			if err := p.before(ctx, p.batch); err != nil {
				return stop(err)
			}
			for _, msg := range p.batch {
				if err := p.handle(ctx, msg); err != nil {
					return stop(err)
				}
				// A key's contributions reached its share of a commit: write them before
				// its next event (see Sessionizer.Checkpoint).
				if p.z.NeedsCheckpoint() {
					if err := p.checkpoint(ctx); err != nil {
						return stop(err)
					}
				}
			}
			clear(p.batch)
			if len(p.pending) >= p.cfg.CheckpointEvents {
				if err := p.checkpoint(ctx); err != nil {
					return stop(err)
				}
				due.Reset(p.cfg.CheckpointInterval)
			}
		case <-due.C:
			if err := p.catchUp(ctx); err != nil {
				return stop(err)
			}
			if now := p.now(); now.Sub(p.lastExpire) >= expireEvery {
				p.z.Expire()
				p.lastExpire = now
				p.store.Prune()
				p.m.storeBuckets.Set(float64(p.store.Len()))
			}
			if p.snaps != nil && p.cfg.SnapshotInterval > 0 && p.now().Sub(p.lastSnap) >= p.cfg.SnapshotInterval {
				p.lastSnap = p.now()
				if err := p.snapshotShards(ctx); err != nil {
					return stop(err)
				}
			} else if err := p.checkpoint(ctx); err != nil {
				return stop(err)
			}
			if err := p.recoverOrphans(ctx); err != nil {
				return stop(err)
			}
			due.Reset(p.cfg.CheckpointInterval)
		}
	}
}

func (p *pipeline) handle(ctx context.Context, msg pulsar.ConsumerMessage) error {
	p.pending = append(p.pending, msg.ID())
	e, err := schemas.DecodeStored(msg.Payload())
	if err != nil {
		p.m.badEvents.Inc()
		p.log.Warn("undecodable event dropped", "err", err, "message_id", msg.ID().String())
		return nil
	}
	if key := e.UserKey(); key != msg.Key() && !p.served[shardOf(key)] {
		// Keyed otherwise than by its user key (no collector does): its shard first
		// (before loaded the message key's).
		s := shardOf(key)
		var one [stateShards]bool
		one[s] = true
		if err := p.load(ctx, &one); err != nil {
			return err
		}
	}
	id := msg.ID()
	pos := position{Partition: id.PartitionIdx(), Ledger: id.LedgerID(), Entry: id.EntryID(), Batch: id.BatchIdx()}
	out := p.z.Add(e, &pos)
	p.m.events.WithLabelValues(e.Tenant, out.String()).Inc()
	p.m.lag.WithLabelValues(p.ns).Set(p.now().Sub(msg.PublishTime()).Seconds())
	return nil
}

// shutdown writes the last checkpoint, so every event processed is acknowledged
// (readiness is already off); run then closes consumers and producers.
func (p *pipeline) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownGrace)
	defer cancel()
	var err error
	if p.snaps != nil && p.cfg.SnapshotInterval > 0 {
		err = p.snapshotShards(ctx) // the next holder of each shard starts from here
	} else {
		err = p.checkpoint(ctx)
	}
	if err == nil {
		err = p.land(ctx)
	}
	if err == nil {
		err = p.aggregates.FlushWithCtx(ctx)
	}
	done := make(chan struct{})
	go func() { p.acking.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, ctx.Err())
	}
	select {
	case aerr := <-p.asyncErr:
		err = errors.Join(err, aerr)
	default:
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
	for _, prod := range []pulsar.Producer{p.sessions, p.state, p.aggregates} {
		if prod != nil {
			prod.Close()
		}
	}
	for _, r := range []pulsar.Reader{p.reader, p.aggReader} {
		if r != nil {
			r.Close()
		}
	}
}
