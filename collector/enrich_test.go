package collector

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/schemas"
)

func TestEnrichment(t *testing.T) {
	received := time.Date(2026, 11, 25, 10, 0, 10, 0, time.UTC)
	src := &sources.Source{ID: "shop", Tenant: "acme", Namespace: "web"}
	const iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
	tests := []struct {
		name  string
		event string
		info  requestInfo
		check func(t *testing.T, e *schemas.Event)
	}{
		{"a client clock one hour fast is corrected", `{"type":"page","anonymousId":"a","timestamp":"2026-11-25T11:00:00Z","sentAt":"2026-11-25T11:00:05Z"}`, requestInfo{},
			func(t *testing.T, e *schemas.Event) {
				if want := received.Add(-5 * time.Second); !e.Timestamp.Equal(want) {
					t.Errorf("timestamp %s, want %s", e.Timestamp.Time, want)
				}
				if !e.OriginalTimestamp.Equal(time.Date(2026, 11, 25, 11, 0, 0, 0, time.UTC)) {
					t.Errorf("originalTimestamp %s", e.OriginalTimestamp.Time)
				}
			}},
		{"the batch's sentAt serves events without their own", `{"type":"page","anonymousId":"a","timestamp":"2026-11-25T11:00:00Z"}`, requestInfo{sentAt: schemas.NewTime(time.Date(2026, 11, 25, 11, 0, 1, 0, time.UTC))},
			func(t *testing.T, e *schemas.Event) {
				if want := received.Add(-time.Second); !e.Timestamp.Equal(want) {
					t.Errorf("timestamp %s, want %s", e.Timestamp.Time, want)
				}
				if e.SentAt == nil || !e.SentAt.Equal(time.Date(2026, 11, 25, 11, 0, 1, 0, time.UTC)) {
					t.Errorf("sentAt %v, want the batch's stored with the event", e.SentAt)
				}
			}},
		{"a missing messageId is generated and marked", `{"type":"page","anonymousId":"a"}`, requestInfo{},
			func(t *testing.T, e *schemas.Event) {
				if len(e.MessageID) != 36 || !e.MessageIDGenerated {
					t.Errorf("messageId %q generated=%v", e.MessageID, e.MessageIDGenerated)
				}
			}},
		{"a client's messageId is kept", `{"type":"page","anonymousId":"a","messageId":"m-7","messageIdGenerated":true}`, requestInfo{},
			func(t *testing.T, e *schemas.Event) {
				if e.MessageID != "m-7" || e.MessageIDGenerated {
					t.Errorf("messageId %q generated=%v", e.MessageID, e.MessageIDGenerated)
				}
			}},
		{"an IPv4 address is anonymized", `{"type":"page","anonymousId":"a"}`, requestInfo{clientIP: netip.MustParseAddr("203.0.113.77")},
			func(t *testing.T, e *schemas.Event) {
				if e.Enrichment.IP != "203.0.113.0" {
					t.Errorf("ip %q", e.Enrichment.IP)
				}
			}},
		{"an IPv6 address is anonymized", `{"type":"page","anonymousId":"a"}`, requestInfo{clientIP: netip.MustParseAddr("2001:db8:1:2:3:4:5:6")},
			func(t *testing.T, e *schemas.Event) {
				if e.Enrichment.IP != "2001:db8:1::" {
					t.Errorf("ip %q", e.Enrichment.IP)
				}
			}},
		{"the user agent is parsed into browser, OS and device", `{"type":"page","anonymousId":"a","context":{"userAgent":"` + iphone + `"}}`, requestInfo{},
			func(t *testing.T, e *schemas.Event) {
				en := e.Enrichment
				if en.Browser != "Safari" || en.OS != "iOS" || en.DeviceType != "mobile" || en.IsBot {
					t.Errorf("enrichment %+v", en)
				}
			}},
		{"a crawler is flagged as a bot", `{"type":"page","anonymousId":"a"}`, requestInfo{headers: requestHeaders{userAgent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}},
			func(t *testing.T, e *schemas.Event) {
				if !e.Enrichment.IsBot || e.Enrichment.DeviceType != "bot" {
					t.Errorf("enrichment %+v", e.Enrichment)
				}
			}},
		{"campaign comes from the page URL when the context has none", `{"type":"page","anonymousId":"a","context":{"page":{"url":"https://shop.example/?utm_source=news&utm_medium=email&utm_campaign=spring"},"custom":1}}`, requestInfo{},
			func(t *testing.T, e *schemas.Event) {
				if e.Ctx.Campaign.Source != "news" || e.Ctx.Campaign.Medium != "email" || e.Ctx.Campaign.Name != "spring" {
					t.Errorf("campaign %+v", e.Ctx.Campaign)
				}
				if !strings.Contains(string(e.Context), `"source":"news"`) || !strings.Contains(string(e.Context), `"custom":1`) {
					t.Errorf("raw context %s", e.Context)
				}
			}},
		{"a client's campaign is not replaced", `{"type":"page","anonymousId":"a","context":{"campaign":{"source":"ads"},"page":{"url":"https://shop.example/?utm_source=news"}}}`, requestInfo{},
			func(t *testing.T, e *schemas.Event) {
				if e.Ctx.Campaign.Source != "ads" {
					t.Errorf("campaign %+v", e.Ctx.Campaign)
				}
			}},
		{"tenant and source come from the write key, not the client", `{"type":"page","anonymousId":"a","tenant":"other","source":"x"}`, requestInfo{},
			func(t *testing.T, e *schemas.Event) {
				if e.Tenant != "acme" || e.Source != "shop" {
					t.Errorf("tenant %q source %q", e.Tenant, e.Source)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := schemas.ParseEvent([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			info := tc.info
			info.receivedAt, info.source = received, src
			if err := newEnricher(false).enrich(e, &info); err != nil {
				t.Fatal(err)
			}
			tc.check(t, e)
			if _, err := json.Marshal(e); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestXForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	tests := []struct {
		name, remote, xff, trusted, want string
	}{
		{"no proxy configured: the connection's address", "198.51.100.1:1234", "203.0.113.9", "", "198.51.100.1"},
		{"behind a trusted proxy: the client's address", "10.0.0.5:1234", "203.0.113.9", "10.0.0.0/8", "203.0.113.9"},
		{"a spoofed hop before the proxy chain is ignored", "10.0.0.5:1234", "1.2.3.4, 203.0.113.9, 10.0.0.7", "10.0.0.0/8", "203.0.113.9"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			if tc.trusted != "" {
				cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(tc.trusted)}
			}
			a := &api{cfg: &cfg}
			c := ginContext(tc.remote, tc.xff)
			if got := a.clientIP(c).String(); got != tc.want {
				t.Errorf("client ip %s, want %s", got, tc.want)
			}
		})
	}
}

func TestWithCampaignKeepsEveryOtherKey(t *testing.T) {
	c := schemas.Campaign{Source: "news"}
	tests := []struct{ name, raw, want string }{
		{"an object with keys", `{"locale":"en"}`, `{"campaign":{"name":"","source":"news","medium":"","term":"","content":""},"locale":"en"}`},
		{"an empty object", `{ }`, `{"campaign":{"name":"","source":"news","medium":"","term":"","content":""}}`},
		{"no context at all", ``, `{"campaign":{"content":"","medium":"","name":"","source":"news","term":""}}`},
		{"an empty campaign key is replaced", `{"campaign":{},"locale":"en"}`, `{"campaign":{"name":"","source":"news","medium":"","term":"","content":""},"locale":"en"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := withCampaign(json.RawMessage(tc.raw), c)
			var gotV, wantV any
			if err := json.Unmarshal(got, &gotV); err != nil {
				t.Fatalf("invalid JSON %s: %v", got, err)
			}
			_ = json.Unmarshal([]byte(tc.want), &wantV)
			g, _ := json.Marshal(gotV)
			w, _ := json.Marshal(wantV)
			if string(g) != string(w) {
				t.Errorf("got %s, want %s", g, w)
			}
		})
	}
}

func TestTimestampsOutsideTheYears0001To9999AreRejectedNamingTheField(t *testing.T) {
	received := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		event     string
		batchSent string // the batch's sentAt, "" for none
		wantField string // "" when accepted
		wantYear  int    // of the stored timestamp, when accepted
	}{
		{"a timestamp moved to year 10000 by its offset is rejected",
			`{"type":"page","anonymousId":"a","timestamp":"9999-12-31T23:30:00-01:00"}`, "", "timestamp", 0},
		{"a timestamp moved to year 0 by its offset is rejected",
			`{"type":"page","anonymousId":"a","timestamp":"0001-01-01T00:30:00+01:00"}`, "", "timestamp", 0},
		{"an originalTimestamp in year 0 is rejected",
			`{"type":"page","anonymousId":"a","originalTimestamp":"0000-06-01T00:00:00Z"}`, "", "originalTimestamp", 0},
		{"an event's sentAt in year 10000 is rejected",
			`{"type":"page","anonymousId":"a","timestamp":"2026-11-25T09:00:00Z","sentAt":"9999-12-31T23:59:00-23:59"}`, "", "sentAt", 0},
		{"originalTimestamp 0001 sent in 9999 is rejected, not stored as 1734",
			`{"type":"page","anonymousId":"a","originalTimestamp":"0001-01-01T00:00:00Z","sentAt":"9999-12-31T23:59:59Z"}`, "", "timestamp", 0},
		{"a batch sentAt in year 0 in UTC is rejected naming sentAt, as it would be stored",
			`{"type":"page","anonymousId":"a","timestamp":"2026-11-25T09:00:00Z"}`, "0001-01-01T00:30:00+01:00", "sentAt", 0},
		{"a batch sentAt 5,000 years ahead of the event moves it before year 0001 and is rejected",
			`{"type":"page","anonymousId":"a","timestamp":"2026-11-25T09:00:00Z"}`, "7026-11-25T09:00:00Z", "timestamp", 0},
		{"year 0001 without sentAt is kept as it is",
			`{"type":"page","anonymousId":"a","timestamp":"0001-01-01T00:00:00Z"}`, "", "", 1},
		{"year 9999 in UTC is bounded by receivedAt",
			`{"type":"page","anonymousId":"a","timestamp":"9999-12-31T23:59:59Z"}`, "", "", 2026},
		{"a skew of 3,000 years within the range is corrected",
			`{"type":"page","anonymousId":"a","timestamp":"5026-11-25T08:00:00Z","sentAt":"5026-11-25T09:00:00Z"}`, "", "", 2026},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := schemas.ParseEvent([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			info := &requestInfo{receivedAt: received, source: &sources.Source{ID: "s", Tenant: "t"}}
			if tc.batchSent != "" {
				ts, _ := schemas.ParseTime(tc.batchSent)
				info.sentAt = schemas.NewTime(ts)
			}
			err = newEnricher(false).enrich(e, info)
			if tc.wantField != "" {
				var ve *schemas.ValidationError
				if !errors.As(err, &ve) || ve.Field != tc.wantField {
					t.Fatalf("err = %v, want a rejection naming %s", err, tc.wantField)
				}
				if e.ReceivedAt != nil {
					t.Errorf("a rejected event was enriched")
				}
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if e.Timestamp.Year() != tc.wantYear || !schemas.InYearRange(e.OriginalTimestamp.Time) {
				t.Errorf("timestamp %s, original %s", e.Timestamp.Time, e.OriginalTimestamp.Time)
			}
		})
	}
}
