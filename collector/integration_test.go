package collector_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// startCollector runs a collector for env's namespace (write key "it") on a free port
// and returns its base URL once it is ready; it stops when the test ends.
func startCollector(t *testing.T, pulsarURL, tenant, namespace string, mutate func(*collector.Config)) string {
	t.Helper()
	base, _ := runCollector(t, pulsarURL, tenant, namespace, mutate)
	return base
}

// runCollector is startCollector that also returns stop: it shuts the collector down
// (as SIGTERM would) and returns what Serve returned. Stopping twice is harmless.
func runCollector(t *testing.T, pulsarURL, tenant, namespace string, mutate func(*collector.Config)) (string, func() error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sources.yaml")
	src := fmt.Sprintf("sources:\n  - id: it\n    writeKey: it\n    tenant: %s\n    namespace: %s\n    origins: [http://127.0.0.1:1]\n", tenant, namespace)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := collector.DefaultConfig()
	cfg.SourcesFile, cfg.PulsarURL, cfg.InstanceID = path, pulsarURL, "it-"+namespace
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := collector.New(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx, ln) }()
	stop := sync.OnceValue(func() error { cancel(); return <-done })
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("collector shutdown: %v", err)
		}
	})
	base := "http://" + ln.Addr().String()
	waitFor(t, 60*time.Second, "collector ready", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return base, stop
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// post sends body and returns the answer's status and body. A request that got no
// answer fails t and returns status 0; t.Errorf, not Fatalf, so that post may run on
// any goroutine.
func post(t *testing.T, url string, body []byte, header map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("post: %v", err)
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.String()
}

// postBatch sends batchOf(user, n, pad) with the test source's write key and fails t
// (on any goroutine) unless the answer is 200.
func postBatch(t *testing.T, base, user string, n int, pad string) {
	t.Helper()
	if code, body := post(t, base+"/v1/batch", batchOf(user, n, pad), map[string]string{"X-Write-Key": "it"}); code != 200 {
		t.Errorf("batch of %s: %d %s", user, code, body)
	}
}

func batchOf(user string, n int, pad string) []byte {
	var events []string
	for i := range n {
		events = append(events, fmt.Sprintf(`{"type":"track","event":"Step %d","anonymousId":%q,"messageId":"%s-%d","timestamp":"2026-11-25T10:00:00Z","properties":{"pad":%q}}`, i, user, user, i, pad))
	}
	return []byte(`{"batch":[` + strings.Join(events, ",") + `],"sentAt":"2026-11-25T10:00:01Z"}`)
}

// drain reads topic from the start with a fresh exclusive subscription until want
// messages came or nothing arrives for a while.
func drain(t *testing.T, client pulsar.Client, topic string, want int) []pulsar.Message {
	t.Helper()
	c, err := client.Subscribe(pulsar.ConsumerOptions{
		Topic: topic, SubscriptionName: "check-" + fmt.Sprint(time.Now().UnixNano()),
		Type: pulsar.Exclusive, SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []pulsar.Message
	for len(out) < want {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		msg, err := c.Receive(ctx)
		cancel()
		if err != nil {
			break
		}
		out = append(out, msg)
	}
	return out
}

func TestEventsSentOverHTTPArriveKeyedPartitionedAndCompressed(t *testing.T) {
	env := testenv.New(t)
	base := startCollector(t, env.Provision.PulsarURL, env.Tenant, env.Namespace, nil)
	pad := strings.Repeat("clicktrail ", 100) // 1.1 KB per event, very compressible
	users := []string{"anon-a", "anon-b", "anon-c", "anon-d", "anon-e", "anon-f"}
	const perUser = 20
	for _, u := range users {
		code, body := post(t, base+"/v1/batch", batchOf(u, perUser, pad), map[string]string{
			"X-Write-Key": "it", "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		})
		if code != 200 || !strings.Contains(body, fmt.Sprintf(`"accepted":%d`, perUser)) {
			t.Fatalf("batch of %s: %d %s", u, code, body)
		}
	}
	code, body := post(t, base+"/v1/batch", []byte(`{"batch":[{"type":"track","anonymousId":"anon-x"},{"type":"nope","userId":"u"}]}`), map[string]string{"X-Write-Key": "it"})
	if code != 200 || !strings.Contains(body, `"accepted":0`) {
		t.Fatalf("invalid batch: %d %s", code, body)
	}

	msgs := drain(t, env.Client(), env.Topic(schemas.TopicEvents), len(users)*perUser)
	if len(msgs) != len(users)*perUser {
		t.Fatalf("read %d events from %s, want %d", len(msgs), env.Topic(schemas.TopicEvents), len(users)*perUser)
	}
	partitionOf := map[string]string{}
	partitions := map[string]bool{}
	for _, m := range msgs {
		var e schemas.Event
		if err := json.Unmarshal(m.Payload(), &e); err != nil {
			t.Fatalf("payload is not an event: %v", err)
		}
		if m.Key() != e.AnonymousID {
			t.Errorf("message key %q, want the user key %q", m.Key(), e.AnonymousID)
		}
		if p, ok := partitionOf[m.Key()]; ok && p != m.Topic() {
			t.Errorf("user %s in two partitions: %s and %s", m.Key(), p, m.Topic())
		}
		partitionOf[m.Key()] = m.Topic()
		partitions[m.Topic()] = true
		props := m.Properties()
		if props["traceparent"] == "" || props["message_id"] != e.MessageID || props["source"] != "it" {
			t.Errorf("properties %v", props)
		}
		if e.ReceivedAt == nil || e.Tenant != env.Tenant || e.Enrichment == nil {
			t.Errorf("event not enriched: %+v", e)
		}
	}
	if len(partitions) < 2 {
		t.Errorf("%d users all landed in one partition", len(users))
	}

	// LZ4 as the broker stores it: the stored bytes are far below the payload bytes.
	tn, _ := utils.GetTopicName(env.Topic(schemas.TopicEvents))
	stats, err := env.Admin().Topics().GetPartitionedStatsWithContext(context.Background(), *tn, false)
	if err != nil {
		t.Fatal(err)
	}
	var payload int64
	for _, m := range msgs {
		payload += int64(len(m.Payload()))
	}
	if stats.StorageSize <= 0 || stats.StorageSize*3 > payload {
		t.Errorf("stored %d bytes for %d bytes of payload: not compressed", stats.StorageSize, payload)
	}

	invalid := drain(t, env.Client(), env.Topic(schemas.TopicInvalid), 2)
	if len(invalid) != 2 {
		t.Fatalf("read %d invalid events, want 2", len(invalid))
	}
	var first schemas.InvalidEvent
	if err := json.Unmarshal(invalid[0].Payload(), &first); err != nil {
		t.Fatal(err)
	}
	if first.Field != "event" || first.Index != 0 || invalid[0].Key() != "anon-x" {
		t.Errorf("first invalid event %+v key %q", first, invalid[0].Key())
	}
}
