package collector

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkBatchHandler measures the handler path (read, parse, validate, enrich,
// encode) of one 20-event batch, with a publisher that acknowledges at once.
func BenchmarkBatchHandler(b *testing.B) {
	var events []string
	for i := range 20 {
		events = append(events, fmt.Sprintf(`{"type":"page","name":"pricing","messageId":"m-%d","anonymousId":"anon-1","timestamp":"2026-11-25T10:00:00Z","context":{"page":{"url":"https://www.example.com/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=autumn","path":"/pricing","title":"Pricing","referrer":"https://news.example.org/top"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36","locale":"en-US","timezone":"America/New_York","screen":{"width":1920,"height":1080,"density":1},"library":{"name":"clicktrail-sdk","version":"0.1.0"}}}`, i))
	}
	body := []byte(`{"batch":[` + strings.Join(events, ",") + `],"sentAt":"2026-11-25T10:00:01Z"}`)
	h := newBenchCollector(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, "/v1/batch", bytes.NewReader(body))
		req.Header.Set("X-Write-Key", "wk-api")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
	b.ReportMetric(float64(b.N*20)/b.Elapsed().Seconds(), "events/s")
}
