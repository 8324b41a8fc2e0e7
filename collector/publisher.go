package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// Message is one event on its way to a topic.
type Message struct {
	Key        string
	Payload    []byte
	Properties map[string]string
	EventTime  time.Time
}

// Publisher sends messages to topics. done is called exactly once with the outcome:
// nil only once the broker has acknowledged the message.
type Publisher interface {
	PublishAsync(ctx context.Context, topic string, msg *Message, done func(error))
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, topic string, msg *Message, done func(error))

// PublishAsync calls f.
func (f PublisherFunc) PublishAsync(ctx context.Context, topic string, msg *Message, done func(error)) {
	f(ctx, topic, msg, done)
}

// ErrOverloaded says a producer queue is full: answer at once, let the client retry.
var ErrOverloaded = errors.New("producer queue full")

// compressionType maps a value of --collector.compression to the client's type.
func compressionType(name string) (pulsar.CompressionType, bool) {
	switch name {
	case "none":
		return pulsar.NoCompression, true
	case "lz4":
		return pulsar.LZ4, true
	case "snappy":
		return pulsar.SNAPPY, true
	}
	return 0, false
}

// pulsarPublisher keeps one producer per topic on the process's one client.
type pulsarPublisher struct {
	client      pulsar.Client
	instance    string
	batchDelay  time.Duration
	maxPending  int
	compression pulsar.CompressionType
	log         *slog.Logger
	metrics     *metrics
	// outcome, when set, learns the outcome of every publish (see readiness).
	outcome func(error)

	mu        sync.Mutex
	producers map[string]pulsar.Producer
}

func newPulsarPublisher(client pulsar.Client, cfg *Config, log *slog.Logger, m *metrics) *pulsarPublisher {
	ct, _ := compressionType(cfg.Compression) // Validate checked it
	return &pulsarPublisher{
		client: client, instance: cfg.InstanceID, batchDelay: cfg.BatchDelay, maxPending: cfg.MaxPending,
		compression: ct, log: log, metrics: m, producers: map[string]pulsar.Producer{},
	}
}

// producer returns the topic's producer, creating it on first use.
func (p *pulsarPublisher) producer(topic string) (pulsar.Producer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pr, ok := p.producers[topic]; ok {
		return pr, nil
	}
	pr, err := p.client.CreateProducer(pulsar.ProducerOptions{
		Topic: topic,
		// A stable name lets the broker drop a message the client re-sends after a
		// reconnect (namespace de-duplication is on).
		Name:                    "collector-" + p.instance + "-" + strings.NewReplacer("persistent://", "", "/", "-").Replace(topic),
		CompressionType:         p.compression,
		BatcherBuilderType:      pulsar.KeyBasedBatchBuilder,
		BatchingMaxPublishDelay: p.batchDelay,
		BatchingMaxMessages:     1000,
		MaxPendingMessages:      p.maxPending,
		DisableBlockIfQueueFull: true,
		SendTimeout:             30 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("create producer for %s: %w", topic, err)
	}
	p.producers[topic] = pr
	return pr, nil
}

func (p *pulsarPublisher) PublishAsync(ctx context.Context, topic string, msg *Message, done func(error)) {
	pr, err := p.producer(topic)
	if err != nil {
		if p.outcome != nil {
			p.outcome(err)
		}
		done(err)
		return
	}
	start := time.Now()
	pr.SendAsync(ctx, &pulsar.ProducerMessage{
		Key: msg.Key, Payload: msg.Payload, Properties: msg.Properties, EventTime: msg.EventTime,
	}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
		p.metrics.publishSeconds.Observe(time.Since(start).Seconds())
		if errors.Is(err, pulsar.ErrSendQueueIsFull) || errors.Is(err, pulsar.ErrMemoryBufferIsFull) {
			err = ErrOverloaded
		}
		if p.outcome != nil {
			p.outcome(err)
		}
		if err != nil {
			err = fmt.Errorf("publish to %s: %w", topic, err)
		}
		done(err)
	})
}

// connect creates the producers of topics up front, so readiness means "can publish".
func (p *pulsarPublisher) connect(topics []string) error {
	for _, t := range topics {
		if _, err := p.producer(t); err != nil {
			return err
		}
	}
	return nil
}

// flushAndClose flushes every producer (waiting for outstanding acknowledgements) and
// closes it; the client is closed by the caller.
func (p *pulsarPublisher) flushAndClose(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for topic, pr := range p.producers {
		if err := pr.FlushWithCtx(ctx); err != nil {
			errs = append(errs, fmt.Errorf("flush producer of %s: %w", topic, err))
		}
		pr.Close()
	}
	p.producers = map[string]pulsar.Producer{}
	return errors.Join(errs...)
}
