package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/schemas"
)

// writerProperty names the instance that wrote a state record, so that an instance
// skips its own records without decoding them.
const writerProperty = "writer"

// markerProperty marks a state message that is no record: an instance writes one and
// reads up to it to be sure it holds every record sent before (see sync).
const markerProperty = "marker"

// expireEvery is how often quiet sessions are looked for.
const expireEvery = 2 * time.Second

// pipeline processes one namespace: it consumes the events through the Key_Shared
// subscription, keeps the sessionizer, writes closed sessions and state records, and
// tails the session-state topic into the sessionizer and the store.
//
// Delivery: an event is acknowledged only after the sessions it closed and the state
// record that holds it are flushed to Pulsar. A crash redelivers the unacknowledged
// events; their key's record (position, messageIds) makes the replay idempotent. A
// crash between the sessions flush and the state flush republishes those sessions
// (same sessionId): the sessions topic is at least once.
type pipeline struct {
	cfg      Config
	self     string
	ns       string // tenant/namespace, for logs and metrics
	log      *slog.Logger
	m        *metrics
	store    *Store
	z        *Sessionizer
	now      func() time.Time
	consumer pulsar.Consumer
	reader   pulsar.Reader
	state    pulsar.Producer
	sessions pulsar.Producer

	pending    []pulsar.MessageID       // processed, not acknowledged
	batch      []pulsar.ConsumerMessage // received, being handled
	lastExpire time.Time
}

func newPipeline(client pulsar.Client, cfg Config, src Source, self string, store *Store, m *metrics, log *slog.Logger) (*pipeline, error) {
	loc, err := src.Location()
	if err != nil {
		return nil, err
	}
	rules := SessionRules{Inactivity: cfg.Inactivity, MaxDuration: cfg.MaxDuration, Location: loc, IdleTimeout: cfg.IdleTimeout}
	p := &pipeline{
		cfg: cfg, self: self, ns: src.Tenant + "/" + src.Namespace, store: store, m: m, now: time.Now,
		log: log.With("tenant", src.Tenant, "namespace", src.Namespace),
	}
	p.z = NewSessionizer(rules, self, p.now)
	topic := func(name string) string { return schemas.Topic(src.Tenant, src.Namespace, name) }
	closeAll := func() { p.close() }
	if p.reader, err = client.CreateReader(pulsar.ReaderOptions{
		Topic: topic(schemas.TopicSessionState), StartMessageID: pulsar.EarliestMessageID(),
		ReceiverQueueSize: 2000,
	}); err != nil {
		return nil, fmt.Errorf("read %s: %w", topic(schemas.TopicSessionState), err)
	}
	if p.state, err = client.CreateProducer(pulsar.ProducerOptions{
		Topic: topic(schemas.TopicSessionState), CompressionType: pulsar.LZ4,
		BatchingMaxPublishDelay: 2 * time.Millisecond, MaxPendingMessages: 10000,
	}); err != nil {
		closeAll()
		return nil, fmt.Errorf("produce to %s: %w", topic(schemas.TopicSessionState), err)
	}
	if p.sessions, err = client.CreateProducer(pulsar.ProducerOptions{
		Topic: topic(schemas.TopicSessions), CompressionType: pulsar.LZ4,
		BatchingMaxPublishDelay: 2 * time.Millisecond, BatcherBuilderType: pulsar.KeyBasedBatchBuilder,
	}); err != nil {
		closeAll()
		return nil, fmt.Errorf("produce to %s: %w", topic(schemas.TopicSessions), err)
	}
	// The consumer comes last: no event arrives before the state can be read.
	if p.consumer, err = client.Subscribe(pulsar.ConsumerOptions{
		Topic: topic(schemas.TopicEvents), SubscriptionName: schemas.SubscriptionProcessor,
		Type: pulsar.KeyShared, SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
		Name: self, ReceiverQueueSize: 2000,
	}); err != nil {
		closeAll()
		return nil, fmt.Errorf("subscribe %s to %s: %w", schemas.SubscriptionProcessor, topic(schemas.TopicEvents), err)
	}
	return p, nil
}

// run processes until ctx ends, then writes a last checkpoint (within ShutdownGrace)
// and returns. ready is called once the state topic has been read to its end.
func (p *pipeline) run(ctx context.Context, ready func()) error {
	if err := p.catchUp(ctx); err != nil {
		return err
	}
	p.log.Info("session state loaded", "keys", p.z.Keys(), "open_sessions", p.z.Open())
	ready()
	tick := time.NewTicker(p.cfg.CheckpointInterval)
	defer tick.Stop()
	lastCheckpoint := p.now()
	in := p.consumer.Chan()
	for {
		select {
		case <-ctx.Done():
			return p.shutdown()
		case msg := <-in:
			// Take what has arrived, up to a checkpoint's worth, then read every state
			// record written so far before handling any of it: a key that moved here
			// carries its previous owner's last record.
			batch := append(p.batch[:0], msg)
			for drained := false; !drained && len(p.pending)+len(batch) < p.cfg.CheckpointEvents; {
				select {
				case msg := <-in:
					batch = append(batch, msg)
				default:
					drained = true
				}
			}
			p.batch = batch
			if err := p.before(ctx, batch); err != nil {
				if ctx.Err() != nil {
					// The batch is not handled: it stays unacknowledged and is redelivered.
					return p.shutdown()
				}
				return err
			}
			for _, msg := range batch {
				p.handle(msg)
			}
			if len(p.pending) >= p.cfg.CheckpointEvents {
				if err := p.checkpoint(ctx); err != nil {
					return err
				}
				lastCheckpoint = p.now()
			}
		case <-tick.C:
			if err := p.catchUp(ctx); err != nil {
				if ctx.Err() != nil {
					return p.shutdown()
				}
				return err
			}
			if now := p.now(); now.Sub(p.lastExpire) >= expireEvery {
				p.z.Expire()
				p.lastExpire = now
			}
			if p.now().Sub(lastCheckpoint) >= p.cfg.CheckpointInterval {
				if err := p.checkpoint(ctx); err != nil {
					return err
				}
				lastCheckpoint = p.now()
			}
		}
	}
}

func (p *pipeline) handle(msg pulsar.ConsumerMessage) {
	p.pending = append(p.pending, msg.ID())
	e, err := schemas.DecodeStored(msg.Payload())
	if err != nil {
		p.m.badEvents.Inc()
		p.log.Warn("undecodable event dropped", "err", err, "message_id", msg.ID().String())
		return
	}
	id := msg.ID()
	pos := position{Partition: id.PartitionIdx(), Ledger: id.LedgerID(), Entry: id.EntryID(), Batch: id.BatchIdx()}
	out := p.z.Add(e, &pos)
	p.m.events.WithLabelValues(e.Tenant, out.String()).Inc()
	p.m.lag.WithLabelValues(p.ns).Set(p.now().Sub(msg.PublishTime()).Seconds())
}

// checkpoint publishes the closed sessions, then the changed keys' state records,
// flushes both, and then acknowledges the events processed since the last one.
func (p *pipeline) checkpoint(ctx context.Context) error {
	start := p.now()
	type folded struct {
		key string
		rec Record
	}
	var (
		records  []*pulsar.ProducerMessage
		sessions []*pulsar.ProducerMessage
		fold     []folded
		encErr   error
	)
	p.z.Checkpoint(func(key string, r *Record, closed []schemas.Session) {
		b, err := json.Marshal(r)
		if err != nil {
			encErr = errors.Join(encErr, fmt.Errorf("encode state of %s: %w", key, err))
			return
		}
		records = append(records, &pulsar.ProducerMessage{Key: key, Payload: b, Properties: map[string]string{writerProperty: p.self}})
		fold = append(fold, folded{key, Record{Tenant: r.Tenant, Delta: r.Delta, Ended: r.Ended}})
		for i := range closed {
			b, err := json.Marshal(&closed[i])
			if err != nil {
				encErr = errors.Join(encErr, fmt.Errorf("encode session %s: %w", closed[i].SessionID, err))
				continue
			}
			sessions = append(sessions, &pulsar.ProducerMessage{Key: key, Payload: b, EventTime: closed[i].EndedAt})
			p.m.sessionsClosed.WithLabelValues(closed[i].EndReason).Inc()
		}
	})
	if encErr != nil {
		return encErr
	}
	if err := sendAll(ctx, p.sessions, sessions); err != nil {
		return fmt.Errorf("publish closed sessions: %w", err)
	}
	if err := sendAll(ctx, p.state, records); err != nil {
		return fmt.Errorf("publish session state: %w", err)
	}
	if len(p.pending) > 0 {
		if err := p.consumer.AckIDList(p.pending); err != nil {
			return fmt.Errorf("acknowledge %d events: %w", len(p.pending), err)
		}
		p.pending = p.pending[:0]
	}
	// This instance's own records are skipped when tailing; fold them now they are
	// durable.
	for i := range fold {
		p.store.Fold(fold[i].key, &fold[i].rec)
	}
	p.m.stateRecords.WithLabelValues("written").Add(float64(len(records)))
	p.m.openSessions.WithLabelValues(p.ns).Set(float64(p.z.Open()))
	if len(records) > 0 || len(sessions) > 0 {
		p.m.checkpoint.Observe(p.now().Sub(start).Seconds())
	}
	return nil
}

// sendAll publishes msgs and waits until the broker has them all.
func sendAll(ctx context.Context, prod pulsar.Producer, msgs []*pulsar.ProducerMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	var (
		mu    sync.Mutex
		first error
	)
	for _, msg := range msgs {
		prod.SendAsync(ctx, msg, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	if err := prod.FlushWithCtx(ctx); err != nil {
		return fmt.Errorf("flush %s: %w", prod.Topic(), err)
	}
	mu.Lock()
	defer mu.Unlock()
	return first
}

// catchUp reads the session-state topic to its end: other instances' records replace
// what is held for their keys and their counts join the aggregates.
func (p *pipeline) catchUp(ctx context.Context) error {
	for p.reader.HasNext() {
		msg, err := p.reader.Next(ctx)
		if err != nil {
			return fmt.Errorf("read session state: %w", err)
		}
		p.take(msg)
	}
	p.m.openSessions.WithLabelValues(p.ns).Set(float64(p.z.Open()))
	return nil
}

// before makes sure the state of every key of batch is known before it is handled.
// For keys this instance owns, reading to the end of the session-state topic is enough.
// A key that comes from another instance may have a record on its way: its previous
// owner sent it and died before the broker stored it, while the broker already handed
// the key's unacknowledged events here. The end of the topic does not include it yet,
// so this instance writes a marker and reads up to it: the broker appends messages to
// a topic in the order it receives them, and it received that record before it noticed
// the death that moved the events here, so the record lies before the marker.
func (p *pipeline) before(ctx context.Context, batch []pulsar.ConsumerMessage) error {
	for _, msg := range batch {
		if !p.z.Owns(msg.Key()) {
			return p.sync(ctx)
		}
	}
	return p.catchUp(ctx)
}

// sync writes a marker to the session-state topic and reads every record up to it.
func (p *pipeline) sync(ctx context.Context) error {
	id, err := p.state.Send(ctx, &pulsar.ProducerMessage{Properties: map[string]string{writerProperty: p.self, markerProperty: "1"}})
	if err != nil {
		return fmt.Errorf("write a marker to session state: %w", err)
	}
	for {
		msg, err := p.reader.Next(ctx)
		if err != nil {
			return fmt.Errorf("read session state: %w", err)
		}
		p.take(msg)
		if m := msg.ID(); m.LedgerID() == id.LedgerID() && m.EntryID() == id.EntryID() && m.BatchIdx() == id.BatchIdx() {
			break
		}
	}
	p.m.openSessions.WithLabelValues(p.ns).Set(float64(p.z.Open()))
	return nil
}

// take applies one message of the session-state topic: another instance's record
// replaces what is held for its key and its counts join the aggregates.
func (p *pipeline) take(msg pulsar.Message) {
	p.m.stateRecords.WithLabelValues("read").Inc()
	if msg.Properties()[writerProperty] == p.self || msg.Properties()[markerProperty] != "" {
		return
	}
	var r Record
	if err := json.Unmarshal(msg.Payload(), &r); err != nil {
		p.log.Warn("undecodable state record skipped", "err", err, "message_id", msg.ID().String())
		return
	}
	if p.z.Apply(msg.Key(), &r) {
		p.store.Fold(msg.Key(), &r)
	} else {
		p.m.staleRecords.Inc()
	}
}

// shutdown writes the last checkpoint, so every event processed is acknowledged,
// then closes the consumer (readiness and HTTP are already off).
func (p *pipeline) shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ShutdownGrace)
	defer cancel()
	err := p.checkpoint(ctx)
	if err != nil {
		err = fmt.Errorf("final checkpoint of %s: %w", p.ns, err)
	}
	p.close()
	return err
}

func (p *pipeline) close() {
	if p.consumer != nil {
		p.consumer.Close()
	}
	if p.sessions != nil {
		p.sessions.Close()
	}
	if p.state != nil {
		p.state.Close()
	}
	if p.reader != nil {
		p.reader.Close()
	}
}
