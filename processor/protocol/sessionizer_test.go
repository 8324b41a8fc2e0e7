package protocol

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/processor/protocol/protocoltest"
	"github.com/clicktrail/clicktrail/schemas"
)

var t0 = protocoltest.T0

// ev is a page (or another type's) event of tenant acme's visitor anon-1.
type ev protocoltest.Ev

func (v ev) Event() *schemas.Event { return protocoltest.Ev(v).Event() }

// clock is a settable processing clock.
type clock struct{ T time.Time }

func (c *clock) Now() time.Time { return c.T }

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
	// The processing clock a day after t0: the events, up to 14 hours after t0, lie in
	// its retention window.
	z = NewSessionizer(rules, "test", (&clock{t0.Add(24 * time.Hour)}).Now)
	for _, v := range events {
		outcomes = append(outcomes, z.Add(v.Event(), nil))
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
	z := NewSessionizer(DefaultSessionRules(), "test", clk.Now)
	for _, v := range []ev{
		{0, "m1", "", "/landing", "https://news.example/", "news", ""},
		{time.Minute, "m2", schemas.TypeTrack, "/landing", "", "", ""},
		{3 * time.Minute, "m3", "", "/pricing", "", "", "u-7"},
	} {
		z.Add(v.Event(), nil)
	}
	clk.T = clk.T.Add(30 * time.Minute) // idle for the idle timeout by the processing clock
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
	z := NewSessionizer(DefaultSessionRules(), "test", clk.Now)
	z.Add(ev{0, "m1", "", "/", "", "", ""}.Event(), nil)
	clk.T = clk.T.Add(time.Hour)
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
			z := NewSessionizer(DefaultSessionRules(), "me", clk.Now)
			if tc.otherOwner {
				other := NewSessionizer(DefaultSessionRules(), "other", clk.Now)
				other.Add(ev{0, "m1", "", "/", "", "", ""}.Event(), &Position{Ledger: 1})
				play(t, z, checkpoint(t, other))
			} else {
				z.Add(ev{0, "m1", "", "/", "", "", ""}.Event(), &Position{Ledger: 1})
			}
			closedBy(z) // first checkpoint
			var closed []schemas.Session
			// Expire as the pipeline does: every few seconds, checkpointing in between.
			for end := t0.Add(tc.idle); !clk.T.After(end); clk.T = clk.T.Add(time.Minute) {
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
	a := NewSessionizer(DefaultSessionRules(), "a", clk.Now)
	a.Add(ev{0, "m1", "", "/", "", "", ""}.Event(), &Position{Partition: 2, Ledger: 7, Entry: 1})
	a.Add(ev{time.Minute, "m2", "", "/p", "", "", ""}.Event(), &Position{Partition: 2, Ledger: 7, Entry: 2})
	b := NewSessionizer(DefaultSessionRules(), "b", clk.Now)
	play(t, b, checkpoint(t, a))

	var outs []Outcome
	for i, v := range []ev{{0, "m1", "", "/", "", "", ""}, {time.Minute, "m2", "", "/p", "", "", ""}, {2 * time.Minute, "m3", "", "/q", "", "", ""}} {
		outs = append(outs, b.Add(v.Event(), &Position{Partition: 2, Ledger: 7, Entry: int64(i + 1)}))
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

// Events whose minute lies outside [now − Retention, now + MaxFutureSkew] of the
// processing clock are ignored: no minute is opened for them, no session holds them,
// their key's state is not touched.
func TestEventsOutsideTheRetentionWindowAreIgnored(t *testing.T) {
	now := t0
	tests := []struct {
		name string
		at   time.Time
		want Outcome
	}{
		{"an event now is counted", now, Started},
		{"an event 47 hours ago is counted", now.Add(-47 * time.Hour), Started},
		{"an event in the first minute of the window is counted", now.Add(-DefaultRetention).Truncate(time.Minute), Started},
		{"an event in the minute before is ignored", now.Add(-DefaultRetention - time.Minute), Outside},
		{"an event in year 1 is ignored", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Outside},
		{"an event without a time is ignored", time.Time{}, Outside},
		{"an event 10 minutes ahead is counted", now.Add(MaxFutureSkew), Started},
		{"an event 11 minutes ahead is ignored", now.Add(MaxFutureSkew + time.Minute), Outside},
		{"an event in year 9999 is ignored", time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), Outside},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z := NewSessionizer(DefaultSessionRules(), "me", (&clock{now}).Now)
			e := ev{0, "m1", "", "/", "", "", ""}.Event()
			e.Timestamp = schemas.NewTime(tc.at)
			if tc.at.IsZero() {
				e.Timestamp = nil
			}
			if got := z.Add(e, &Position{Ledger: 1}); got != tc.want {
				t.Fatalf("outcome %v, want %v", got, tc.want)
			}
			cp := z.Checkpoint()
			if tc.want == Outside && (z.Keys() != 0 || len(cp.Commits) != 0) {
				t.Errorf("an ignored event left %d keys and %d commits", z.Keys(), len(cp.Commits))
			}
			if tc.want != Outside && (len(cp.Commits) != 1 || len(cp.Commits[0].Minutes) != 1 || cp.Commits[0].Minutes[0].TotalEvents() != 1) {
				t.Errorf("a counted event is not in its commit's minute")
			}
		})
	}
}

// What a client sends cannot grow a session's record: its texts are cut, a user key
// no collector writes is refused.
func TestSessionTextsAreCapped(t *testing.T) {
	z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0}).Now)
	long := strings.Repeat("é", 30_000)
	e := ev{0, "m1", "", "/" + long, "https://" + long, long, long}.Event()
	e.Ctx.Campaign = schemas.Campaign{Name: long, Source: long, Medium: long, Term: long, Content: long}
	e.Enrichment = &schemas.Enrichment{Browser: long, OS: long, DeviceType: long}
	e.Source = long
	z.Add(e, nil)
	s := z.keys["anon-1"].open.Session
	for i, v := range []string{s.EntryPage, s.ExitPage, s.Referrer, s.UserID, s.Source, s.Browser, s.OS, s.DeviceType,
		s.Campaign.Name, s.Campaign.Source, s.Campaign.Medium, s.Campaign.Term, s.Campaign.Content} {
		if len(v) > MaxSessionValueBytes || len(v) < MaxSessionValueBytes-1 {
			t.Errorf("text %d: %d bytes, want %d (cut on a character)", i, len(v), MaxSessionValueBytes)
		}
	}
	if c := z.TakeCounters(); c.ValuesCapped < 10 {
		t.Errorf("%d values counted as capped", c.ValuesCapped)
	}
	k := ev{0, "m2", "", "/", "", "", ""}.Event()
	k.AnonymousID = strings.Repeat("k", maxKeyBytes+1)
	if out := z.Add(k, nil); out != Invalid || z.Keys() != 1 {
		t.Errorf("a key of %d bytes: outcome %v, %d keys held; want %v, 1", len(k.AnonymousID), out, z.Keys(), Invalid)
	}
}

// Interned strings (browser names and the like, from clients) stay bounded, whatever
// other writers' commits hold.
func TestInternedStringsStayBounded(t *testing.T) {
	z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0}).Now)
	other := NewSessionizer(DefaultSessionRules(), "other", (&clock{t0}).Now)
	for i := range 20_000 {
		e := ev{0, fmt.Sprint("m", i), "", "/", "", "", ""}.Event()
		e.AnonymousID = fmt.Sprint("anon-", i)
		e.Enrichment = &schemas.Enrichment{Browser: fmt.Sprint("Browser/", i), OS: fmt.Sprint("OS-", i) + strings.Repeat("x", 100), DeviceType: "desktop"}
		other.Add(e, &Position{Ledger: 1, Entry: int64(i)})
	}
	for _, c := range other.Checkpoint().Commits {
		b, _ := AppendCommit(nil, c)
		d, err := DecodeCommit(b, z.intern)
		if err != nil {
			t.Fatal(err)
		}
		z.Evaluate(d)
	}
	if z.Open() != 20_000 || len(z.strs) > maxInterned {
		t.Errorf("%d sessions loaded, %d strings interned; want 20,000 and at most %d", z.Open(), len(z.strs), maxInterned)
	}
	for s := range z.strs {
		if len(s) > maxInternBytes {
			t.Fatalf("a string of %d bytes interned", len(s))
		}
	}
}

// One key with 2,500 events an hour apart (each closing the previous session) costs
// one key's state, one session message per session and a few commits: nothing grows
// with the square of the events, and the commits stay within the limit.
func TestOneKeyWithEventsAnHourApartCostsBoundedState(t *testing.T) {
	const n = 2500
	now := t0.Add(n * time.Hour)
	tests := []struct {
		name         string
		retention    time.Duration
		wantSessions int
	}{
		// 105 days: the processor's retention cannot be that long (at most 93 days);
		// the sessionizer's can, to show the cost of the whole burst.
		{"with a retention holding them all, each starts a session", (n + 1) * time.Hour, n},
		{"with the default retention, the 49 of the last 48 hours do", DefaultRetention, 49},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rules := DefaultSessionRules()
			rules.Retention = tc.retention
			f := newFeeder(t, rules, now)
			start := time.Now()
			outside := 0
			for i := range n {
				e := ev{time.Duration(i+1) * time.Hour, fmt.Sprint("m", i), "", "/", "", "", ""}.Event()
				if f.add(e) == Outside {
					outside++
				}
			}
			f.checkpoint()
			if f.z.Keys() != 1 || len(f.z.contribs) != 0 || len(f.z.closed) != 0 || outside != n-tc.wantSessions {
				t.Errorf("%d keys, %d contributions and %d closes held, %d events outside; want 1, 0, 0, %d", f.z.Keys(), len(f.z.contribs), len(f.z.closed), outside, n-tc.wantSessions)
			}
			if f.closed != tc.wantSessions-1 || f.ended != int64(tc.wantSessions-1) || f.events != int64(tc.wantSessions) {
				t.Errorf("%d sessions closed, %d ends and %d events counted; want %d, %d, %d", f.closed, f.ended, f.events, tc.wantSessions-1, tc.wantSessions-1, tc.wantSessions)
			}
			if f.commits > 3 {
				t.Errorf("%d commits, want at most 3", f.commits)
			}
			t.Logf("%d events: %d sessions closed, %d commits (largest %d bytes), %d aggregate messages, in %v",
				n, f.closed, f.commits, f.largest, f.messages, time.Since(start).Round(time.Millisecond))
		})
	}
}

// A session holds its campaign cut; the same long campaign again is no change.
func TestALongCampaignRepeatedKeepsItsSession(t *testing.T) {
	long := strings.Repeat("c", 3*MaxSessionValueBytes)
	_, outcomes, z := run(DefaultSessionRules(), []ev{{0, "a", "", "/", "", long, ""}, {time.Minute, "b", "", "/p", "", long, ""}, {2 * time.Minute, "c", "", "/q", "", long + "x", ""}})
	if fmt.Sprint(outcomes) != "[started counted counted]" || z.Open() != 1 {
		t.Errorf("outcomes %v with %d open sessions, want [started counted counted] and 1 (the change is past the cut)", outcomes, z.Open())
	}
}
