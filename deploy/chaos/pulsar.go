package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/schemas"
)

// auditSubscription is the suite's own subscription on the events topic.
const auditSubscription = "chaos-audit"

// Tap counts, through a subscription of its own, how many copies of each messageId
// the events topic holds: a retried request the collector had stored before it died
// (or before the broker failed) is there twice, and the pipeline must remove the copy.
// It acknowledges as it reads, so it holds no backlog. A message redelivered to it
// (acknowledgements the broker had not persisted when it stopped) is counted once,
// by its Pulsar message id.
type Tap struct {
	consumer pulsar.Consumer
	stop     context.CancelFunc
	done     chan struct{}

	mu     sync.Mutex
	seen   map[string]bool       // Pulsar message ids read
	copies map[string][]Position // messageId → where the topic holds it, in the order read
	total  int
}

// Position is where a message lies in the events topic.
type Position struct {
	Partition            int32
	Ledger, Entry        int64
	Batch                int32
	Timestamp, Published time.Time // the event's corrected time, and the message's publish time
}

func (p Position) String() string {
	return fmt.Sprintf("partition %d %d:%d:%d (timestamp %s, published %s)", p.Partition, p.Ledger, p.Entry, max(p.Batch, 0),
		p.Timestamp.Format(time.StampMilli), p.Published.Format(time.StampMilli))
}

// before reports whether p lies before q in the same partition.
func (p Position) before(q Position) bool {
	if p.Ledger != q.Ledger {
		return p.Ledger < q.Ledger
	}
	if p.Entry != q.Entry {
		return p.Entry < q.Entry
	}
	return max(p.Batch, 0) < max(q.Batch, 0)
}

// StartTap subscribes to topic (from its earliest message) and counts.
func StartTap(client pulsar.Client, topic string) (*Tap, error) {
	c, err := client.Subscribe(pulsar.ConsumerOptions{
		Topic: topic, SubscriptionName: auditSubscription, Type: pulsar.Exclusive,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
		// A partition added while the suite runs (the cluster profile) is read soon.
		AutoDiscoveryPeriod: time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s to %s: %w", auditSubscription, topic, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Tap{consumer: c, stop: cancel, done: make(chan struct{}), seen: map[string]bool{}, copies: map[string][]Position{}}
	go func() {
		defer close(t.done)
		for {
			msg, err := c.Receive(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(100 * time.Millisecond) // the broker is away; the client reconnects
				continue
			}
			mid := msg.ID()
			id := string(mid.Serialize())
			var ev struct {
				Timestamp time.Time `json:"timestamp"`
			}
			_ = json.Unmarshal(msg.Payload(), &ev)
			pos := Position{Partition: mid.PartitionIdx(), Ledger: mid.LedgerID(), Entry: mid.EntryID(), Batch: mid.BatchIdx(), Timestamp: ev.Timestamp, Published: msg.PublishTime()}
			t.mu.Lock()
			if !t.seen[id] {
				t.seen[id] = true
				key := msg.Properties()["message_id"]
				t.copies[key] = append(t.copies[key], pos)
				t.total++
			}
			t.mu.Unlock()
			_ = c.Ack(msg)
		}
	}()
	return t, nil
}

// Copies returns how many messages of the topic hold each messageId, and the number
// of messages read.
func (t *Tap) Copies() (map[string]int, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]int, len(t.copies))
	for k, v := range t.copies {
		out[k] = len(v)
	}
	return out, t.total
}

// Positions returns where the topic holds messageId, in the order read.
func (t *Tap) Positions(id string) []Position {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Position(nil), t.copies[id]...)
}

// Close stops reading.
func (t *Tap) Close() {
	t.stop()
	<-t.done
	t.consumer.Close()
}

// withAdmin calls fn with an admin client of each broker of adminURLs in turn until
// one call succeeds: in a cluster, a broker may be down (a fault), and another answers
// for it (redirecting to the topic's owner where needed).
func withAdmin(adminURLs []string, fn func(pulsaradmin.Client) error) error {
	var errs []error
	for _, u := range adminURLs {
		admin, err := pulsaradmin.NewClient(&config.Config{WebServiceURL: u})
		if err == nil {
			if err = fn(admin); err == nil {
				return nil
			}
		}
		errs = append(errs, fmt.Errorf("%s: %w", u, err))
	}
	return errors.Join(errs...)
}

// Backlogs returns the backlog (in entries) of each subscription of the events topic.
func Backlogs(ctx context.Context, adminURLs []string, topic string) (map[string]int64, error) {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	err = withAdmin(adminURLs, func(admin pulsaradmin.Client) error {
		st, err := admin.Topics().GetPartitionedStatsWithContext(ctx, *tn, false)
		if err != nil {
			return fmt.Errorf("stats of %s: %w", topic, err)
		}
		for name, s := range st.Subscriptions {
			out[name] = s.MsgBacklog
		}
		return nil
	})
	return out, err
}

// Partitions returns the partition count of topic.
func Partitions(ctx context.Context, adminURLs []string, topic string) (int, error) {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return 0, err
	}
	n := 0
	err = withAdmin(adminURLs, func(admin pulsaradmin.Client) error {
		md, err := admin.Topics().GetMetadataWithContext(ctx, *tn)
		n = md.Partitions
		return err
	})
	return n, err
}

// Acknowledged returns, for each partition of topic, the position up to which
// subscription sub has acknowledged everything (the cursor's mark-delete position).
func Acknowledged(ctx context.Context, adminURLs []string, topic, sub string) (map[int32]Position, error) {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return nil, err
	}
	partitions, err := Partitions(ctx, adminURLs, topic)
	if err != nil {
		return nil, err
	}
	out := map[int32]Position{}
	for i := range partitions {
		pn, err := tn.GetPartition(i)
		if err != nil {
			return nil, err
		}
		var p Position
		err = withAdmin(adminURLs, func(admin pulsaradmin.Client) error {
			st, err := admin.Topics().GetInternalStatsWithContext(ctx, *pn)
			if err != nil {
				return fmt.Errorf("internal stats of %s: %w", pn, err)
			}
			if _, err := fmt.Sscanf(st.Cursors[sub].MarkDeletePosition, "%d:%d", &p.Ledger, &p.Entry); err != nil {
				return fmt.Errorf("mark-delete position %q of %s on %s: %w", st.Cursors[sub].MarkDeletePosition, sub, pn, err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		p.Partition = int32(i)
		out[p.Partition] = p
	}
	return out, nil
}

// ReadSessions reads the sessions topic from its start to its end and returns the
// last record of each sessionId (the topic is at least once: a crash can repeat one).
func ReadSessions(ctx context.Context, url, topic string) (map[string]schemas.Session, error) {
	client, err := pulsarx.NewClient(url, nil)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	r, err := client.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", topic, err)
	}
	defer r.Close()
	out := map[string]schemas.Session{}
	for r.HasNext() {
		msg, err := r.Next(ctx)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", topic, err)
		}
		var s schemas.Session
		if err := json.Unmarshal(msg.Payload(), &s); err != nil {
			return nil, errors.Join(fmt.Errorf("decode a session of %s", topic), err)
		}
		out[s.SessionID] = s
	}
	return out, nil
}
