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
	e := &schemas.Event{Type: typ, AnonymousID: "anon-1", UserID: v.userID, MessageID: v.id, Timestamp: schemas.NewTime(t0.Add(v.at)), Event: "Clicked", Tenant: "acme"}
	e.Ctx.Page = schemas.Page{URL: "https://shop.example" + v.path, Path: v.path, Referrer: v.referrer}
	e.Ctx.Campaign.Source = v.utm
	return e
}

// clock is a settable processing clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// closedBy runs a checkpoint, reads its commits back, and returns the sessions closed
// since the last one.
func closedBy(z *Sessionizer) []schemas.Session {
	cp := z.Checkpoint()
	for _, c := range cp.Commits {
		z.Evaluate(c)
	}
	return cp.Closed
}

func run(rules SessionRules, events []ev) (closed []schemas.Session, outcomes []Outcome, z *Sessionizer) {
	z = NewSessionizer(rules, "test", (&clock{t0}).now)
	for _, v := range events {
		outcomes = append(outcomes, z.Add(v.event(), nil))
	}
	return closedBy(z), outcomes, z
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
	clk := &clock{t0}
	z := NewSessionizer(DefaultSessionRules(), "test", clk.now)
	for _, v := range []ev{
		{0, "m1", "", "/landing", "https://news.example/", "news", ""},
		{time.Minute, "m2", schemas.TypeTrack, "/landing", "", "", ""},
		{3 * time.Minute, "m3", "", "/pricing", "", "", "u-7"},
	} {
		z.Add(v.event(), nil)
	}
	clk.t = clk.t.Add(30 * time.Minute) // idle for the idle timeout by the processing clock
	z.Expire()
	closed := closedBy(z)
	if len(closed) != 1 {
		t.Fatalf("%d sessions expired, want 1", len(closed))
	}
	s := closed[0]
	want := schemas.Session{
		SessionID: SessionID("anon-1", "m1"), Tenant: "acme", UserKey: "anon-1", UserID: "u-7", AnonymousID: "anon-1",
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
}

func TestAOneEventVisitIsABounce(t *testing.T) {
	clk := &clock{t0}
	z := NewSessionizer(DefaultSessionRules(), "test", clk.now)
	z.Add(ev{0, "m1", "", "/", "", "", ""}.event(), nil)
	clk.t = clk.t.Add(time.Hour)
	z.Expire()
	s := closedBy(z)[0]
	if !s.IsBounce || s.DurationMs != 0 {
		t.Errorf("bounce=%v duration=%d", s.IsBounce, s.DurationMs)
	}
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name       string
		idle       time.Duration
		otherOwner bool // the key's last record came from another instance
		wantClosed int
		wantKeys   int
	}{
		{"a quiet key is kept until the idle timeout", 29 * time.Minute, false, 0, 1},
		{"a quiet key's session closes at the idle timeout", 30 * time.Minute, false, 1, 1},
		{"a closed key's position is forgotten after the tombstone time", 30*time.Minute + 11*time.Minute, false, 1, 0},
		{"a key another instance wrote last is left to it for the idle timeout", 30 * time.Minute, true, 0, 1},
		{"then it is closed here too, in case that instance left", 31 * time.Minute, true, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t0}
			z := NewSessionizer(DefaultSessionRules(), "me", clk.now)
			if tc.otherOwner {
				other := NewSessionizer(DefaultSessionRules(), "other", clk.now)
				other.Add(ev{0, "m1", "", "/", "", "", ""}.event(), &position{Ledger: 1})
				play(t, z, checkpoint(t, other))
			} else {
				z.Add(ev{0, "m1", "", "/", "", "", ""}.event(), &position{Ledger: 1})
			}
			closedBy(z) // first checkpoint
			var closed []schemas.Session
			// Expire as the pipeline does: every few seconds, checkpointing in between.
			for end := t0.Add(tc.idle); !clk.t.After(end); clk.t = clk.t.Add(time.Minute) {
				z.Expire()
				closed = append(closed, closedBy(z)...)
			}
			if len(closed) != tc.wantClosed || z.Keys() != tc.wantKeys {
				t.Errorf("closed %d sessions and holds %d keys, want %d and %d", len(closed), z.Keys(), tc.wantClosed, tc.wantKeys)
			}
		})
	}
}

// A crash after the state is written but before the events are acknowledged
// redelivers them: the next owner, loading the record, must skip them.
func TestARedeliveredEventIsSkippedByItsPosition(t *testing.T) {
	clk := &clock{t0}
	a := NewSessionizer(DefaultSessionRules(), "a", clk.now)
	a.Add(ev{0, "m1", "", "/", "", "", ""}.event(), &position{Partition: 2, Ledger: 7, Entry: 1})
	a.Add(ev{time.Minute, "m2", "", "/p", "", "", ""}.event(), &position{Partition: 2, Ledger: 7, Entry: 2})
	b := NewSessionizer(DefaultSessionRules(), "b", clk.now)
	play(t, b, checkpoint(t, a))

	var outs []Outcome
	for i, v := range []ev{{0, "m1", "", "/", "", "", ""}, {time.Minute, "m2", "", "/p", "", "", ""}, {2 * time.Minute, "m3", "", "/q", "", "", ""}} {
		outs = append(outs, b.Add(v.event(), &position{Partition: 2, Ledger: 7, Entry: int64(i + 1)}))
	}
	if fmt.Sprint(outs) != "[replayed replayed counted]" {
		t.Errorf("outcomes %v, want [replayed replayed counted]", outs)
	}
	c := roundTrip(t, checkpoint(t, b)[0])
	rec := c.Records[0]
	if rec.Open.EventCount != 3 || rec.Open.ExitPage != "/q" {
		t.Errorf("session continued by the new owner: %d events, exit %s; want 3 and /q", rec.Open.EventCount, rec.Open.ExitPage)
	}
	if len(c.Minutes) != 1 || c.Minutes[0].TotalEvents() != 1 || !c.Minutes[0].Start.Equal(t0.Add(2*time.Minute)) {
		t.Errorf("the new owner's commit counts %d minutes (%+v), want only its own 1 event", len(c.Minutes), c.Minutes)
	}
}
