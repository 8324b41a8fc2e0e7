// Package pulsarx holds the Pulsar client options every Clicktrail service shares.
package pulsarx

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsar/backoff"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

// DefaultURL is the development broker of deploy/local.
const DefaultURL = "pulsar://127.0.0.1:6650"

// PartitionDiscovery is how often the producers and consumers of a partitioned topic
// look for partitions added to it. The client library's default, a minute, left a
// partition added under load without consumers for up to a minute while the
// collector already wrote to it (the fault suite's cluster profile: 41.6 s to
// recover, against 1.1-4.8 s with 5 s).
const PartitionDiscovery = 5 * time.Second

// maxReconnectDelay caps the wait between two attempts to reconnect a producer,
// consumer or reader to its topic's broker. The library doubles it up to 60 s: when
// a broker of a cluster is SIGKILLed, its topics get a new owner only once its
// metadata session expires, and by then a producer's next attempt could be as far
// away again as the outage had lasted (the fault suite's cluster profile: requests
// waited 7.3 s at the 99th percentile for an owner that moved after about 6 s).
const maxReconnectDelay = 500 * time.Millisecond

// NewClient builds the one Pulsar client a process uses. The client library's own
// chatter (reconnect attempts, lookups) goes to log at warn level and above. Every
// producer, consumer and reader it creates looks for new partitions every
// PartitionDiscovery and retries a lost connection at least twice a second, unless
// its options say otherwise.
func NewClient(url string, log *slog.Logger) (pulsar.Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := pulsar.NewClient(pulsar.ClientOptions{
		URL:               url,
		ConnectionTimeout: 5 * time.Second,
		OperationTimeout:  30 * time.Second,
		Logger:            plog.NewLoggerWithSlog(slog.New(warnOnly{log.Handler()}).With("component", "pulsar-client")),
		MetricsRegisterer: nil,
	})
	if err != nil {
		return nil, fmt.Errorf("pulsar client %s: %w", url, err)
	}
	return client{c}, nil
}

// client sets the options NewClient promises on every producer, consumer and reader.
type client struct{ pulsar.Client }

func (c client) CreateProducer(o pulsar.ProducerOptions) (pulsar.Producer, error) {
	if o.PartitionsAutoDiscoveryInterval == 0 {
		o.PartitionsAutoDiscoveryInterval = PartitionDiscovery
	}
	if o.BackOffPolicyFunc == nil {
		o.BackOffPolicyFunc = newReconnectBackoff
	}
	return c.Client.CreateProducer(o)
}

func (c client) Subscribe(o pulsar.ConsumerOptions) (pulsar.Consumer, error) {
	if o.AutoDiscoveryPeriod == 0 {
		o.AutoDiscoveryPeriod = PartitionDiscovery
	}
	if o.BackOffPolicyFunc == nil {
		o.BackOffPolicyFunc = newReconnectBackoff
	}
	return c.Client.Subscribe(o)
}

func (c client) CreateReader(o pulsar.ReaderOptions) (pulsar.Reader, error) {
	if o.BackoffPolicyFunc == nil {
		o.BackoffPolicyFunc = newReconnectBackoff
	}
	return c.Client.CreateReader(o)
}

// reconnectBackoff waits 100 ms before the first attempt to reconnect, then twice as
// long each time up to maxReconnectDelay, plus up to 20 % of jitter so that the
// clients of a broker that went away do not all come back at the same instant.
type reconnectBackoff struct{ delay time.Duration }

func newReconnectBackoff() backoff.Policy { return &reconnectBackoff{} }

func (b *reconnectBackoff) Next() time.Duration {
	b.delay = min(max(2*b.delay, 100*time.Millisecond), maxReconnectDelay)
	return b.delay + rand.N(b.delay/5+1)
}

// IsMaxBackoffReached only feeds the library's metrics; attempts never stop.
func (b *reconnectBackoff) IsMaxBackoffReached() bool { return b.delay >= maxReconnectDelay }

func (b *reconnectBackoff) Reset() { b.delay = 0 }

// warnOnly drops records below warn level; the client logs every lookup at info.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(a)} }
func (h warnOnly) WithGroup(n string) slog.Handler      { return warnOnly{h.Handler.WithGroup(n)} }

// After reports whether message a comes after message b of one topic (or one
// partition): by ledger, entry and index in the batch.
func After(a, b pulsar.MessageID) bool {
	if a.LedgerID() != b.LedgerID() {
		return a.LedgerID() > b.LedgerID()
	}
	if a.EntryID() != b.EntryID() {
		return a.EntryID() > b.EntryID()
	}
	return a.BatchIdx() > b.BatchIdx()
}
