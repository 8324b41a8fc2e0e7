package processor

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/processor/protocol"
)

func TestStatsAPI(t *testing.T) {
	store := NewStore(protocol.DefaultRetention, (&clock{t0}).Now)
	z := protocol.NewSessionizer(protocol.DefaultSessionRules(), "me", (&clock{t0}).Now)
	z.Add(ev{0, "m1", "", "/pricing", "https://news.example/a", "news", ""}.Event(), nil)
	z.Add(ev{time.Minute, "m2", "", "/docs", "", "", ""}.Event(), nil)
	_, aggs := committed(t, z)
	publish(t, store, aggs)
	api := &statsAPI{store: store, keys: map[string][]string{"acme": {"secret"}}, now: func() time.Time { return t0.Add(2 * time.Minute) }}

	tests := []struct {
		name, query, auth string
		wantCode          int
		wantPageviews     int64
	}{
		{"the read key in the header opens the tenant's stats", "tenant=acme&from=1795600800&to=1795604400", "Bearer secret", 200, 2},
		{"the read key as a query parameter does too", "tenant=acme&key=secret&from=2026-11-25T10:00:00Z&to=2026-11-25T11:00:00Z", "", 200, 2},
		{"a range before the events counts nothing", "tenant=acme&key=secret&from=2026-11-25T09:00:00Z&to=2026-11-25T10:00:00Z", "", 200, 0},
		{"no key is refused", "tenant=acme", "", 401, 0},
		{"another tenant's key is refused", "tenant=other&key=secret", "", 401, 0},
		{"a wrong key is refused", "tenant=acme", "Bearer nope", 401, 0},
		{"a missing tenant is a bad request", "key=secret", "", 400, 0},
		{"an interval of seconds is a bad request", "tenant=acme&key=secret&interval=30s", "", 400, 0},
		{"from after to is a bad request", "tenant=acme&key=secret&from=2026-11-25T11:00:00Z&to=2026-11-25T10:00:00Z", "", 400, 0},
		{"a range before the minutes kept, by minute, is a bad request", "tenant=acme&key=secret&from=2026-11-25T00:00:00Z&to=2026-11-25T10:00:00Z&interval=1m", "", 400, 0},
		{"the same range by hour is read by hour", "tenant=acme&key=secret&from=2026-11-25T00:00:00Z&to=2026-11-25T11:00:00Z&interval=1h", "", 200, 2},
		{"the last 90 days by day", "tenant=acme&key=secret&from=2026-08-28T00:00:00Z&to=2026-11-26T00:00:00Z&interval=24h", "", 200, 2},
		{"too many points is a bad request", "tenant=acme&key=secret&from=2026-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&interval=1m", "", 400, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/stats?"+tc.query, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			api.ServeHTTP(rec, req)
			if rec.Code != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.wantCode, rec.Body)
			}
			if tc.wantCode != 200 {
				return
			}
			var st Stats
			if err := json.Unmarshal(rec.Body.Bytes(), &st); err != nil {
				t.Fatal(err)
			}
			if st.Totals.Pageviews != tc.wantPageviews {
				t.Errorf("pageviews %d, want %d", st.Totals.Pageviews, tc.wantPageviews)
			}
		})
	}
}

func TestAStoreQuerySumsMinutesIntoIntervals(t *testing.T) {
	store := NewStore(protocol.DefaultRetention, (&clock{t0}).Now)
	z := protocol.NewSessionizer(protocol.DefaultSessionRules(), "me", (&clock{t0}).Now)
	for i, v := range []ev{
		{0, "a", "", "/", "https://news.example/", "", ""},
		{2 * time.Minute, "b", "", "/p", "", "", ""},
		{7 * time.Minute, "c", "", "/p", "", "", ""},
	} {
		z.Add(v.Event(), &protocol.Position{Ledger: 1, Entry: int64(i)})
	}
	_, aggs := committed(t, z)
	publish(t, store, aggs)
	st, err := store.Query("acme", t0, t0.Add(10*time.Minute), 5*time.Minute, 10, t0.Add(8*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Series) != 2 || st.Series[0].Pageviews != 2 || st.Series[1].Pageviews != 1 || st.Series[0].Visitors != 1 {
		t.Errorf("series %+v", st.Series)
	}
	if st.Totals.Visitors != 1 || st.Totals.Sessions != 1 || st.LiveVisitors != 1 {
		t.Errorf("totals %+v, live %d", st.Totals, st.LiveVisitors)
	}
	if len(st.Pages) != 2 || st.Pages[0] != (Entry{"/p", 2}) || len(st.Referrers) != 1 || st.Referrers[0].Name != "news.example" {
		t.Errorf("top pages %v, referrers %v", st.Pages, st.Referrers)
	}
}

// publish merges aggregates into store as they travel: through JSON.
func publish(t *testing.T, store *Store, aggs []*protocol.Aggregate) {
	t.Helper()
	for _, a := range aggs {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var got protocol.Aggregate
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		store.Add(got.Minutes)
	}
}
