package processor

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

type ev struct {
	at       time.Duration // after t0
	id       string
	typ      string
	path     string
	referrer string
	utm      string // utm_source
	userID   string
}

func (v ev) event() *schemas.Event {
	typ := v.typ
	if typ == "" {
		typ = schemas.TypePage
	}
	e := &schemas.Event{Type: typ, AnonymousID: "anon-1", UserID: v.userID, MessageID: v.id, Timestamp: schemas.NewTime(t0.Add(v.at)), Event: "Clicked"}
	e.Ctx.Page = schemas.Page{URL: "https://shop.example" + v.path, Path: v.path, Referrer: v.referrer}
	e.Ctx.Campaign.Source = v.utm
	return e
}

func run(rules SessionRules, events []ev) (closed []schemas.Session, outcomes []Outcome, z *Sessionizer) {
	z = NewSessionizer(rules)
	for _, v := range events {
		c, out := z.Add(v.event())
		if c != nil {
			closed = append(closed, *c)
		}
		outcomes = append(outcomes, out)
	}
	return closed, outcomes, z
}

func TestSessionRules(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	tests := []struct {
		name        string
		rules       func(*SessionRules)
		events      []ev
		wantClosed  []string // end reasons of the sessions closed by the events
		wantOpen    int
		wantOutcome []Outcome
	}{
		{"events 29 minutes apart stay in one session", nil,
			[]ev{{0, "a", "", "/", "", "", ""}, {29 * time.Minute, "b", "", "/p", "", "", ""}}, nil, 1, nil},
		{"30 minutes of inactivity start a new session", nil,
			[]ev{{0, "a", "", "/", "", "", ""}, {30 * time.Minute, "b", "", "/p", "", "", ""}}, []string{EndInactivity}, 1, nil},
		{"a shorter configured inactivity applies", func(r *SessionRules) { r.Inactivity = 5 * time.Minute },
			[]ev{{0, "a", "", "/", "", "", ""}, {6 * time.Minute, "b", "", "/p", "", "", ""}}, []string{EndInactivity}, 1, nil},
		// Midnight comes first with 24 hours; a shorter maximum shows the rule.
		{"a session is cut at the maximum duration however active", func(r *SessionRules) { r.MaxDuration = 2 * time.Hour },
			func() []ev {
				var out []ev
				for i := range 7 { // an event every 29 minutes for about 3 hours
					out = append(out, ev{time.Duration(i) * 29 * time.Minute, fmt.Sprint(i), "", "/", "", "", ""})
				}
				return out
			}(), []string{EndMaxDuration}, 1, nil},
		{"midnight in UTC cuts a session", nil,
			[]ev{{13*time.Hour + 50*time.Minute, "a", "", "/", "", "", ""}, {14*time.Hour + 10*time.Minute, "b", "", "/", "", "", ""}}, []string{EndMidnight}, 1, nil},
		{"midnight in the source's time zone cuts a session", func(r *SessionRules) { r.Location = paris },
			[]ev{{12*time.Hour + 50*time.Minute, "a", "", "/", "", "", ""}, {13*time.Hour + 10*time.Minute, "b", "", "/", "", "", ""}}, []string{EndMidnight}, 1, nil},
		{"a new utm_source starts a new session", nil,
			[]ev{{0, "a", "", "/", "", "news", ""}, {time.Minute, "b", "", "/", "", "ads", ""}}, []string{EndCampaignChange}, 1, nil},
		{"the same utm_source again does not", nil,
			[]ev{{0, "a", "", "/", "", "news", ""}, {time.Minute, "b", "", "/", "", "news", ""}}, nil, 1, nil},
		{"arriving from another site starts a new session", nil,
			[]ev{{0, "a", "", "/", "", "", ""}, {time.Minute, "b", "", "/", "https://search.example/?q=shoes", "", ""}}, []string{EndCampaignChange}, 1, nil},
		{"an internal referrer does not", nil,
			[]ev{{0, "a", "", "/", "", "", ""}, {time.Minute, "b", "", "/p", "https://shop.example/", "", ""}}, nil, 1, nil},
		{"a repeated messageId is ignored", nil,
			[]ev{{0, "a", "", "/", "", "", ""}, {time.Minute, "a", "", "/", "", "", ""}}, nil, 1, []Outcome{Started, Duplicate}},
		{"a late event within the visit is counted in it", nil,
			[]ev{{10 * time.Minute, "a", "", "/", "", "", ""}, {12 * time.Minute, "b", "", "/p", "", "", ""}, {5 * time.Minute, "c", "", "/q", "", "", ""}}, nil, 1, []Outcome{Started, Counted, Counted}},
		{"an event older than the open visit is late and not sessionized", nil,
			[]ev{{2 * time.Hour, "a", "", "/", "", "", ""}, {10 * time.Minute, "b", "", "/old", "", "", ""}}, nil, 1, []Outcome{Started, Late}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules := DefaultSessionRules()
			if tc.rules != nil {
				tc.rules(&rules)
			}
			closed, outcomes, z := run(rules, tc.events)
			var reasons []string
			for _, s := range closed {
				reasons = append(reasons, s.EndReason)
			}
			if fmt.Sprint(reasons) != fmt.Sprint(tc.wantClosed) {
				t.Errorf("closed sessions ended by %v, want %v", reasons, tc.wantClosed)
			}
			if z.Open() != tc.wantOpen {
				t.Errorf("%d open sessions, want %d", z.Open(), tc.wantOpen)
			}
			if tc.wantOutcome != nil && fmt.Sprint(outcomes) != fmt.Sprint(tc.wantOutcome) {
				t.Errorf("outcomes %v, want %v", outcomes, tc.wantOutcome)
			}
		})
	}
}

func TestASessionRecordAddsUp(t *testing.T) {
	z := NewSessionizer(DefaultSessionRules())
	for _, v := range []ev{
		{0, "m1", "", "/landing", "https://news.example/", "news", ""},
		{time.Minute, "m2", schemas.TypeTrack, "/landing", "", "", ""},
		{3 * time.Minute, "m3", "", "/pricing", "", "", "u-7"},
	} {
		z.Add(v.event())
	}
	closed := z.Expire(t0.Add(3*time.Minute + 30*time.Minute))
	if len(closed) != 1 {
		t.Fatalf("%d sessions expired, want 1", len(closed))
	}
	s := closed[0]
	want := schemas.Session{
		SessionID: s.SessionID, UserKey: "anon-1", UserID: "u-7", AnonymousID: "anon-1",
		StartedAt: t0, EndedAt: t0.Add(3 * time.Minute), DurationMs: 180000, EventCount: 3, PageviewCount: 2,
		EntryPage: "/landing", ExitPage: "/pricing", Referrer: "https://news.example/", Campaign: schemas.Campaign{Source: "news"},
		IsBounce: false, EndReason: EndInactivity,
	}
	got, _ := json.Marshal(s)
	exp, _ := json.Marshal(want)
	if string(got) != string(exp) {
		t.Errorf("session\n got %s\nwant %s", got, exp)
	}
	if len(s.SessionID) != 24 {
		t.Errorf("session id %q", s.SessionID)
	}
	// Deterministic: the same first event gives the same id.
	z2 := NewSessionizer(DefaultSessionRules())
	z2.Add(ev{0, "m1", "", "/landing", "https://news.example/", "news", ""}.event())
	if again := z2.CloseAll("test"); again[0].SessionID != s.SessionID {
		t.Errorf("session id not deterministic: %s vs %s", again[0].SessionID, s.SessionID)
	}
}

func TestAOneEventVisitIsABounce(t *testing.T) {
	z := NewSessionizer(DefaultSessionRules())
	z.Add(ev{0, "m1", "", "/", "", "", ""}.event())
	s := z.CloseAll(EndInactivity)[0]
	if !s.IsBounce || s.DurationMs != 0 {
		t.Errorf("bounce=%v duration=%d", s.IsBounce, s.DurationMs)
	}
}
