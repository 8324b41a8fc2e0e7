package collector

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/schemas"
)

// fakePublisher records what would have gone to Pulsar and answers with err.
type fakePublisher struct {
	mu   sync.Mutex
	sent map[string][]*Message
	err  error
}

func (f *fakePublisher) PublishAsync(_ context.Context, topic string, msg *Message, done func(error)) {
	f.mu.Lock()
	if f.sent == nil {
		f.sent = map[string][]*Message{}
	}
	f.sent[topic] = append(f.sent[topic], msg)
	f.mu.Unlock()
	go done(f.err)
}

func (f *fakePublisher) count(topic string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent[topic])
}

const testSources = `sources:
  - id: shop
    writeKey: wk-shop
    tenant: acme
    namespace: web
    origins: [https://shop.example]
    rateLimit: {eventsPerSecond: 1, burst: 1}
  - id: api
    writeKey: wk-api
    tenant: acme
    namespace: api
`

func newBenchCollector(b *testing.B) http.Handler {
	return newTestCollector(b, PublisherFunc(func(_ context.Context, _ string, _ *Message, done func(error)) { done(nil) }), nil)
}

func newTestCollector(t testing.TB, pub Publisher, mutate func(*Config)) http.Handler {
	t.Helper()
	return newCollectorForTest(t, mutate).Handler(pub)
}

// newCollectorForTest is a Collector of testSources with a registry of its own
// (c.reg), the config changed by mutate.
func newCollectorForTest(t testing.TB, mutate func(*Config)) *Collector {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "sources.yaml")
	if err := os.WriteFile(path, []byte(testSources), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.SourcesFile = path
	cfg.PublishTimeout = time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// serveForTest serves c's API, publishing through pub, on a real listener with the
// server c.httpServer makes (header limit and timeouts), and returns its base URL.
func serveForTest(t testing.TB, c *Collector, pub Publisher) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := c.httpServer(c.Handler(pub))
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + ln.Addr().String()
}

// counterValue is the value of the counter name with the given label value (any
// label), 0 when it was never counted.
func counterValue(t testing.TB, c *Collector, name, label string) float64 {
	t.Helper()
	families, err := c.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func gz(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const goodEvent = `{"type":"track","event":"Signed Up","anonymousId":"a-1","messageId":"m-1"}`

func TestRequestsGetTheRightStatus(t *testing.T) {
	bomb := gz(t, bytes.Repeat([]byte(" "), 50<<20)) // 50 MB of spaces, ~50 KB compressed
	bigBatch := `{"batch":[` + strings.TrimSuffix(strings.Repeat(`{"type":"page","anonymousId":"a"},`, schemas.MaxBatchEvents+1), ",") + `]}`
	deep := `{"batch":[{"type":"track","event":"x","anonymousId":"a","properties":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `}]}`
	tests := []struct {
		name       string
		path       string
		body       []byte
		headers    map[string]string
		pubErr     error
		wantStatus int
		wantBody   string
	}{
		{"a valid batch with Basic auth is accepted", "/v1/batch", []byte(`{"batch":[` + goodEvent + `]}`), map[string]string{"Authorization": "Basic d2stYXBpOg=="}, nil, 200, `"accepted":1`},
		{"the write key may come in the body as text/plain", "/v1/batch", []byte(`{"writeKey":"wk-api","batch":[` + goodEvent + `]}`), map[string]string{"Content-Type": "text/plain;charset=UTF-8"}, nil, 200, `"accepted":1`},
		{"a single track event takes its type from the path", "/v1/track", []byte(`{"event":"x","anonymousId":"a"}`), map[string]string{"X-Write-Key": "wk-api"}, nil, 200, `"accepted":1`},
		{"a gzip body is decompressed", "/v1/batch", gz(t, []byte(`{"batch":[`+goodEvent+`]}`)), map[string]string{"X-Write-Key": "wk-api", "Content-Encoding": "gzip"}, nil, 200, `"accepted":1`},
		{"an invalid event is named by index and the rest accepted", "/v1/batch", []byte(`{"batch":[` + goodEvent + `,{"type":"track","anonymousId":"a"}]}`), map[string]string{"X-Write-Key": "wk-api"}, nil, 200, `"rejected":[{"index":1,"reason":"event: is required for track events"}]`},
		{"an unknown write key is 401", "/v1/batch", []byte(`{"batch":[` + goodEvent + `]}`), map[string]string{"X-Write-Key": "nope"}, nil, 401, "unknown or missing write key"},
		{"no write key is 401", "/v1/batch", []byte(`{"batch":[` + goodEvent + `]}`), nil, nil, 401, "unknown or missing write key"},
		{"malformed JSON is 400 naming the byte", "/v1/batch", []byte(`{"batch":[`), map[string]string{"X-Write-Key": "wk-api"}, nil, 400, "malformed body"},
		{"a batch that is not an array is 400", "/v1/batch", []byte(`{"batch":{"type":"track"}}`), map[string]string{"X-Write-Key": "wk-api"}, nil, 400, "batch must not be a JSON object"},
		{"an empty batch is 400", "/v1/batch", []byte(`{"batch":[]}`), map[string]string{"X-Write-Key": "wk-api"}, nil, 400, "non-empty array"},
		{"nesting past the limit is 400", "/v1/batch", []byte(deep), map[string]string{"X-Write-Key": "wk-api"}, nil, 400, "nested deeper"},
		{"a body over 500 KB is 413", "/v1/batch", bytes.Repeat([]byte(" "), schemas.MaxRequestBytes+1), map[string]string{"X-Write-Key": "wk-api"}, nil, 413, "too large"},
		{"a gzip bomb is cut off with 413", "/v1/batch", bomb, map[string]string{"X-Write-Key": "wk-api", "Content-Encoding": "gzip"}, nil, 413, "after decompression"},
		{"a corrupt gzip body is 400", "/v1/batch", []byte("not gzip"), map[string]string{"X-Write-Key": "wk-api", "Content-Encoding": "gzip"}, nil, 400, "malformed gzip"},
		{"an unknown encoding is 415", "/v1/batch", []byte(`{}`), map[string]string{"X-Write-Key": "wk-api", "Content-Encoding": "br"}, nil, 415, "unsupported content encoding"},
		{"a form upload is 415", "/v1/batch", []byte(`{}`), map[string]string{"X-Write-Key": "wk-api", "Content-Type": "multipart/form-data"}, nil, 415, "unsupported content type"},
		{"more than 2,500 events is 413", "/v1/batch", []byte(bigBatch), map[string]string{"X-Write-Key": "wk-api"}, nil, 413, "too many events"},
		{"a foreign origin is 403", "/v1/batch", []byte(`{"batch":[` + goodEvent + `]}`), map[string]string{"X-Write-Key": "wk-shop", "Origin": "https://evil.example"}, nil, 403, "may not send"},
		{"broker trouble is 503 with Retry-After", "/v1/batch", []byte(`{"batch":[` + goodEvent + `]}`), map[string]string{"X-Write-Key": "wk-api"}, errors.New("connection refused"), 503, "broker is unavailable"},
		{"a full producer queue is 503 at once", "/v1/batch", []byte(`{"batch":[` + goodEvent + `]}`), map[string]string{"X-Write-Key": "wk-api"}, ErrOverloaded, 503, "overloaded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub := &fakePublisher{err: tc.pubErr}
			h := newTestCollector(t, pub, nil)
			req := httptest.NewRequest(http.MethodPost, tc.path, bytes.NewReader(tc.body))
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.wantStatus || !strings.Contains(rec.Body.String(), tc.wantBody) {
				t.Fatalf("got %d %s, want %d containing %q", rec.Code, rec.Body.String(), tc.wantStatus, tc.wantBody)
			}
			if (rec.Code == 503 || rec.Code == 429) && rec.Header().Get("Retry-After") == "" {
				t.Errorf("%d without Retry-After", rec.Code)
			}
		})
	}
}

func TestInvalidEventsGoToTheInvalidTopicWithTheirReason(t *testing.T) {
	pub := &fakePublisher{}
	h := newTestCollector(t, pub, nil)
	body := `{"batch":[` + goodEvent + `,{"type":"group","userId":"u-1"},[1,2]]}`
	req := httptest.NewRequest(http.MethodPost, "/v1/batch", strings.NewReader(body))
	req.Header.Set("X-Write-Key", "wk-api")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if n := pub.count("persistent://acme/api/events"); n != 1 {
		t.Errorf("events topic got %d messages, want 1", n)
	}
	inv := pub.sent["persistent://acme/api/events-invalid"]
	if len(inv) != 2 {
		t.Fatalf("invalid topic got %d messages, want 2", len(inv))
	}
	var first schemas.InvalidEvent
	if err := json.Unmarshal(inv[0].Payload, &first); err != nil {
		t.Fatal(err)
	}
	if first.Index != 1 || first.Field != "groupId" || first.UserKey != "u-1" || first.Tenant != "acme" || first.Source != "api" || len(first.Raw) == 0 {
		t.Errorf("invalid record = %+v", first)
	}
}

func TestTheRateLimitAnswers429(t *testing.T) {
	pub := &fakePublisher{}
	h := newTestCollector(t, pub, nil)
	send := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/v1/batch", strings.NewReader(`{"batch":[`+goodEvent+`]}`))
		req.Header.Set("X-Write-Key", "wk-shop")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	// The source allows 1 event/s with a burst of one full batch (2,500 events).
	codes := map[int]int{}
	for range schemas.MaxBatchEvents + 5 {
		codes[send().Code]++
	}
	if codes[200] != schemas.MaxBatchEvents || codes[429] != 5 {
		t.Fatalf("status counts %v, want %d×200 then 429s", codes, schemas.MaxBatchEvents)
	}
	if rec := send(); rec.Header().Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}
}

func TestTooManyRequestsInFlightAnswer503AtOnce(t *testing.T) {
	release := make(chan struct{})
	pub := PublisherFunc(func(_ context.Context, _ string, _ *Message, done func(error)) {
		go func() { <-release; done(nil) }()
	})
	h := newTestCollector(t, pub, func(c *Config) { c.MaxInFlight = 1 })
	req := func() *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/v1/batch", strings.NewReader(`{"batch":[`+goodEvent+`]}`))
		r.Header.Set("X-Write-Key", "wk-api")
		return r
	}
	first := make(chan int)
	go func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req())
		first <- rec.Code
	}()
	time.Sleep(100 * time.Millisecond) // the first request now waits for its acknowledgement
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req())
	if rec.Code != 503 || time.Since(start) > 50*time.Millisecond {
		t.Fatalf("second request: %d after %s, want an immediate 503", rec.Code, time.Since(start))
	}
	close(release)
	if code := <-first; code != 200 {
		t.Fatalf("first request: %d", code)
	}
}

func TestAPublishThatOutlivesTheDeadlineIs503(t *testing.T) {
	pub := PublisherFunc(func(context.Context, string, *Message, func(error)) {}) // never acknowledges
	h := newTestCollector(t, pub, func(c *Config) { c.PublishTimeout = 50 * time.Millisecond })
	r := httptest.NewRequest(http.MethodPost, "/v1/batch", strings.NewReader(`{"batch":[`+goodEvent+`]}`))
	r.Header.Set("X-Write-Key", "wk-api")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 503 {
		t.Fatalf("got %d, want 503", rec.Code)
	}
}

func TestCORSPreflightAnswersOnlyKnownOrigins(t *testing.T) {
	h := newTestCollector(t, &fakePublisher{}, nil)
	for _, tc := range []struct {
		origin string
		want   int
	}{{"https://shop.example", 204}, {"https://evil.example", 403}} {
		r := httptest.NewRequest(http.MethodOptions, "/v1/batch", nil)
		r.Header.Set("Origin", tc.origin)
		r.Header.Set("Access-Control-Request-Method", "POST")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != tc.want {
			t.Errorf("preflight from %s: %d, want %d", tc.origin, rec.Code, tc.want)
		}
		if tc.want == 204 && rec.Header().Get("Access-Control-Allow-Origin") != tc.origin {
			t.Errorf("preflight from %s: allow-origin %q", tc.origin, rec.Header().Get("Access-Control-Allow-Origin"))
		}
	}
}

func TestBrowsersCanReadErrorsAndRetryAfter(t *testing.T) {
	h := newTestCollector(t, &fakePublisher{err: ErrOverloaded}, nil)
	for _, tc := range []struct {
		name, key string
		want      int
	}{{"an unknown key's 401", "nope", 401}, {"an overload's 503", "wk-shop", 503}} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/batch", strings.NewReader(`{"batch":[`+goodEvent+`]}`))
			r.Header.Set("X-Write-Key", tc.key)
			r.Header.Set("Origin", "https://shop.example")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.want || rec.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(rec.Header().Get("Access-Control-Expose-Headers"), "Retry-After") {
				t.Errorf("got %d with CORS headers %v", rec.Code, rec.Header())
			}
		})
	}
}

func TestHealthAndMetricsEndpoints(t *testing.T) {
	h := newTestCollector(t, &fakePublisher{}, nil)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/metrics": 200} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != want {
			body, _ := io.ReadAll(rec.Body)
			t.Errorf("%s: %d %s, want %d", path, rec.Code, body, want)
		}
	}
}

// TestAnEventOutsideTheYearRangeIsRejectedAndFiledAsInvalid: the answer names the
// event and the field, and the event goes to events-invalid with that reason instead
// of being acknowledged as valid and refused downstream.
func TestAnEventOutsideTheYearRangeIsRejectedAndFiledAsInvalid(t *testing.T) {
	pub := &fakePublisher{}
	h := newTestCollector(t, pub, nil)
	body := `{"batch":[` + goodEvent + `,{"type":"page","anonymousId":"a","timestamp":"9999-12-31T23:30:00-01:00"},` +
		`{"type":"page","anonymousId":"a","originalTimestamp":"0001-01-01T00:00:00Z","sentAt":"9999-12-31T23:59:59Z"}]}`
	req := httptest.NewRequest(http.MethodPost, "/v1/batch", strings.NewReader(body))
	req.Header.Set("X-Write-Key", "wk-api")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp response
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); rec.Code != 200 || err != nil {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
	if resp.Accepted != 1 || len(resp.Rejected) != 2 || resp.Rejected[0].Index != 1 || !strings.HasPrefix(resp.Rejected[0].Reason, "timestamp: ") ||
		resp.Rejected[1].Index != 2 || !strings.HasPrefix(resp.Rejected[1].Reason, "timestamp: ") {
		t.Fatalf("answer %s", rec.Body)
	}
	inv := pub.sent["persistent://acme/api/events-invalid"]
	if len(inv) != 2 {
		t.Fatalf("%d invalid records, want 2", len(inv))
	}
	for _, m := range inv {
		var r schemas.InvalidEvent
		if err := json.Unmarshal(m.Payload, &r); err != nil || r.Field != "timestamp" || r.Reason == "" || m.Key != "a" {
			t.Errorf("invalid record %s (key %q): %v", m.Payload, m.Key, err)
		}
	}
	if n := pub.count("persistent://acme/api/events"); n != 1 {
		t.Errorf("%d events stored as valid, want 1", n)
	}
}
