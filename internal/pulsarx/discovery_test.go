package pulsarx_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/testenv"
)

// A partition added to a topic while a producer writes to it and a consumer reads it
// (as `pulsar-admin topics update-partitioned-topic` does when a namespace outgrows its
// partitions) carries messages end to end within a few discovery intervals, not the
// client library's default minute.
func TestAddedPartitionIsWrittenAndReadWithinSeconds(t *testing.T) {
	env := testenv.New(t)
	topic := env.Topic("discovery")
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Admin().Topics().Create(*tn, 2); err != nil {
		t.Fatal(err)
	}
	client, err := pulsarx.NewClient(env.Provision.PulsarURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	consumer, err := client.Subscribe(pulsar.ConsumerOptions{
		Topic: topic, SubscriptionName: "test", Type: pulsar.Shared,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic, DisableBatching: true})
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()

	if err := env.Admin().Topics().Update(*tn, 3); err != nil {
		t.Fatal(err)
	}
	added := time.Now()
	limit := 3*pulsarx.PartitionDiscovery + 5*time.Second
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	go func() {
		for i := 0; ctx.Err() == nil; i++ {
			// Keys spread the messages over every partition the producer knows.
			_, _ = producer.Send(ctx, &pulsar.ProducerMessage{Key: fmt.Sprint(i), Payload: []byte("m")})
			time.Sleep(20 * time.Millisecond)
		}
	}()
	for {
		msg, err := consumer.Receive(ctx)
		if err != nil {
			t.Fatalf("no message from the added partition within %s of adding it (PartitionDiscovery %s)", limit, pulsarx.PartitionDiscovery)
		}
		_ = consumer.Ack(msg)
		if strings.HasSuffix(msg.Topic(), "-partition-2") {
			t.Logf("first message from the added partition %.1fs after adding it", time.Since(added).Seconds())
			return
		}
	}
}
