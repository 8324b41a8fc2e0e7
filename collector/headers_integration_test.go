package collector_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// TestHugeHeadersGetADefinedAnswerOnTheRealPipeline is issue 14's case against Pulsar:
// 1,000 rejected events with a huge User-Agent once got a 503 that could never succeed
// (every invalid record carried the whole header, 100 MB for the producer). Now a
// header block over 64 KiB is 431, and one that fits is answered 200 naming every
// rejected event, whose records carry the User-Agent cut to 512 bytes and a generated
// request id in place of an oversized one.
func TestHugeHeadersGetADefinedAnswerOnTheRealPipeline(t *testing.T) {
	env := testenv.New(t)
	base := startCollector(t, env.Provision.PulsarURL, env.Tenant, env.Namespace, nil)
	var events []string
	for i := range 1000 {
		events = append(events, fmt.Sprintf(`{"type":"track","anonymousId":"a-%d"}`, i))
	}
	body := []byte(`{"batch":[` + strings.Join(events, ",") + `]}`)
	send := func(userAgent, requestID string) (int, string) {
		return post(t, base+"/v1/batch", body, map[string]string{
			"X-Write-Key": "it", "User-Agent": userAgent, "X-Request-Id": requestID,
			"traceparent": "00-" + strings.Repeat("0", 32) + "-00f067aa0ba902b7-01", // all-zero trace id
		})
	}

	if code, answer := send(strings.Repeat("A", 100<<10), "r"); code != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 100 KB User-Agent: %d %.200s, want 431", code, answer)
	}

	code, answer := send(strings.Repeat("A", 56<<10), strings.Repeat("r", 4<<10))
	var resp struct {
		Accepted int `json:"accepted"`
		Rejected []struct {
			Index int `json:"index"`
		} `json:"rejected"`
	}
	if err := json.Unmarshal([]byte(answer), &resp); code != 200 || err != nil || resp.Accepted != 0 || len(resp.Rejected) != 1000 {
		t.Fatalf("a 56 KB User-Agent with 1,000 rejected events: %d %.200s, want 200 naming 1,000 rejected events", code, answer)
	}

	msgs := drain(t, env.Client(), env.Topic(schemas.TopicInvalid), 1000)
	if len(msgs) != 1000 {
		t.Fatalf("%d invalid records in Pulsar, want 1000", len(msgs))
	}
	requestIDs := map[string]bool{}
	for _, m := range msgs {
		var rec schemas.InvalidEvent
		if err := json.Unmarshal(m.Payload(), &rec); err != nil {
			t.Fatal(err)
		}
		if rec.UserAgent != strings.Repeat("A", 512) {
			t.Fatalf("an invalid record's user agent has %d bytes, want 512", len(rec.UserAgent))
		}
		if _, err := uuid.Parse(rec.RequestID); err != nil || m.Properties()["request_id"] != rec.RequestID {
			t.Fatalf("request id %.40q, property %.40q: want a generated UUID", rec.RequestID, m.Properties()["request_id"])
		}
		if _, ok := m.Properties()["traceparent"]; ok {
			t.Fatalf("a traceparent with an all-zero trace id was kept")
		}
		requestIDs[rec.RequestID] = true
	}
	if len(requestIDs) != 1 {
		t.Errorf("%d request ids for one request", len(requestIDs))
	}
}

// TestMetricsAddrServesMetricsOnItsOwnListener runs a collector with
// --collector.metrics-addr: its metrics, health and readiness are there, and its API
// port answers 404 for /metrics.
func TestMetricsAddrServesMetricsOnItsOwnListener(t *testing.T) {
	env := testenv.New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	metricsAddr := ln.Addr().String()
	ln.Close()
	base := startCollector(t, env.Provision.PulsarURL, env.Tenant, env.Namespace, func(c *collector.Config) { c.MetricsAddr = metricsAddr })
	postBatch(t, base, "anon-metrics", 3, "x")

	get := func(url string) (int, string) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("get %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("http://" + metricsAddr + "/metrics"); code != 200 || !strings.Contains(body, "clicktrail_collector_events_accepted_total") {
		t.Errorf("metrics listener /metrics: %d %.200s", code, body)
	}
	if code, _ := get("http://" + metricsAddr + "/readyz"); code != 200 {
		t.Errorf("metrics listener /readyz: %d", code)
	}
	if code, body := get(base + "/metrics"); code != 404 || bytes.Contains([]byte(body), []byte("clicktrail_")) {
		t.Errorf("API port /metrics: %d %.200s, want 404", code, body)
	}
}
