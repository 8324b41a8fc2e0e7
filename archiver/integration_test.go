package archiver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/minio/minio-go/v7"
	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/archiver"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

var received = time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)

// storedEvent is an event as the collector publishes it.
func storedEvent(i int, user string) []byte {
	e := schemas.Event{
		Type: "page", Name: "Pricing", MessageID: fmt.Sprintf("m-%05d", i), AnonymousID: user,
		Timestamp: schemas.NewTime(received.Add(-time.Second)), ReceivedAt: schemas.NewTime(received.Add(time.Duration(i) * time.Millisecond)),
		Context:    json.RawMessage(`{"page":{"url":"https://shop.example/pricing?utm_source=news","path":"/pricing"},"campaign":{"source":"news"}}`),
		Properties: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i)),
		Tenant:     "t", Source: "s", Enrichment: &schemas.Enrichment{Browser: "Firefox", DeviceType: "desktop"},
	}
	b, _ := json.Marshal(e)
	return b
}

func produce(t *testing.T, client pulsar.Client, topic string, msgs []*pulsar.ProducerMessage) {
	t.Helper()
	p, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic, BatcherBuilderType: pulsar.KeyBasedBatchBuilder, CompressionType: pulsar.LZ4})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, m := range msgs {
		p.SendAsync(context.Background(), m, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				t.Errorf("send: %v", err)
			}
		})
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
}

func startArchiver(t *testing.T, env *testenv.Env, rollAge time.Duration) (base string, stop func() error) {
	return startArchiverWith(t, env, rollAge, env.Provision.S3Endpoint)
}

func startArchiverWith(t *testing.T, env *testenv.Env, rollAge time.Duration, s3Endpoint string) (base string, stop func() error) {
	t.Helper()
	sources := filepath.Join(t.TempDir(), "sources.yaml")
	if err := os.WriteFile(sources, []byte(fmt.Sprintf("sources:\n  - id: archiver-test\n    writeKey: archiver-test\n    tenant: %s\n    namespace: %s\n", env.Tenant, env.Namespace)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := archiver.DefaultConfig()
	cfg.SourcesFile, cfg.PulsarURL, cfg.KeyPrefix, cfg.RollAge, cfg.TmpDir = sources, env.Provision.PulsarURL, env.Prefix, rollAge, t.TempDir()
	cfg.S3Endpoint, cfg.S3AccessKey, cfg.S3SecretKey, cfg.Bucket = s3Endpoint, env.Provision.S3AccessKey, env.Provision.S3SecretKey, env.Provision.Bucket
	a, err := archiver.New(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

// readTable downloads every object under prefix+table and decodes its rows.
func readTable[T any](t *testing.T, env *testenv.Env, table string) (rows []T, keys []string) {
	t.Helper()
	ctx := context.Background()
	for obj := range env.S3().ListObjects(ctx, env.Provision.Bucket, minio.ListObjectsOptions{Prefix: env.Prefix + table + "/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		o, err := env.S3().GetObject(ctx, env.Provision.Bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(o)
		if err != nil {
			t.Fatal(err)
		}
		r := parquet.NewGenericReader[T](bytes.NewReader(b))
		buf := make([]T, r.NumRows())
		n, err := r.Read(buf)
		if err != nil && err != io.EOF {
			t.Fatalf("read %s: %v", obj.Key, err)
		}
		rows = append(rows, buf[:n]...)
		keys = append(keys, obj.Key)
	}
	return rows, keys
}

// duckdbCheck downloads the events table and queries it with DuckDB.
func duckdbCheck(t *testing.T, env *testenv.Env) (count, distinct int, hours, receivedAtType string) {
	t.Helper()
	root, _ := filepath.Abs("..")
	out, err := exec.Command(filepath.Join(root, "deploy", "local", "duckdb.sh")).Output()
	if err != nil {
		t.Fatalf("deploy/local/duckdb.sh: %v", err)
	}
	python := strings.TrimSpace(string(out))
	dir := t.TempDir()
	ctx := context.Background()
	for obj := range env.S3().ListObjects(ctx, env.Provision.Bucket, minio.ListObjectsOptions{Prefix: env.Prefix + "events/", Recursive: true}) {
		if err := env.S3().FGetObject(ctx, env.Provision.Bucket, obj.Key, filepath.Join(dir, strings.TrimPrefix(obj.Key, env.Prefix)), minio.GetObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	script := `
import duckdb, json, sys
glob = sys.argv[1] + "/events/**/*.parquet"
q = duckdb.sql(f"SELECT count(*), count(DISTINCT message_id), string_agg(DISTINCT hour::VARCHAR, ','), any_value(typeof(received_at)) FROM read_parquet('{glob}', hive_partitioning=true)").fetchone()
print(json.dumps(q))
`
	res, err := exec.Command(python, "-c", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, res)
	}
	var row []any
	if err := json.Unmarshal(res, &row); err != nil || len(row) != 4 {
		t.Fatalf("duckdb printed %s", res)
	}
	return int(row[0].(float64)), int(row[1].(float64)), fmt.Sprint(row[2]), fmt.Sprint(row[3])
}

func TestEveryMessageLandsInParquetOnceAndIsAcknowledged(t *testing.T) {
	env := testenv.New(t, testenv.Partitions(2))
	const n = 600
	var events []*pulsar.ProducerMessage
	for i := range n {
		user := fmt.Sprintf("anon-%d", i%40)
		events = append(events, &pulsar.ProducerMessage{Key: user, Payload: storedEvent(i, user)})
	}
	// A client retry the collector stored twice: same messageId, same key, same partition.
	for i := range 25 {
		user := fmt.Sprintf("anon-%d", i%40)
		events = append(events, &pulsar.ProducerMessage{Key: user, Payload: storedEvent(i, user)})
	}
	events = append(events, &pulsar.ProducerMessage{Key: "anon-1", Payload: []byte("not json at all")})
	produce(t, env.Client(), env.Topic(schemas.TopicEvents), events)

	inv, _ := json.Marshal(schemas.InvalidEvent{Reason: "is required for track events", Field: "event", ReceivedAt: received, Tenant: env.Tenant, Source: "s", Raw: json.RawMessage(`{"type":"track"}`)})
	produce(t, env.Client(), env.Topic(schemas.TopicInvalid), []*pulsar.ProducerMessage{{Payload: inv}, {Payload: inv}})
	sess, _ := json.Marshal(schemas.Session{SessionID: "s-1", Tenant: env.Tenant, UserKey: "anon-1", StartedAt: received, EndedAt: received.Add(time.Minute), DurationMs: 60000, EventCount: 3, PageviewCount: 2, IsBounce: false, EndReason: "inactivity"})
	produce(t, env.Client(), env.Topic(schemas.TopicSessions), []*pulsar.ProducerMessage{{Key: "anon-1", Payload: sess}})

	base, stop := startArchiver(t, env, 500*time.Millisecond)
	deadline := time.Now().Add(60 * time.Second)
	var rows []schemas.EventRow
	var keys []string
	for time.Now().Before(deadline) {
		if rows, keys = readTable[schemas.EventRow](t, env, "events"); len(rows) >= n {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(time.Second) // anything extra would show up now
	rows, keys = readTable[schemas.EventRow](t, env, "events")
	ids := map[string]int{}
	for _, r := range rows {
		ids[r.MessageID]++
	}
	if len(rows) != n || len(ids) != n {
		t.Fatalf("events table has %d rows, %d distinct message ids; want %d of each", len(rows), len(ids), n)
	}
	layout := regexp.MustCompile(`^` + regexp.QuoteMeta(env.Prefix) + `events/tenant=` + env.Tenant + `/dt=2026-11-25/hour=10/events-[01]-\d+-\d+-\d+\.parquet$`)
	for _, k := range keys {
		if !layout.MatchString(k) {
			t.Errorf("object %s does not follow the layout", k)
		}
	}
	r := rows[0]
	if r.PagePath != "/pricing" || r.UTMSource != "news" || r.Browser != "Firefox" || !r.ReceivedAt.Truncate(time.Hour).Equal(received.Truncate(time.Hour)) || !strings.HasPrefix(r.Properties, `{"n":`) {
		t.Errorf("row values: %+v", r)
	}

	// An independent reader: DuckDB over the downloaded files, with Hive partitions.
	count, distinct, hours, ts := duckdbCheck(t, env)
	t.Logf("DuckDB: %d rows, %d distinct message ids, hours %s, received_at %s", count, distinct, hours, ts)
	if count != n || distinct != n || hours != "10" || ts != "TIMESTAMP WITH TIME ZONE" && ts != "TIMESTAMP" {
		t.Errorf("DuckDB reads %d rows, %d distinct message ids, hour partitions %q, received_at type %q", count, distinct, hours, ts)
	}

	invalid, _ := readTable[schemas.InvalidRow](t, env, "invalid")
	undecodable := 0
	for _, r := range invalid {
		if strings.HasPrefix(r.Reason, "undecodable event") && r.Raw == "not json at all" {
			undecodable++
		}
	}
	if len(invalid) != 3 || undecodable != 1 {
		t.Errorf("invalid table has %d rows (%d undecodable), want 2 rejected events and 1 undecodable message", len(invalid), undecodable)
	}
	sessions, _ := readTable[schemas.SessionRow](t, env, "sessions")
	if len(sessions) != 1 || sessions[0].SessionID != "s-1" || sessions[0].DurationMs != 60000 {
		t.Errorf("sessions table: %+v", sessions)
	}

	// Everything stored is acknowledged: no backlog left on the archiver's subscription.
	tn, _ := utils.GetTopicName(env.Topic(schemas.TopicEvents))
	stats, err := env.Admin().Topics().GetPartitionedStatsWithContext(context.Background(), *tn, false)
	if err != nil {
		t.Fatal(err)
	}
	if backlog := stats.Subscriptions[schemas.SubscriptionArchiver].MsgBacklog; backlog != 0 {
		t.Errorf("archiver subscription backlog %d after storing everything", backlog)
	}
	if resp, err := http.Get(base + "/metrics"); err != nil || resp.StatusCode != 200 {
		t.Errorf("metrics: %v", err)
	}
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}
