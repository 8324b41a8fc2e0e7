package pulsarx

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// The reconnect delay starts at 100 ms, doubles, and never exceeds half a second plus
// its jitter, however long the broker stays away; a success starts it over.
func TestReconnectBackoffIsCappedAtHalfASecond(t *testing.T) {
	b := newReconnectBackoff()
	var delays []time.Duration
	for range 20 {
		delays = append(delays, b.Next())
	}
	if d := delays[0]; d < 100*time.Millisecond || d > 120*time.Millisecond {
		t.Errorf("first delay %s, want 100-120 ms", d)
	}
	if d := delays[1]; d < 200*time.Millisecond || d > 240*time.Millisecond {
		t.Errorf("second delay %s, want 200-240 ms", d)
	}
	for i, d := range delays {
		if d > maxReconnectDelay*6/5 {
			t.Errorf("delay %d is %s, over %s plus 20 %%", i, d, maxReconnectDelay)
		}
	}
	if d := delays[len(delays)-1]; d < maxReconnectDelay {
		t.Errorf("after 20 attempts the delay is %s, want %s (plus jitter)", d, maxReconnectDelay)
	}
	b.Reset()
	if d := b.Next(); d > 120*time.Millisecond {
		t.Errorf("after a reset the delay is %s, want 100-120 ms", d)
	}
}

// optionsSeen is a pulsar.Client that records the options it is given.
type optionsSeen struct {
	pulsar.Client
	producer pulsar.ProducerOptions
	consumer pulsar.ConsumerOptions
	reader   pulsar.ReaderOptions
}

func (o *optionsSeen) CreateProducer(p pulsar.ProducerOptions) (pulsar.Producer, error) {
	o.producer = p
	return nil, nil
}

func (o *optionsSeen) Subscribe(c pulsar.ConsumerOptions) (pulsar.Consumer, error) {
	o.consumer = c
	return nil, nil
}

func (o *optionsSeen) CreateReader(r pulsar.ReaderOptions) (pulsar.Reader, error) {
	o.reader = r
	return nil, nil
}

// Every producer, consumer and reader of the client gets the partition discovery
// interval and the capped reconnect delay, unless its options set their own.
func TestClientSetsDiscoveryAndReconnectOptions(t *testing.T) {
	seen := &optionsSeen{}
	c := client{seen}
	_, _ = c.CreateProducer(pulsar.ProducerOptions{Topic: "t"})
	_, _ = c.Subscribe(pulsar.ConsumerOptions{Topic: "t"})
	_, _ = c.CreateReader(pulsar.ReaderOptions{Topic: "t"})
	if seen.producer.PartitionsAutoDiscoveryInterval != PartitionDiscovery || seen.producer.BackOffPolicyFunc == nil {
		t.Errorf("producer: discovery %s, reconnect policy set %v; want %s and set",
			seen.producer.PartitionsAutoDiscoveryInterval, seen.producer.BackOffPolicyFunc != nil, PartitionDiscovery)
	}
	if seen.consumer.AutoDiscoveryPeriod != PartitionDiscovery || seen.consumer.BackOffPolicyFunc == nil {
		t.Errorf("consumer: discovery %s, reconnect policy set %v; want %s and set",
			seen.consumer.AutoDiscoveryPeriod, seen.consumer.BackOffPolicyFunc != nil, PartitionDiscovery)
	}
	if seen.reader.BackoffPolicyFunc == nil {
		t.Error("reader: no reconnect policy")
	}
	if _, ok := seen.producer.BackOffPolicyFunc().(*reconnectBackoff); !ok {
		t.Errorf("producer's reconnect policy is %T, want the capped one", seen.producer.BackOffPolicyFunc())
	}

	_, _ = c.CreateProducer(pulsar.ProducerOptions{Topic: "t", PartitionsAutoDiscoveryInterval: time.Hour})
	_, _ = c.Subscribe(pulsar.ConsumerOptions{Topic: "t", AutoDiscoveryPeriod: time.Hour})
	if seen.producer.PartitionsAutoDiscoveryInterval != time.Hour || seen.consumer.AutoDiscoveryPeriod != time.Hour {
		t.Errorf("an interval of the caller's own was replaced: producer %s, consumer %s",
			seen.producer.PartitionsAutoDiscoveryInterval, seen.consumer.AutoDiscoveryPeriod)
	}
}

// A lookup that fails (its broker away, or the topic's bundle between owners) is
// tried again at most about half a second later, however long it has been failing: the
// library doubled the wait up to its 30 s request timeout, and a producer or consumer
// reconnecting through the lookup waited with it (internal/thirdparty, patch 5).
func TestLookupsRetryAtMostHalfASecondApart(t *testing.T) {
	// A "broker" that accepts each connection and closes it at once: every attempt
	// fails quickly, and each one is an accept here.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var mu sync.Mutex
	var accepts []time.Time
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			accepts = append(accepts, time.Now())
			mu.Unlock()
			c.Close()
		}
	}()
	c, err := NewClient("pulsar://"+l.Addr().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { _, _ = c.TopicPartitions("persistent://t/ns/events") }() // fails after the request timeout
	const watch = 7 * time.Second
	time.Sleep(watch)
	mu.Lock()
	defer mu.Unlock()
	if len(accepts) < 8 {
		t.Fatalf("%d attempts in %s", len(accepts), watch)
	}
	var longest time.Duration
	for i := 1; i < len(accepts); i++ {
		longest = max(longest, accepts[i].Sub(accepts[i-1]))
	}
	if longest > 900*time.Millisecond {
		t.Errorf("%d attempts in %s, %s apart at most; want at most about half a second", len(accepts), watch, longest)
	}
}
