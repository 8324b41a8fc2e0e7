package collector

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/schemas"
)

func TestServerSideEventsGetNoBrowserAndTheirContextIPIsRuledBySource(t *testing.T) {
	const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	browserSrc := &sources.Source{ID: "shop", Tenant: "acme", Namespace: "web"}
	serverSrc := &sources.Source{ID: "api", Tenant: "acme", Namespace: "web", Server: true}
	conn := netip.MustParseAddr("198.51.100.23")
	tests := []struct {
		name       string
		event      string
		src        *sources.Source
		keepFullIP bool
		userAgent  string
		// want: the stored IP, the context's ip as stored ("" for none), whether the
		// event is server-side, and its browser.
		ip, contextIP string
		server        bool
		browser       string
	}{
		{"a browser's event is parsed from its User-Agent and keeps the connection's address",
			`{"type":"page","anonymousId":"a"}`, browserSrc, false, chrome, "198.51.100.0", "", false, "Chrome"},
		{"a browser's context.ip is not taken, and is stored anonymized",
			`{"type":"page","anonymousId":"a","context":{"ip":"203.0.113.77","locale":"de"}}`, browserSrc, false, chrome, "198.51.100.0", "203.0.113.0", false, "Chrome"},
		{"a server source's context.ip is the visitor's, anonymized",
			`{"type":"track","event":"x","userId":"u","context":{"ip":"203.0.113.77"}}`, serverSrc, false, "python-requests/2.32", "203.0.113.0", "203.0.113.0", true, ""},
		{"a server source's context.ip is kept whole where full IPs are kept",
			`{"type":"track","event":"x","userId":"u","context":{"ip":"2001:db8:1:2::9"}}`, serverSrc, true, "", "2001:db8:1:2::9", "2001:db8:1:2::9", true, ""},
		{"a server source without context.ip keeps the connection's address",
			`{"type":"track","event":"x","userId":"u"}`, serverSrc, false, "", "198.51.100.0", "", true, ""},
		{"a context.ip that is no address is dropped from the context",
			`{"type":"track","event":"x","userId":"u","context":{"ip":"my laptop","ip":"not an ip"}}`, serverSrc, false, "", "198.51.100.0", "", true, ""},
		{"Segment's Python library is server-side whatever the source",
			`{"type":"track","event":"x","userId":"u","context":{"library":{"name":"analytics-python","version":"2.4.0"}}}`, browserSrc, false, "analytics-python/2.4.0", "198.51.100.0", "", true, ""},
		{"RudderStack's server channel is server-side",
			`{"type":"track","event":"x","userId":"u","channel":"server"}`, browserSrc, false, "analytics-node/3.1.1", "198.51.100.0", "", true, ""},
		{"a server-side event's context.userAgent gives no browser either",
			`{"type":"page","userId":"u","context":{"userAgent":"` + chrome + `"}}`, serverSrc, false, "", "198.51.100.0", "", true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := schemas.ParseEvent([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			info := &requestInfo{receivedAt: time.Now(), clientIP: conn, source: tc.src, headers: requestHeaders{userAgent: tc.userAgent}}
			if err := newEnricher(tc.keepFullIP).enrich(e, info); err != nil {
				t.Fatal(err)
			}
			en := e.Enrichment
			if en.IP != tc.ip || en.ServerSide != tc.server || en.Browser != tc.browser {
				t.Errorf("ip %q server %v browser %q, want %q %v %q", en.IP, en.ServerSide, en.Browser, tc.ip, tc.server, tc.browser)
			}
			if tc.server && (en.OS != "" || en.DeviceType != "" || en.IsBot) {
				t.Errorf("a server-side event got os %q device %q bot %v", en.OS, en.DeviceType, en.IsBot)
			}
			stored, err := schemas.DecodeStored(appendEvent(nil, e))
			if err != nil {
				t.Fatal(err)
			}
			if stored.Ctx.IP != tc.contextIP {
				t.Errorf("stored context.ip %q, want %q (context %s)", stored.Ctx.IP, tc.contextIP, stored.Context)
			}
			if !tc.keepFullIP && (strings.Contains(string(stored.Context), ".77") || strings.Contains(string(stored.Context), "not an ip")) {
				t.Errorf("the raw context keeps the address sent: %s", stored.Context)
			}
			if stored.Enrichment.ServerSide != tc.server {
				t.Errorf("stored serverSide %v", stored.Enrichment.ServerSide)
			}
		})
	}
}

func TestARejectedEventsRawContextIPIsAnonymized(t *testing.T) {
	for _, tc := range []struct{ name, raw, want string }{
		{"an address is anonymized", `{"type":"nope","context":{"ip":"203.0.113.77","locale":"de"}}`, `{"context":{"ip":"203.0.113.0","locale":"de"},"type":"nope"}`},
		{"text that is no address is dropped", `{"type":"nope","context":{"ip":"x"}}`, `{"context":{},"type":"nope"}`},
		{"an ip that is not a string is dropped", `{"type":"nope","context":{"ip":[1,2]}}`, `{"context":{},"type":"nope"}`},
		{"an event without context.ip stays as sent", `{"type":"nope", "context":{"locale":"de"}}`, `{"type":"nope", "context":{"locale":"de"}}`},
		{"malformed JSON stays as sent", `{"type":"nope","context":{"ip":"1.2.3.4"`, `{"type":"nope","context":{"ip":"1.2.3.4"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(withoutRawIP([]byte(tc.raw))); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestARejectedEventIsFiledWithoutTheFullAddressOfItsContext(t *testing.T) {
	pub := &fakePublisher{}
	h := newTestCollector(t, pub, nil)
	r := httptest.NewRequest(http.MethodPost, "/v1/batch", strings.NewReader(`{"batch":[{"type":"track","anonymousId":"a","context":{"ip":"203.0.113.77"}}]}`))
	r.Header.Set("X-Write-Key", "wk-api")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	msgs := pub.sent[schemas.Topic("acme", "api", schemas.TopicInvalid)]
	if rec.Code != http.StatusOK || len(msgs) != 1 {
		t.Fatalf("got %d %s and %d invalid records", rec.Code, rec.Body, len(msgs))
	}
	if p := string(msgs[0].Payload); strings.Contains(p, "203.0.113.77") || !strings.Contains(p, "203.0.113.0") {
		t.Errorf("invalid record %s: want the address anonymized", p)
	}
}
