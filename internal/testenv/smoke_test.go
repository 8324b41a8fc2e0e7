package testenv_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/minio/minio-go/v7"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// TestKeySharedDeliversEveryKeyedMessageOnceInOrderToOneConsumer is the smoke test of
// the real broker: the delivery properties the processor relies on hold end to end.
func TestKeySharedDeliversEveryKeyedMessageOnceInOrderToOneConsumer(t *testing.T) {
	env := testenv.New(t)
	topic := env.Topic(schemas.TopicEvents)
	const messages, keys = 10_000, 500

	type received struct {
		consumer int
		key      string
		seq      int
	}
	var (
		mu  sync.Mutex
		got []received
	)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// Both consumers attach before anything is produced, so the broker splits the hash
	// range between them once and no key ever moves.
	var consumers []pulsar.Consumer
	for i := range 2 {
		c, err := env.Client().Subscribe(pulsar.ConsumerOptions{
			Topic:                       topic,
			SubscriptionName:            "smoke",
			Type:                        pulsar.KeyShared,
			SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
			Name:                        "smoke-" + strconv.Itoa(i),
		})
		if err != nil {
			t.Fatalf("subscribe consumer %d: %v", i, err)
		}
		defer c.Close()
		consumers = append(consumers, c)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	for i, c := range consumers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				rctx, rcancel := context.WithTimeout(ctx, 500*time.Millisecond)
				msg, err := c.Receive(rctx)
				rcancel()
				if err != nil {
					select {
					case <-done:
						return
					default:
						continue
					}
				}
				seq, _ := strconv.Atoi(msg.Properties()["seq"])
				mu.Lock()
				got = append(got, received{consumer: i, key: msg.Key(), seq: seq})
				mu.Unlock()
				if err := c.Ack(msg); err != nil {
					t.Errorf("ack: %v", err)
				}
			}
		}()
	}

	producer, err := env.Client().CreateProducer(pulsar.ProducerOptions{
		Topic:                   topic,
		Name:                    "smoke-producer",
		CompressionType:         pulsar.LZ4,
		BatcherBuilderType:      pulsar.KeyBasedBatchBuilder,
		BatchingMaxPublishDelay: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("create producer: %v", err)
	}
	defer producer.Close()
	var sendErr error
	var sendMu sync.Mutex
	for i := range messages {
		key := "user-" + strconv.Itoa(i%keys)
		producer.SendAsync(ctx, &pulsar.ProducerMessage{
			Key:        key,
			Payload:    []byte(fmt.Sprintf(`{"type":"track","event":"smoke","n":%d}`, i)),
			Properties: map[string]string{"seq": strconv.Itoa(i)},
		}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				sendMu.Lock()
				sendErr = err
				sendMu.Unlock()
			}
		})
	}
	if err := producer.FlushWithCtx(ctx); err != nil {
		t.Fatalf("flush producer: %v", err)
	}
	if sendErr != nil {
		t.Fatalf("send: %v", sendErr)
	}

	deadline := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= messages || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Wait a little longer so a duplicate delivered late is seen too.
	time.Sleep(time.Second)
	close(done)
	wg.Wait()

	seen := make(map[int]bool, messages)
	owner := map[string]int{}
	lastSeq := map[string]int{}
	perConsumer := [2]int{}
	for _, r := range got {
		if seen[r.seq] {
			t.Errorf("message %d delivered twice", r.seq)
		}
		seen[r.seq] = true
		if o, ok := owner[r.key]; ok && o != r.consumer {
			t.Errorf("key %s went to consumers %d and %d", r.key, o, r.consumer)
		}
		owner[r.key] = r.consumer
		if last, ok := lastSeq[r.key]; ok && r.seq <= last {
			t.Errorf("key %s: message %d arrived after %d", r.key, r.seq, last)
		}
		lastSeq[r.key] = r.seq
		perConsumer[r.consumer]++
	}
	if len(seen) != messages {
		t.Fatalf("received %d distinct messages, want %d", len(seen), messages)
	}
	if perConsumer[0] == 0 || perConsumer[1] == 0 {
		t.Errorf("one consumer got nothing (split %v): keys were not shared", perConsumer)
	}
	t.Logf("received %d messages, split %v between two consumers", len(got), perConsumer)
}

// TestObjectStoreRoundTrip puts, lists, gets and deletes an object in the real S3 server.
func TestObjectStoreRoundTrip(t *testing.T) {
	env := testenv.New(t, testenv.Partitions(1))
	s3 := env.S3()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bucket, key := env.Provision.Bucket, env.Prefix+"smoke/hello.txt"
	body := []byte("hello from clicktrail")

	if _, err := s3.PutObject(ctx, bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{ContentType: "text/plain"}); err != nil {
		t.Fatalf("put: %v", err)
	}
	var listed []string
	for obj := range s3.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: env.Prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("list: %v", obj.Err)
		}
		listed = append(listed, obj.Key)
	}
	if len(listed) != 1 || listed[0] != key {
		t.Fatalf("list under %s = %v, want [%s]", env.Prefix, listed, key)
	}
	obj, err := s3.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, body) {
		t.Fatalf("got %q, want %q", got, body)
	}
	if err := s3.RemoveObject(ctx, bucket, key, minio.RemoveObjectOptions{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := s3.StatObject(ctx, bucket, key, minio.StatObjectOptions{}); err == nil {
		t.Fatalf("object %s still there after delete", key)
	}
}

// What a test leaves in the bucket goes with it: the objects under its prefix and the
// processor's snapshots of its namespace.
func TestATestsObjectsGoWithIt(t *testing.T) {
	var env *testenv.Env
	var keys []string
	t.Run("leaves objects", func(t *testing.T) {
		env = testenv.New(t, testenv.Partitions(1))
		keys = []string{env.Prefix + "lake/file.parquet", "_processor/" + env.Tenant + "/" + env.Namespace + "/state/00.snapshot"}
		for _, key := range keys {
			if _, err := env.S3().PutObject(t.Context(), env.Provision.Bucket, key, bytes.NewReader([]byte("x")), 1, minio.PutObjectOptions{}); err != nil {
				t.Fatalf("put %s: %v", key, err)
			}
		}
	})
	for _, key := range keys {
		if _, err := env.S3().StatObject(context.Background(), env.Provision.Bucket, key, minio.StatObjectOptions{}); err == nil {
			t.Errorf("%s is still in the bucket after its test", key)
		}
	}
}
