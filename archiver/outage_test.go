package archiver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/parquet-go/parquet-go"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// outage is how long the object store is away: a minute, long enough for the upload
// backoff to reach its 30 s cap, so the catch-up also shows the longest retry pause.
const outage = 60 * time.Second

func TestWhileTheObjectStoreIsAwayNothingIsAcknowledgedAndTheArchiverCatchesUp(t *testing.T) {
	env := testenv.New(t, testenv.Partitions(2))
	store := testenv.NewPrivateS3(t, env.Provision.Bucket)
	base, stop := startArchiverWith(t, env, 300*time.Millisecond, store.Endpoint)
	produceRange := func(from, to int) {
		var msgs []*pulsar.ProducerMessage
		for i := from; i < to; i++ {
			user := fmt.Sprintf("anon-%d", i%31)
			msgs = append(msgs, &pulsar.ProducerMessage{Key: user, Payload: storedEvent(i, user)})
		}
		produce(t, env.Client(), env.Topic(schemas.TopicEvents), msgs)
	}
	s3, err := minio.New(store.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(env.Provision.S3AccessKey, env.Provision.S3SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	count := func() (rows int, ids map[string]int) {
		ids = map[string]int{}
		ctx := context.Background()
		for obj := range s3.ListObjects(ctx, env.Provision.Bucket, minio.ListObjectsOptions{Prefix: env.Prefix + "events/", Recursive: true}) {
			if obj.Err != nil {
				return -1, nil
			}
			o, err := s3.GetObject(ctx, env.Provision.Bucket, obj.Key, minio.GetObjectOptions{})
			if err != nil {
				return -1, nil
			}
			b, _ := io.ReadAll(o)
			r := parquet.NewGenericReader[schemas.EventRow](bytes.NewReader(b))
			buf := make([]schemas.EventRow, r.NumRows())
			n, _ := r.Read(buf)
			for _, row := range buf[:n] {
				ids[row.MessageID]++
			}
			rows += n
		}
		return rows, ids
	}
	ready := func() int {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	produceRange(0, 300)
	waitUntil(t, 30*time.Second, "the first 300 rows stored", func() bool { n, _ := count(); return n == 300 })

	if err := store.Stop(); err != nil {
		t.Fatal(err)
	}
	produceRange(300, 900)
	waitUntil(t, 15*time.Second, "readiness to turn off while uploads fail", func() bool { return ready() == http.StatusServiceUnavailable })
	time.Sleep(outage)
	tn, _ := utils.GetTopicName(env.Topic(schemas.TopicEvents))
	stats, err := env.Admin().Topics().GetPartitionedStatsWithContext(context.Background(), *tn, false)
	if err != nil {
		t.Fatal(err)
	}
	// The broker counts the backlog in entries (batches of one key's events), so the 600
	// unstored events show as a few dozen; all of them would be 0.
	if backlog := stats.Subscriptions[schemas.SubscriptionArchiver].MsgBacklog; backlog == 0 {
		t.Errorf("archiver backlog 0 during the outage: events were acknowledged without being stored")
	}
	if err := store.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 60*time.Second, "the archiver to catch up", func() bool { n, _ := count(); return n >= 900 })
	waitUntil(t, 30*time.Second, "readiness to come back", func() bool { return ready() == http.StatusOK })
	time.Sleep(time.Second)
	rows, ids := count()
	if rows != 900 || len(ids) != 900 {
		t.Fatalf("after a %s outage: %d rows, %d distinct; want 900 of each", outage, rows, len(ids))
	}
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func waitUntil(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
