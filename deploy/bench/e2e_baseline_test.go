//go:build linux

package bench_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/clicktrail/clicktrail/internal/testenv"
)

// rawTopic creates a partitioned topic of the benchmark's namespace for the baseline
// (testenv removes it with the namespace), with as many partitions as events.
func rawTopic(b *testing.B, env *testenv.Env, name string) string {
	b.Helper()
	topic := fmt.Sprintf("persistent://%s/%s/%s", env.Tenant, env.Namespace, name)
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		b.Fatal(err)
	}
	if err := env.Admin().Topics().Create(*tn, env.Provision.Partitions); err != nil {
		b.Fatalf("create %s: %v", topic, err)
	}
	return topic
}

// rawProducer is the baseline's producer: what the collector does with Pulsar,
// without HTTP or the collector: SendAsync, LZ4, key-based batching with the
// collector's batching delay.
func rawProducer(b *testing.B, env *testenv.Env, topic string) pulsar.Producer {
	b.Helper()
	p, err := env.Client().CreateProducer(pulsar.ProducerOptions{
		Topic: topic, CompressionType: pulsar.LZ4, BatcherBuilderType: pulsar.KeyBasedBatchBuilder,
		BatchingMaxPublishDelay: 5 * time.Millisecond, BatchingMaxMessages: 1000, MaxPendingMessages: 20000,
	})
	if err != nil {
		b.Fatalf("baseline producer: %v", err)
	}
	return p
}

func rawConsumer(b *testing.B, env *testenv.Env, topic string) pulsar.Consumer {
	b.Helper()
	c, err := env.Client().Subscribe(pulsar.ConsumerOptions{
		Topic: topic, SubscriptionName: "baseline", Type: pulsar.Failover,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest, ReceiverQueueSize: 2000,
	})
	if err != nil {
		b.Fatalf("baseline consumer: %v", err)
	}
	return c
}

// warmUp sends a message of each of 64 keys (every partition gets some) and waits
// until the consumer has them, so that the baseline starts, as the pipeline does, with
// its producer and consumer connected to every partition.
func warmUp(b *testing.B, prod pulsar.Producer, cons pulsar.Consumer) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const n = 64
	for i := range n {
		prod.SendAsync(ctx, &pulsar.ProducerMessage{Key: "warm-up-" + strconv.Itoa(i), Payload: []byte("{}")}, nil)
	}
	if err := prod.FlushWithCtx(ctx); err != nil {
		b.Fatalf("baseline warm-up: %v", err)
	}
	for range n {
		select {
		case msg := <-cons.Chan():
			_ = cons.Ack(msg)
		case <-ctx.Done():
			b.Fatalf("baseline warm-up: %v", ctx.Err())
		}
	}
}

// rawRoundTrip is the throughput baseline: the same events as the pipeline's, sent
// with SendAsync as fast as the producer takes them and received and acknowledged by
// one consumer on the same broker. It returns the time from the first send until the
// consumer has every event.
func rawRoundTrip(b *testing.B, env *testenv.Env, tr traffic, batches int) time.Duration {
	b.Helper()
	topic := rawTopic(b, env, "baseline-throughput-"+strconv.Itoa(int(time.Now().UnixNano()%1e9)))
	cons := rawConsumer(b, env, topic)
	defer cons.Close()
	prod := rawProducer(b, env, topic)
	defer prod.Close()
	warmUp(b, prod, cons)

	total := batches * batchSize
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	received := make(chan error, 1)
	start := time.Now()
	go func() {
		for n := 0; n < total; n++ {
			select {
			case msg := <-cons.Chan():
				_ = cons.Ack(msg)
			case <-ctx.Done():
				received <- fmt.Errorf("the baseline consumer received %d of %d events: %w", n, total, ctx.Err())
				return
			}
		}
		received <- nil
	}()
	var sendErr error
	var mu sync.Mutex
	for i := range batches {
		key, events := tr.batch(i, "", time.Now())
		for _, e := range events {
			prod.SendAsync(ctx, &pulsar.ProducerMessage{Key: key, Payload: e}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err != nil {
					mu.Lock()
					sendErr = err
					mu.Unlock()
				}
			})
		}
	}
	if err := prod.FlushWithCtx(ctx); err != nil {
		b.Fatalf("baseline flush: %v", err)
	}
	if err := <-received; err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	if sendErr != nil {
		b.Fatalf("baseline send: %v", sendErr)
	}
	return elapsed
}

// rawLatency is the latency baseline: batches of 20 events sent with SendAsync at
// rate batches a second for d, on the same broker; for every batch, the time from its
// first send until Pulsar acknowledged all 20 (publish) and until the consumer
// received all 20 (consume).
func rawLatency(b *testing.B, env *testenv.Env, tr traffic, rate float64, d time.Duration) (publish, consume []time.Duration) {
	b.Helper()
	topic := rawTopic(b, env, "baseline-latency-"+strconv.Itoa(int(time.Now().UnixNano()%1e9)))
	cons := rawConsumer(b, env, topic)
	defer cons.Close()
	prod := rawProducer(b, env, topic)
	defer prod.Close()
	warmUp(b, prod, cons)

	n := int(rate * d.Seconds())
	sent := make([]time.Time, n)
	acked := make([]int, n)
	got := make([]int, n)
	var mu sync.Mutex
	ctx, cancel := context.WithTimeout(context.Background(), d+5*time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		for left := n * batchSize; left > 0; left-- {
			select {
			case msg := <-cons.Chan():
				at := time.Now()
				_ = cons.Ack(msg)
				i, _ := strconv.Atoi(msg.Properties()["batch"])
				mu.Lock()
				if got[i]++; got[i] == batchSize {
					consume = append(consume, at.Sub(sent[i]))
				}
				mu.Unlock()
			case <-ctx.Done():
				done <- fmt.Errorf("the baseline consumer is missing %d events: %w", left, ctx.Err())
				return
			}
		}
		done <- nil
	}()
	var sendErr error
	start := time.Now()
	for i := range n {
		sleepCtx(ctx, time.Until(start.Add(time.Duration(float64(i)/rate*float64(time.Second)))))
		key, events := tr.batch(1_000_000+i, "", time.Now())
		props := map[string]string{"batch": strconv.Itoa(i)}
		mu.Lock()
		sent[i] = time.Now()
		mu.Unlock()
		for _, e := range events {
			prod.SendAsync(ctx, &pulsar.ProducerMessage{Key: key, Payload: e, Properties: props}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				at := time.Now()
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					sendErr = err
					return
				}
				if acked[i]++; acked[i] == batchSize {
					publish = append(publish, at.Sub(sent[i]))
				}
			})
		}
	}
	if err := prod.FlushWithCtx(ctx); err != nil {
		b.Fatalf("baseline flush: %v", err)
	}
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if sendErr != nil {
		b.Fatalf("baseline send: %v", sendErr)
	}
	return publish, consume
}
