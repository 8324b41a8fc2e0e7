package processor

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestStatsAPI(t *testing.T) {
	store := NewStore(DefaultRetention, (&clock{t0}).now)
	z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0}).now)
	z.Add(ev{0, "m1", "", "/pricing", "https://news.example/a", "news", ""}.event(), nil)
	z.Add(ev{time.Minute, "m2", "", "/docs", "", "", ""}.event(), nil)
	publish(t, store, play(t, z, checkpoint(t, z)))
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
	store := NewStore(DefaultRetention, (&clock{t0}).now)
	z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0}).now)
	for i, v := range []ev{
		{0, "a", "", "/", "https://news.example/", "", ""},
		{2 * time.Minute, "b", "", "/p", "", "", ""},
		{7 * time.Minute, "c", "", "/p", "", "", ""},
	} {
		z.Add(v.event(), &position{Ledger: 1, Entry: int64(i)})
	}
	publish(t, store, play(t, NewSessionizer(DefaultSessionRules(), "reader", (&clock{t0}).now), checkpoint(t, z)))
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
func publish(t *testing.T, store *Store, aggs []*Aggregate) {
	t.Helper()
	for _, a := range aggs {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var got Aggregate
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		store.Add(got.Minutes)
	}
}

// Two instances expiring the same orphaned key both publish its close; whoever reads
// the session-state topic counts it once.
func TestASessionClosedByTwoInstancesIsCountedOnce(t *testing.T) {
	clk := &clock{t0}
	owner := NewSessionizer(DefaultSessionRules(), "owner", clk.now)
	b := NewSessionizer(DefaultSessionRules(), "b", clk.now)
	c := NewSessionizer(DefaultSessionRules(), "c", clk.now)
	d := NewSessionizer(DefaultSessionRules(), "d", clk.now) // reads only
	owner.Add(ev{0, "m1", "", "/", "", "", ""}.event(), &position{Ledger: 1})
	log := checkpoint(t, owner)
	for _, z := range []*Sessionizer{b, c, d} {
		play(t, z, log)
	}
	// The owner left; b and c both expire the key, before reading each other's close.
	clk.t = clk.t.Add(time.Hour)
	b.Expire()
	c.Expire()
	cb, cc := b.Checkpoint(), c.Checkpoint()
	if len(cb.Closed) != 1 || len(cc.Closed) != 1 {
		t.Fatalf("b closed %d sessions and c %d, want 1 each", len(cb.Closed), len(cc.Closed))
	}
	log = append(cb.Commits, cc.Commits...)
	for _, z := range []*Sessionizer{b, c, d} {
		store := NewStore(DefaultRetention, (&clock{t0}).now)
		publish(t, store, play(t, z, log))
		st, err := store.Query("acme", t0, t0.Add(time.Hour), time.Hour, 10, t0)
		if err != nil {
			t.Fatal(err)
		}
		if st.Totals.SessionsEnded != 1 || st.Totals.Bounces != 1 {
			t.Errorf("%s counts %d ended sessions and %d bounces, want 1 and 1", z.self, st.Totals.SessionsEnded, st.Totals.Bounces)
		}
	}
}
