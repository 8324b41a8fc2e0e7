package collector

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/clicktrail/clicktrail/schemas"
)

func TestEveryPathTheTrackingClientsPostToIsServed(t *testing.T) {
	one := `{"event":"x","name":"n","groupId":"g","previousId":"p","anonymousId":"a","writeKey":"wk-api"}`
	batch := `{"batch":[` + goodEvent + `],"sentAt":"2026-11-25T10:00:00Z"}`
	tests := []struct {
		name, path, body, auth string
		wantType               string
	}{
		{"analytics.js's batching mode posts to /v1/b", "/v1/b", batch, "Basic d2stYXBpOg==", "track"},
		{"analytics.js posts a track call to /v1/t", "/v1/t", one, "", "track"},
		{"analytics.js posts a page call to /v1/p", "/v1/p", one, "", "page"},
		{"analytics.js posts a screen call to /v1/s", "/v1/s", one, "", "screen"},
		{"analytics.js posts an identify call to /v1/i", "/v1/i", one, "", "identify"},
		{"analytics.js posts a group call to /v1/g", "/v1/g", one, "", "group"},
		{"analytics.js posts an alias call to /v1/a", "/v1/a", one, "", "alias"},
		{"RudderStack's beacon posts to /beacon/v1/batch with the key in the query", "/beacon/v1/batch?writeKey=wk-api", batch, "", "track"},
		{"the Tracking API's long form stays", "/v1/page", one, "", "page"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pub := &fakePublisher{}
			h := newTestCollector(t, pub, nil)
			r := httptest.NewRequest(http.MethodPost, tc.path, strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "text/plain")
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"accepted":1`) {
				t.Fatalf("got %d %s", rec.Code, rec.Body)
			}
			msgs := pub.sent[schemas.Topic("acme", "api", schemas.TopicEvents)]
			if len(msgs) != 1 {
				t.Fatalf("%d events published", len(msgs))
			}
			e, err := schemas.DecodeStored(msgs[0].Payload)
			if err != nil || e.Type != tc.wantType {
				t.Errorf("stored type %q (%v), want %s", e.Type, err, tc.wantType)
			}
		})
	}
}

func TestTheWriteKeyComesFromTheQueryOnlyForTheBeacon(t *testing.T) {
	h := newTestCollector(t, &fakePublisher{}, nil)
	r := httptest.NewRequest(http.MethodPost, "/v1/batch?writeKey=wk-api", strings.NewReader(`{"batch":[`+goodEvent+`]}`))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("a write key in the query of /v1/batch: %d, want 401", rec.Code)
	}
}

func TestPreflightsAreAnsweredForServedPathsOnlyAllowingWhatClientsSend(t *testing.T) {
	h := newTestCollector(t, &fakePublisher{}, nil)
	tests := []struct {
		name, path string
		want       int
		methods    string
	}{
		{"analytics.js's batch path", "/v1/b", 204, "POST, OPTIONS"},
		{"analytics.js's track path", "/v1/t", 204, "POST, OPTIONS"},
		{"RudderStack's per-event path", "/v1/identify", 204, "POST, OPTIONS"},
		{"RudderStack's beacon path", "/beacon/v1/batch", 204, "POST, OPTIONS"},
		{"RudderStack's configuration", "/sourceConfig/", 204, "GET, OPTIONS"},
		{"a path that is not served", "/v1/x", 404, ""},
		{"a path under /v1 that only looks served", "/v1/batch/more", 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodOptions, tc.path, nil)
			r.Header.Set("Origin", "https://shop.example")
			r.Header.Set("Access-Control-Request-Method", "POST")
			r.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-retry-count")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.want {
				t.Fatalf("preflight of %s: %d, want %d", tc.path, rec.Code, tc.want)
			}
			if rec.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" {
				t.Errorf("no CORS headers: %v", rec.Header())
			}
			if tc.want != 204 {
				return
			}
			if got := rec.Header().Get("Access-Control-Allow-Methods"); got != tc.methods {
				t.Errorf("allowed methods %q, want %q", got, tc.methods)
			}
			allowed := map[string]bool{}
			for _, h := range strings.Split(rec.Header().Get("Access-Control-Allow-Headers"), ",") {
				allowed[strings.ToLower(strings.TrimSpace(h))] = true
			}
			// What analytics.js and RudderStack's JavaScript SDK send beyond the
			// safelisted headers, retries included.
			for _, h := range []string{"authorization", "content-type", "x-retry-count", "anonymousid", "sentat",
				"rsa-recovered", "rsa-retry-attempt", "rsa-since-last-attempt", "rsa-since-first-attempt", "rsa-retry-reason"} {
				if !allowed[h] {
					t.Errorf("%s is not allowed: %q", h, rec.Header().Get("Access-Control-Allow-Headers"))
				}
			}
		})
	}
}

func TestUnknownPathsAnswer404WithCORSHeaders(t *testing.T) {
	h := newTestCollector(t, &fakePublisher{}, nil)
	for _, tc := range []struct{ method, path string }{
		{http.MethodPost, "/v1/x"}, {http.MethodPost, "/v2/batch"}, {http.MethodGet, "/v1/batch"}, {http.MethodPost, "/"},
	} {
		r := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{}`))
		r.Header.Set("Origin", "https://shop.example")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusNotFound || rec.Header().Get("Access-Control-Allow-Origin") != "https://shop.example" || !strings.Contains(rec.Body.String(), "no such endpoint") {
			t.Errorf("%s %s: %d %s with headers %v, want a 404 a browser can read", tc.method, tc.path, rec.Code, rec.Body, rec.Header())
		}
	}
}

func TestRudderStacksSDKGetsItsSourceConfigFromTheCollector(t *testing.T) {
	h := newTestCollector(t, &fakePublisher{}, nil)
	tests := []struct {
		name, url, origin string
		want              int
	}{
		{"the SDK's request, key in the query", "/sourceConfig/?p=npm&v=3.34.1&build=modern&writeKey=wk-shop&lockIntegrationsVersion=false", "https://shop.example", 200},
		{"without the trailing slash", "/sourceConfig?writeKey=wk-shop", "", 200},
		{"an unknown key", "/sourceConfig/?writeKey=nope", "https://shop.example", 401},
		{"a foreign origin", "/sourceConfig/?writeKey=wk-shop", "https://evil.example", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, tc.url, nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.want {
				t.Fatalf("got %d %s, want %d", rec.Code, rec.Body, tc.want)
			}
			if tc.want != 200 {
				return
			}
			// What the SDK checks (isValidSourceConfig) and reads.
			var cfg struct {
				Source struct {
					ID           string          `json:"id"`
					Enabled      bool            `json:"enabled"`
					Config       map[string]any  `json:"config"`
					Destinations json.RawMessage `json:"destinations"`
				} `json:"source"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &cfg); err != nil {
				t.Fatal(err)
			}
			if cfg.Source.ID != "shop" || !cfg.Source.Enabled || cfg.Source.Config == nil || string(cfg.Source.Destinations) != "[]" {
				t.Errorf("source config %s", rec.Body)
			}
		})
	}
}
