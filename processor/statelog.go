package processor

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/processor/protocol"
	"github.com/clicktrail/clicktrail/schemas"
)

// The protocol's ports (protocol.Log, Out, Acker) on Pulsar's topics.

// Message properties of the session-state topic: a commit's writer, number and shard,
// so that an instance recognises its own commits and skips other shards' without
// decoding them; a marker's writer and number (see protocol.Machine.Before). The
// aggregates topic's messages carry their writer and number too.
const (
	writerProperty = "writer"
	seqProperty    = "seq"
	shardProperty  = "shard"
	markerProperty = "marker"
)

// stateLog is the session-state topic: a producer, a reader that follows the topic
// (from its end at start), and readers opened to load shards.
type stateLog struct {
	client pulsar.Client
	topic  string
	prod   pulsar.Producer
	reader pulsar.Reader
}

// msgPos is a position of the session-state topic.
type msgPos struct{ pulsar.MessageID }

func (p msgPos) After(o protocol.Pos) bool { return pulsarx.After(p.MessageID, o.(msgPos).MessageID) }
func (p msgPos) Bytes() []byte             { return p.Serialize() }
func (p msgPos) String() string            { return p.MessageID.String() }

func entryOf(msg pulsar.Message) protocol.Entry {
	props := msg.Properties()
	seq, _ := strconv.ParseUint(props[seqProperty], 10, 64)
	shard, err := strconv.Atoi(props[shardProperty])
	if err != nil {
		shard = -1
	}
	return protocol.Entry{Pos: msgPos{msg.ID()}, Writer: props[writerProperty], Seq: seq, Shard: shard, Marker: props[markerProperty], Payload: msg.Payload()}
}

func messageOf(e protocol.Entry) *pulsar.ProducerMessage {
	props := map[string]string{writerProperty: e.Writer}
	if e.Marker != "" {
		props[markerProperty] = e.Marker
	} else {
		props[seqProperty], props[shardProperty] = strconv.FormatUint(e.Seq, 10), strconv.Itoa(e.Shard)
	}
	return &pulsar.ProducerMessage{Payload: e.Payload, Properties: props}
}

func (l *stateLog) Append(ctx context.Context, e protocol.Entry, stored func(error)) {
	l.prod.SendAsync(ctx, messageOf(e), func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) { stored(err) })
}

func (l *stateLog) Write(ctx context.Context, e protocol.Entry) error {
	_, err := l.prod.Send(ctx, messageOf(e))
	return err
}

func (l *stateLog) Next(ctx context.Context) (protocol.Entry, error) { return next(ctx, l.reader) }

func (l *stateLog) HasNext() bool { return l.reader.HasNext() }

func (l *stateLog) ReadFrom(from protocol.Pos) (protocol.Reader, error) {
	start := pulsar.EarliestMessageID()
	if from != nil {
		start = from.(msgPos).MessageID
	}
	r, err := l.client.CreateReader(pulsar.ReaderOptions{Topic: l.topic, StartMessageID: start, ReceiverQueueSize: 1000})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", l.topic, err)
	}
	return stateReader{r}, nil
}

func (l *stateLog) Parse(b []byte) (protocol.Pos, error) {
	id, err := pulsar.DeserializeMessageID(b)
	if err != nil {
		return nil, err
	}
	return msgPos{id}, nil
}

type stateReader struct{ r pulsar.Reader }

func (r stateReader) Next(ctx context.Context) (protocol.Entry, error) { return next(ctx, r.r) }
func (r stateReader) Close()                                           { r.r.Close() }

func next(ctx context.Context, r pulsar.Reader) (protocol.Entry, error) {
	msg, err := r.Next(ctx)
	if err != nil {
		return protocol.Entry{}, err
	}
	return entryOf(msg), nil
}

// outputs are the sessions and aggregates topics.
type outputs struct {
	sessions, aggregates pulsar.Producer
	m                    *metrics
	log                  *slog.Logger
}

func (o *outputs) Sessions(ctx context.Context, sessions []schemas.Session) error {
	msgs := make([]*pulsar.ProducerMessage, 0, len(sessions))
	for i := range sessions {
		s := &sessions[i]
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("encode session %s: %w", s.SessionID, err)
		}
		msgs = append(msgs, &pulsar.ProducerMessage{Key: s.UserKey, Payload: b, EventTime: s.EndedAt})
	}
	return sendAll(ctx, o.sessions, msgs)
}

func (o *outputs) Aggregates(ctx context.Context, aggs []*protocol.Aggregate, stored func(error)) {
	var msgs []*pulsar.ProducerMessage
	for _, a := range aggs {
		m, err := aggregateMessages(a)
		if err != nil {
			// Cannot happen (see protocol.SplitAggregate); were it to, retrying would not help.
			o.m.skipped.WithLabelValues(schemas.TopicAggregates, "unencodable").Inc()
			o.log.Error("aggregate cannot be encoded, skipped", "err", err, "writer", a.Writer, "seq", a.Seq)
			continue
		}
		msgs = append(msgs, m...)
	}
	if len(msgs) == 0 {
		stored(nil)
		return
	}
	var (
		left  atomic.Int32
		mu    sync.Mutex
		first error
	)
	left.Store(int32(len(msgs)))
	for _, msg := range msgs {
		o.aggregates.SendAsync(ctx, msg, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			} else {
				o.m.aggregates.WithLabelValues("published").Inc()
			}
			if left.Add(-1) == 0 {
				mu.Lock()
				err := first
				mu.Unlock()
				stored(err)
			}
		})
	}
}

// acker acknowledges events of the events subscription.
type acker struct{ c pulsar.Consumer }

func (a acker) Ack(ids []protocol.EventID) error {
	list := make([]pulsar.MessageID, len(ids))
	for i, id := range ids {
		list[i] = id.(pulsar.MessageID)
	}
	return a.c.AckIDList(list)
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
				first = cmp.Or(first, err)
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
