package archiver

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// BenchmarkEventsToParquet measures decoding stored events, mapping them to rows,
// checking that their text is UTF-8 and encoding them into a zstd Parquet file on
// disk, and reports the file's bytes per event against the JSON the collector stored.
func BenchmarkEventsToParquet(b *testing.B) {
	const n = 20_000
	payloads := make([][]byte, n)
	jsonBytes := 0
	for i := range payloads {
		e := schemas.Event{
			Type: "page", Name: "Pricing", MessageID: fmt.Sprintf("6d0f5c3e-1b2a-4e8f-a7c9-%012d", i), AnonymousID: fmt.Sprintf("anon-%06d", i%5000),
			Timestamp: schemas.NewTime(time.Date(2026, 11, 25, 10, 0, 0, i*1e6, time.UTC)), ReceivedAt: schemas.NewTime(time.Date(2026, 11, 25, 10, 0, 1, i*1e6, time.UTC)),
			Context:    json.RawMessage(`{"page":{"url":"https://www.example.com/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=autumn","path":"/pricing","title":"Pricing","referrer":"https://news.example.org/top"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36","locale":"en-US","timezone":"America/New_York","screen":{"width":1920,"height":1080,"density":1},"library":{"name":"clicktrail-sdk","version":"0.1.0"},"campaign":{"source":"newsletter","medium":"email","name":"autumn"}}`),
			Properties: json.RawMessage(fmt.Sprintf(`{"plan":"pro","seats":%d}`, i%50)), Tenant: "clicktrail", Source: "dev",
			Enrichment: &schemas.Enrichment{IP: "203.0.113.0", Browser: "Chrome", BrowserVersion: "126.0.0.0", OS: "Windows", OSVersion: "10.0", DeviceType: "desktop"},
		}
		payloads[i], _ = json.Marshal(e)
		jsonBytes += len(payloads[i])
	}
	dir := b.TempDir()
	b.ResetTimer()
	var fileBytes int64
	for b.Loop() {
		f, err := newFile(dir, eventsTable)
		if err != nil {
			b.Fatal(err)
		}
		for _, p := range payloads {
			row, _, _, err := eventsTable.decode(p)
			if err != nil {
				b.Fatal(err)
			}
			eventsTable.text.repair(row)
			if err := f.write(row); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.finish(); err != nil {
			b.Fatal(err)
		}
		st, _ := os.Stat(f.path())
		fileBytes = st.Size()
		f.discard()
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(fileBytes)/n, "parquet_B/event")
	b.ReportMetric(float64(jsonBytes)/n, "json_B/event")
}
