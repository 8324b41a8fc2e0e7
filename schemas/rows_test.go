package schemas

import (
	"encoding/json"
	"testing"
	"time"
)

func TestEveryValidVectorMapsToARow(t *testing.T) {
	v := loadVectors(t)
	for _, tc := range v.Valid {
		t.Run(tc.Name, func(t *testing.T) {
			e, err := ParseEvent(tc.Event)
			if err != nil {
				t.Fatal(err)
			}
			r := EventRowOf(e)
			if r.Type != e.Type || r.MessageID != e.MessageID || r.UserKey != e.UserKey() || r.Event != e.Event {
				t.Errorf("row %+v does not carry the event's identity", r)
			}
			if r.Properties != "" && !json.Valid([]byte(r.Properties)) {
				t.Errorf("properties column is not JSON: %q", r.Properties)
			}
			if e.Timestamp != nil && !r.Timestamp.Equal(e.Timestamp.Time) {
				t.Errorf("timestamp %s, want %s", r.Timestamp, e.Timestamp.Time)
			}
			if e.Ctx.Page.URL != "" && r.PagePath == "" {
				t.Errorf("page path missing for %s", e.Ctx.Page.URL)
			}
		})
	}
}

func TestEventRowCarriesEnrichmentAndCampaign(t *testing.T) {
	e, err := ParseEvent([]byte(`{"type":"page","anonymousId":"a","userId":"u","context":{"page":{"url":"https://x.example/p?q=1"},"campaign":{"source":"news","name":"spring"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	e.ReceivedAt = NewTime(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	e.Enrichment = &Enrichment{Browser: "Firefox", OS: "Linux", DeviceType: "desktop", IP: "203.0.113.0"}
	r := EventRowOf(e)
	if r.PagePath != "/p" || r.UTMSource != "news" || r.UTMCampaign != "spring" || r.Browser != "Firefox" || r.IP != "203.0.113.0" || r.UserKey != "a" || !r.ReceivedAt.Equal(e.ReceivedAt.Time) {
		t.Errorf("row %+v", r)
	}
}
