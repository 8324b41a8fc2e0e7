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

func TestPageFieldsComeFromPropertiesOnlyWhenTheContextHasNoPage(t *testing.T) {
	props := `"properties":{"url":"https://shop.example/pricing?plan=pro","path":"/pricing","title":"Prices","referrer":"https://news.example/a","search":"?plan=pro","category":"Docs"}`
	for _, tc := range []struct {
		name, event                                  string
		url, path, title, referrer, search, category string
	}{
		{"a server-side page takes every page field from its properties",
			`{"type":"page","userId":"u",` + props + `}`,
			"https://shop.example/pricing?plan=pro", "/pricing", "Prices", "https://news.example/a", "?plan=pro", "Docs"},
		{"a page with context.page keeps it and ignores the properties",
			`{"type":"page","userId":"u","category":"Top",` + props + `,"context":{"page":{"url":"https://shop.example/","path":"/"}}}`,
			"https://shop.example/", "/", "", "", "", "Top"},
		{"a track event never takes page fields from its properties",
			`{"type":"track","event":"x","userId":"u",` + props + `}`,
			"", "", "", "", "", ""},
		{"values that are not strings are not taken",
			`{"type":"page","userId":"u","properties":{"url":5,"path":["/a"],"title":null,"category":{"a":1}}}`,
			"", "", "", "", "", ""},
		{"a null context.page counts as absent",
			`{"type":"page","userId":"u","context":{"page":null},"properties":{"path":"/p"}}`,
			"", "/p", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseEvent([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			r := EventRowOf(e)
			got := [...]string{r.PageURL, r.PagePath, r.PageTitle, r.Referrer, e.Ctx.Page.Search, r.Category}
			want := [...]string{tc.url, tc.path, tc.title, tc.referrer, tc.search, tc.category}
			if got != want {
				t.Errorf("url, path, title, referrer, search, category = %q, want %q", got, want)
			}
			stored, err := DecodeStored([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			if stored.Ctx.Page != e.Ctx.Page || stored.Category != e.Category {
				t.Errorf("a stored event decodes to page %+v category %q, the client's to %+v %q", stored.Ctx.Page, stored.Category, e.Ctx.Page, e.Category)
			}
		})
	}
}

func TestEventRowKeepsChannelIntegrationsAndSentAt(t *testing.T) {
	e, err := ParseEvent([]byte(`{"type":"track","event":"x","userId":"u","channel":"server","sentAt":"2026-11-25T10:00:01.5Z","integrations":{"All":true,"Amplitude":{"session_id":"1"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := EventRowOf(e)
	if r.Channel != "server" || r.Integrations != `{"All":true,"Amplitude":{"session_id":"1"}}` || !r.SentAt.Equal(time.Date(2026, 11, 25, 10, 0, 1, 5e8, time.UTC)) {
		t.Errorf("channel %q, integrations %q, sent_at %s", r.Channel, r.Integrations, r.SentAt)
	}
}

func TestAnIdentifyWithoutTraitsTakesThoseOfItsContext(t *testing.T) {
	for _, tc := range []struct{ name, event, want string }{
		{"RudderStack's form: traits in context.traits", `{"type":"identify","userId":"u","context":{"traits":{"name":"Zoë"}}}`, `{"name":"Zoë"}`},
		{"the spec's form wins", `{"type":"identify","userId":"u","traits":{"a":1},"context":{"traits":{"b":2}}}`, `{"a":1}`},
		{"context.traits that are not an object are not taken", `{"type":"identify","userId":"u","context":{"traits":"x"}}`, ``},
		{"a track event's context.traits stay in the context", `{"type":"track","event":"e","userId":"u","context":{"traits":{"b":2}}}`, ``},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ParseEvent([]byte(tc.event))
			if err != nil {
				t.Fatal(err)
			}
			if got := EventRowOf(e).Traits; got != tc.want {
				t.Errorf("traits %q, want %q", got, tc.want)
			}
		})
	}
}
