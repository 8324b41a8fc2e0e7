package collector

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"

	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/schemas"
)

// vectorEvents returns the events of the shared test vectors, valid and invalid, as sent.
func vectorEvents(t testing.TB) []json.RawMessage {
	b, err := os.ReadFile("../schemas/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var vectors struct {
		Valid, Invalid []struct {
			Event json.RawMessage `json:"event"`
		}
	}
	if err := json.Unmarshal(b, &vectors); err != nil {
		t.Fatal(err)
	}
	var out []json.RawMessage
	for _, v := range append(vectors.Valid, vectors.Invalid...) {
		out = append(out, v.Event)
	}
	return out
}

// awkward holds strings that exercise every escape of encoding/json.
var awkward = []string{
	"", "plain", `quote " and backslash \`, "<script>&amp;</script>", "tab\tnew\nline\rcr\bbs\fff",
	"\x00\x01\x1f\x7f", "bad utf-8 \xff\xfe end", "line\u2028para\u2029", "é — ✓ 😀", "\xe2\x80",
}

func TestAppendEventEncodesAsEncodingJSON(t *testing.T) {
	received := time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)
	en := newEnricher(false)
	var events []*schemas.Event
	for _, raw := range vectorEvents(t) {
		e, err := schemas.ParseEvent(raw)
		if err != nil {
			continue // an event that does not parse is never encoded
		}
		events = append(events, e)
		// The same event enriched, as the collector stores it.
		e2, _ := schemas.ParseEvent(raw)
		en.enrich(e2, &requestInfo{receivedAt: received, clientIP: netip.MustParseAddr("203.0.113.9"),
			headers: requestHeaders{userAgent: "Mozilla/5.0 (compatible; Googlebot/2.1)"}, source: &sources.Source{ID: "shop", Tenant: "acme"}})
		events = append(events, e2)
	}
	for _, s := range awkward {
		events = append(events, &schemas.Event{
			Type: s, Event: s, Name: s, Category: s, MessageID: s, AnonymousID: s, UserID: s, GroupID: s, PreviousID: s, Channel: s,
			Tenant: s, Source: s, MessageIDGenerated: s == "",
			Enrichment: &schemas.Enrichment{IP: s, Browser: s, BrowserVersion: s, OS: s, OSVersion: s, DeviceType: s, IsBot: s != "", ServerSide: s == "plain"},
		})
	}
	for _, raw := range []string{`{ "a" : [1, 2 ,{"b":"<&>"}] }`, "{\"a\":\"\u2028\"}", `{"a":"x y", "b":"—"}`, `{"a":"\u003c"}`, `{}`, "{\n}"} {
		events = append(events, &schemas.Event{Type: "track", Context: json.RawMessage(raw), Properties: json.RawMessage(raw),
			Traits: json.RawMessage(raw), Integrations: json.RawMessage(raw), Enrichment: &schemas.Enrichment{}})
	}
	events = append(events, &schemas.Event{Type: "page", Timestamp: schemas.NewTime(time.Date(2026, 2, 3, 4, 5, 6, 7, time.FixedZone("x", 3600)))})

	for i, e := range events {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendEvent(nil, e); !bytes.Equal(got, want) {
			t.Errorf("event %d:\n got %s\nwant %s", i, got, want)
		}
		// The encoder it replaces (goccy/go-json) writes \b and \f as \u0008 and
		// \u000c; otherwise the bytes are the same, and readers decode both alike.
		old, err := gojson.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		old = bytes.ReplaceAll(bytes.ReplaceAll(old, []byte(`\u0008`), []byte(`\b`)), []byte(`\u000c`), []byte(`\f`))
		if got := appendEvent(nil, e); !bytes.Equal(got, old) {
			t.Errorf("event %d differs from goccy/go-json:\n got %s\n old %s", i, got, old)
		}
	}
}

func TestAppendCampaignEncodesAsEncodingJSON(t *testing.T) {
	for _, s := range awkward {
		c := schemas.Campaign{Name: s, Source: "news", Medium: s, Term: "", Content: s}
		want, _ := json.Marshal(c)
		if got := appendCampaign(nil, c); !bytes.Equal(got, want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func BenchmarkAppendEvent(b *testing.B) {
	raw := []byte(`{"type":"page","name":"pricing","messageId":"m-1","anonymousId":"anon-1","timestamp":"2026-11-25T10:00:00Z","context":{"page":{"url":"https://www.example.com/pricing?utm_source=newsletter","path":"/pricing","title":"Example — Pricing","referrer":"https://news.example.org/top"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36","locale":"en-US"}}`)
	e, err := schemas.ParseEvent(raw)
	if err != nil {
		b.Fatal(err)
	}
	newEnricher(false).enrich(e, &requestInfo{receivedAt: time.Now(), source: &sources.Source{ID: "s", Tenant: "t"}})
	b.Run("appendEvent", func(b *testing.B) {
		b.ReportAllocs()
		buf := make([]byte, 0, 4096)
		for b.Loop() {
			buf = appendEvent(buf[:0], e)
		}
	})
	b.Run("goccy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = gojson.Marshal(e)
		}
	})
}

func TestAppendTimeWritesWhatMarshalJSONWrites(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 11, 25, 6, 45, 0, 123456789, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("x", -3600)), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 3, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, 0), {},
	} {
		want, _ := schemas.Time{Time: tm}.MarshalJSON()
		if got := appendTime(nil, tm); !bytes.Equal(got, want) {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}
