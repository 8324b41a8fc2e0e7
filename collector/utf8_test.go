package collector

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/clicktrail/clicktrail/schemas"
)

// TestEveryTextStoredIsValidUTF8 sends invalid UTF-8 (raw bytes, as JSON allows inside
// strings) in every place a client can put it: each message published is valid UTF-8
// with U+FFFD where the bytes were, the events are still accepted, and each repaired
// value is counted by its field group.
func TestEveryTextStoredIsValidUTF8(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		userAgent  string
		accepted   int
		wantStored []string // substrings of the stored messages, as decoded
		wantGroups map[string]float64
	}{
		{"invalid bytes in properties, traits and context are replaced",
			"{\"batch\":[{\"type\":\"identify\",\"userId\":\"u\",\"properties\":{\"k\":\"a\xffb\"},\"traits\":{\"n\":\"\xc3\"},\"context\":{\"page\":{\"path\":\"/p\xfe\"},\"x\":[\"\xed\xa0\x80\"]}}]}",
			"", 1, []string{"a\uFFFDb", "/p\uFFFD", "\uFFFD\uFFFD\uFFFD"},
			map[string]float64{"properties": 1, "traits": 1, "context": 1}},
		{"invalid bytes in the envelope's strings are replaced",
			"{\"batch\":[{\"type\":\"track\",\"event\":\"Sign\xffed Up\",\"anonymousId\":\"a\xfe\",\"integrations\":{\"\xff\":true}}]}",
			"", 1, []string{"Sign\uFFFDed Up", "a\uFFFD"},
			map[string]float64{"fields": 1, "integrations": 1}},
		{"a rejected event's raw JSON is replaced",
			"{\"batch\":[{\"type\":\"track\",\"anonymousId\":\"a\",\"properties\":{\"k\":\"\xff\"}}]}",
			"", 0, []string{"\"k\":\"\uFFFD\""},
			map[string]float64{"raw": 1}},
		{"a single event's endpoint repairs the same way",
			"{\"event\":\"x\",\"anonymousId\":\"a\",\"properties\":{\"k\":\"\xff\"}}",
			"", 1, []string{"\"k\":\"\uFFFD\""},
			map[string]float64{"properties": 1}},
		{"invalid bytes in the User-Agent header are replaced in the invalid record",
			"{\"batch\":[{\"type\":\"track\",\"anonymousId\":\"a\"}]}",
			"bot\xff/1.0", 0, []string{"bot\uFFFD/1.0"},
			map[string]float64{"user_agent": 1}},
		{"an event rejected at enrichment keeps its raw JSON repaired",
			"{\"batch\":[{\"type\":\"page\",\"anonymousId\":\"a\",\"timestamp\":\"0000-01-01T00:00:00Z\",\"properties\":{\"k\":\"\xff\"}}]}",
			"", 0, []string{"\"k\":\"\uFFFD\""},
			map[string]float64{"properties": 1}},
		{"escaped lone surrogates stay as sent, valid UTF-8 already",
			`{"batch":[{"type":"track","event":"e","anonymousId":"a","properties":{"k":"\ud800"}}]}`,
			"", 1, []string{`\ud800`}, map[string]float64{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub := &fakePublisher{}
			c := newCollectorForTest(t, nil)
			h := c.Handler(pub)
			path := "/v1/batch"
			if !strings.HasPrefix(tc.body, `{"batch"`) {
				path = "/v1/track"
			}
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader([]byte(tc.body)))
			req.Header.Set("X-Write-Key", "wk-api")
			if tc.userAgent != "" {
				req.Header.Set("User-Agent", tc.userAgent)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var resp response
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); rec.Code != 200 || err != nil || resp.Accepted != tc.accepted {
				t.Fatalf("got %d %s, want 200 with %d accepted", rec.Code, rec.Body, tc.accepted)
			}
			var stored strings.Builder
			for topic, msgs := range pub.sent {
				for _, m := range msgs {
					if !utf8.Valid(m.Payload) {
						t.Errorf("%s: invalid UTF-8 stored: %q", topic, m.Payload)
					}
					// As a reader sees it: decoded, so escapes read as characters.
					var v any
					if err := json.Unmarshal(m.Payload, &v); err != nil {
						t.Fatalf("%s: %v", topic, err)
					}
					if strings.HasSuffix(topic, "-invalid") {
						var inv schemas.InvalidEvent
						_ = json.Unmarshal(m.Payload, &inv)
						stored.WriteString(string(inv.Raw) + inv.RawText + inv.UserAgent)
					}
					stored.Write(m.Payload)
					b, _ := json.Marshal(v)
					stored.Write(b)
					for k, v := range m.Properties {
						if !utf8.ValidString(k) || !utf8.ValidString(v) {
							t.Errorf("%s: invalid UTF-8 in property %q=%q", topic, k, v)
						}
					}
				}
			}
			for _, want := range tc.wantStored {
				if !strings.Contains(stored.String(), want) {
					t.Errorf("stored messages lack %q:\n%s", want, stored.String())
				}
			}
			for _, group := range []string{"fields", "context", "properties", "traits", "integrations", "raw", "user_agent"} {
				if got := counterValue(t, c, "clicktrail_collector_utf8_repaired_total", group); got != tc.wantGroups[group] {
					t.Errorf("utf8 repaired{field=%q} = %v, want %v", group, got, tc.wantGroups[group])
				}
			}
		})
	}
}
