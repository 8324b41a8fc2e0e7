package collector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/schemas"
)

func TestHeaderValuesAreCappedCheckedOrDropped(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	long := "Mozilla/5.0 " + strings.Repeat("x", 100<<10)
	tests := []struct {
		name                   string
		ua, requestID, trace   string
		wantUA                 string
		wantID                 string // "generated": a UUID of the collector's
		wantTrace              string
		wantCapped, wantRepair []string
	}{
		{"ordinary headers are kept as sent", "curl/8.0", "req-1", tp, "curl/8.0", "req-1", tp, nil, nil},
		{"a 100 KB User-Agent is cut to 512 bytes", long, "", "", long[:512], "generated", "", []string{"user_agent"}, nil},
		{"a User-Agent cut inside a character loses the character", strings.Repeat("a", 511) + "é", "", "", strings.Repeat("a", 511), "generated", "", []string{"user_agent"}, nil},
		{"invalid UTF-8 in the User-Agent is replaced", "bot\xff", "", "", "bot\uFFFD", "generated", "", nil, []string{"user_agent"}},
		{"no request id gets one generated", "", "", "", "", "generated", "", nil, nil},
		{"a request id of 128 bytes is kept", "", strings.Repeat("r", 128), "", "", strings.Repeat("r", 128), "", nil, nil},
		{"a request id of 129 bytes is replaced", "", strings.Repeat("r", 129), "", "", "generated", "", []string{"x_request_id"}, nil},
		{"a request id with bytes beyond ASCII is replaced", "", "id-é", "", "", "generated", "", []string{"x_request_id"}, nil},
		{"a request id with a control character is replaced", "", "id\x01", "", "", "generated", "", []string{"x_request_id"}, nil},
		{"a traceparent with uppercase hex is dropped", "", "r", strings.ToUpper(tp[:3]) + strings.ToUpper(tp[3:]), "", "r", "", []string{"traceparent"}, nil},
		{"a traceparent of version ff is dropped", "", "r", "ff" + tp[2:], "", "r", "", []string{"traceparent"}, nil},
		{"a traceparent with an all-zero trace id is dropped", "", "r", "00-" + strings.Repeat("0", 32) + tp[35:], "", "r", "", []string{"traceparent"}, nil},
		{"a traceparent with an all-zero parent id is dropped", "", "r", tp[:36] + strings.Repeat("0", 16) + tp[52:], "", "r", "", []string{"traceparent"}, nil},
		{"a traceparent with more fields is dropped", "", "r", tp + "-00", "", "r", "", []string{"traceparent"}, nil},
		{"a 50 KB traceparent is dropped", "", "r", strings.Repeat("a", 50<<10), "", "r", "", []string{"traceparent"}, nil},
		{"a traceparent with misplaced dashes is dropped", "", "r", strings.Replace(tp, "-", "x", 1), "", "r", "", []string{"traceparent"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMetrics(prometheus.NewRegistry())
			h := http.Header{}
			for k, v := range map[string]string{"User-Agent": tc.ua, "X-Request-Id": tc.requestID, "traceparent": tc.trace} {
				if v != "" {
					h.Set(k, v)
				}
			}
			got := readHeaders(h, m)
			if got.userAgent != tc.wantUA {
				t.Errorf("user agent %.40q (%d bytes), want %.40q (%d bytes)", got.userAgent, len(got.userAgent), tc.wantUA, len(tc.wantUA))
			}
			if tc.wantID == "generated" {
				if _, err := uuid.Parse(got.requestID); err != nil {
					t.Errorf("request id %.40q, want a generated UUID", got.requestID)
				}
			} else if got.requestID != tc.wantID {
				t.Errorf("request id %.40q, want %.40q", got.requestID, tc.wantID)
			}
			if got.traceparent != tc.wantTrace {
				t.Errorf("traceparent %.60q, want %q", got.traceparent, tc.wantTrace)
			}
			for _, hdr := range []string{"user_agent", "x_request_id", "traceparent"} {
				want := 0.0
				for _, c := range tc.wantCapped {
					if c == hdr {
						want = 1
					}
				}
				if n := testCount(m.headersCapped.WithLabelValues(hdr)); n != want {
					t.Errorf("headers capped{%s} = %v, want %v", hdr, n, want)
				}
			}
			if n := testCount(m.utf8Repaired.WithLabelValues("user_agent")); n != float64(len(tc.wantRepair)) {
				t.Errorf("utf8 repaired{user_agent} = %v", n)
			}
			if !utf8.ValidString(got.userAgent) || len(got.userAgent) > maxUserAgentBytes {
				t.Errorf("user agent of %d bytes, valid UTF-8 %v", len(got.userAgent), utf8.ValidString(got.userAgent))
			}
		})
	}
}

// TestTheUserAgentHeaderIsParsedOncePerRequest enriches 1,000 events of one request
// without a cache: the header's user agent is parsed once, not once per event.
func TestTheUserAgentHeaderIsParsedOncePerRequest(t *testing.T) {
	en := newEnricher(false)
	en.agents = newUserAgents(0) // no cache: only the per-request parse saves work
	info := &requestInfo{
		receivedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), source: &sources.Source{ID: "s", Tenant: "t"},
		headers: requestHeaders{userAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"},
	}
	for i := range 1000 {
		e, err := schemas.ParseEvent(fmt.Appendf(nil, `{"type":"track","event":"e","anonymousId":"a-%d"}`, i))
		if err != nil {
			t.Fatal(err)
		}
		if err := en.enrich(e, info); err != nil {
			t.Fatal(err)
		}
		if e.Enrichment.Browser != "Chrome" {
			t.Fatalf("event %d: enrichment %+v", i, e.Enrichment)
		}
	}
	if n := en.agents.parsed.Load(); n != 1 {
		t.Errorf("the user agent was parsed %d times for 1,000 events of one request, want once", n)
	}
}

// hugeHeaderBatch is the case of issue 14, item 2: 1,000 events that are all rejected
// (a track without its event name), sent with a huge User-Agent and X-Request-Id.
func hugeHeaderBatch() []byte {
	var events []string
	for i := range 1000 {
		events = append(events, fmt.Sprintf(`{"type":"track","anonymousId":"a-%d"}`, i))
	}
	return []byte(`{"batch":[` + strings.Join(events, ",") + `]}`)
}

// TestAHugeUserAgentOnRejectedEventsCostsLittleAndIsAnswered200 sends the case of issue
// 14 (100 KB User-Agent and 100 KB X-Request-Id, 1,000 rejected events) to the handler
// directly, past the server's header limit: it is answered 200 naming every rejected
// event, and costs a few MiB, not the 210 MiB it allocated when every invalid record
// and message carried the whole headers.
func TestAHugeUserAgentOnRejectedEventsCostsLittleAndIsAnswered200(t *testing.T) {
	pub := &fakePublisher{}
	h := newTestCollector(t, pub, nil)
	body := hugeHeaderBatch()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	req := httptest.NewRequest(http.MethodPost, "/v1/batch", bytes.NewReader(body))
	req.Header.Set("X-Write-Key", "wk-api")
	req.Header.Set("User-Agent", "Mozilla/5.0 "+strings.Repeat("A", 100<<10))
	req.Header.Set("X-Request-Id", strings.Repeat("r", 100<<10))
	req.Header.Set("traceparent", strings.Repeat("t", 100<<10))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("%.1f MiB allocated for the request", float64(allocated)/(1<<20))

	var resp response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); rec.Code != 200 || err != nil {
		t.Fatalf("got %d %.200s", rec.Code, rec.Body)
	}
	if resp.Accepted != 0 || len(resp.Rejected) != 1000 || resp.Rejected[999].Index != 999 {
		t.Fatalf("accepted %d, %d rejected", resp.Accepted, len(resp.Rejected))
	}
	if allocated > 16<<20 {
		t.Errorf("%.1f MiB allocated for one request, want under 16 MiB", float64(allocated)/(1<<20))
	}
	inv := pub.sent["persistent://acme/api/events-invalid"]
	if len(inv) != 1000 {
		t.Fatalf("%d invalid records, want 1000", len(inv))
	}
	var stored int
	for _, m := range inv {
		stored += len(m.Payload)
		for _, v := range m.Properties {
			stored += len(v)
		}
	}
	if stored > 1000*(maxUserAgentBytes+400) {
		t.Errorf("%d bytes of messages for 1,000 rejected events", stored)
	}
	var rec0 schemas.InvalidEvent
	if err := json.Unmarshal(inv[0].Payload, &rec0); err != nil {
		t.Fatal(err)
	}
	if len(rec0.UserAgent) != maxUserAgentBytes || len(rec0.RequestID) != 36 || inv[0].Properties["request_id"] != rec0.RequestID {
		t.Errorf("invalid record: user agent of %d bytes, request id %.40q, properties %.100v", len(rec0.UserAgent), rec0.RequestID, inv[0].Properties)
	}
	if _, ok := inv[0].Properties["traceparent"]; ok {
		t.Errorf("a malformed traceparent was kept")
	}
}

// TestTheServerAnswers431ToAHeaderBlockOver64KiB goes through a real server: a 100 KB
// User-Agent never reaches the handler, while one that fits in the 64 KiB header
// block is capped and its request answered.
func TestTheServerAnswers431ToAHeaderBlockOver64KiB(t *testing.T) {
	c := newCollectorForTest(t, nil)
	base := serveForTest(t, c, &fakePublisher{})
	tests := []struct {
		name      string
		userAgent string
		want      int
	}{
		{"a 100 KB User-Agent is 431", strings.Repeat("A", 100<<10), http.StatusRequestHeaderFieldsTooLarge},
		{"a 60 KB User-Agent fits and is answered", strings.Repeat("A", 60<<10), http.StatusOK},
		{"an ordinary User-Agent is answered", "curl/8.0", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, base+"/v1/batch", bytes.NewReader(hugeHeaderBatch()))
			req.Header.Set("X-Write-Key", "wk-api")
			req.Header.Set("User-Agent", tc.userAgent)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("got %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// testCount reads one counter.
func testCount(c prometheus.Counter) float64 { return testValue(c).GetCounter().GetValue() }

// testGauge reads one gauge.
func testGauge(g prometheus.Gauge) float64 { return testValue(g).GetGauge().GetValue() }

func testValue(c prometheus.Collector) *dto.Metric {
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	var m dto.Metric
	_ = (<-ch).Write(&m)
	return &m
}
