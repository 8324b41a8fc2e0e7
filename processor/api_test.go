package processor

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

func TestStatsAPI(t *testing.T) {
	store := NewStore()
	z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0}).now)
	z.Add(ev{0, "m1", "", "/pricing", "https://news.example/a", "news", ""}.event(), nil)
	z.Add(ev{time.Minute, "m2", "", "/docs", "", "", ""}.event(), nil)
	z.Checkpoint(func(key string, r *Record, _ []schemas.Session) { store.Fold(key, roundTrip(t, r)) })
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
	store := NewStore()
	z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0}).now)
	for i, v := range []ev{
		{0, "a", "", "/", "https://news.example/", "", ""},
		{2 * time.Minute, "b", "", "/p", "", "", ""},
		{7 * time.Minute, "c", "", "/p", "", "", ""},
	} {
		z.Add(v.event(), &position{Ledger: 1, Entry: int64(i)})
	}
	z.Checkpoint(func(key string, r *Record, _ []schemas.Session) { store.Fold(key, r) })
	st := store.Query("acme", t0, t0.Add(10*time.Minute), 5*time.Minute, 10, t0.Add(8*time.Minute))
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

// Two instances expiring the same orphaned key both publish its close; the aggregates
// count it once.
func TestASessionClosedByTwoInstancesIsCountedOnce(t *testing.T) {
	clk := &clock{t0}
	owner := NewSessionizer(DefaultSessionRules(), "owner", clk.now)
	b := NewSessionizer(DefaultSessionRules(), "b", clk.now)
	c := NewSessionizer(DefaultSessionRules(), "c", clk.now)
	owner.Add(ev{0, "m1", "", "/", "", "", ""}.event(), &position{Ledger: 1})
	owner.Checkpoint(func(key string, r *Record, _ []schemas.Session) {
		b.Apply(key, roundTrip(t, r))
		c.Apply(key, roundTrip(t, r))
	})
	// The owner left; b and c both expire the key.
	clk.t = clk.t.Add(time.Hour)
	b.Expire()
	c.Expire()
	store := NewStore()
	var recB, recC *Record
	b.Checkpoint(func(key string, r *Record, _ []schemas.Session) { recB = roundTrip(t, r); store.Fold(key, recB) })
	c.Checkpoint(func(_ string, r *Record, _ []schemas.Session) { recC = roundTrip(t, r) })
	if b.Apply("anon-1", recC) {
		store.Fold("anon-1", recC)
	}
	st := store.Query("acme", t0, t0.Add(time.Hour), time.Hour, 10, t0)
	if len(recB.Ended) != 1 || len(recC.Ended) != 0 || st.Totals.SessionsEnded != 1 || st.Totals.Bounces != 1 {
		t.Errorf("b ended %d, c's record after apply ended %d, store counts %d ended and %d bounces; want 1, 0, 1, 1",
			len(recB.Ended), len(recC.Ended), st.Totals.SessionsEnded, st.Totals.Bounces)
	}
}
