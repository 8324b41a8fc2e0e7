package chaos

import (
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/deploy/simulate"
)

func TestReferenceSessionizesEachVisitorInSendOrder(t *testing.T) {
	base := time.Date(2026, 11, 25, 10, 0, 50, 0, time.UTC)
	ev := func(anon string, page, index int, typ, url, referrer string, at time.Duration) simulate.Event {
		path, _, _ := strings.Cut(strings.TrimPrefix(url, "https://www.example.com"), "?")
		return simulate.Event{
			MessageID: anon + "-" + string(rune('a'+page)) + string(rune('0'+index)), Type: typ, Event: "Clicked",
			AnonymousID: anon, URL: url, Path: path, Referrer: referrer,
			Page: page, Index: index, Time: base.Add(at),
		}
	}
	const site = "https://www.example.com"
	events := []simulate.Event{
		// a: a visit from a campaign, two pages and a click; sent out of order here.
		ev("a", 1, 0, "page", site+"/pricing", site+"/", 20*time.Second),
		ev("a", 0, 0, "page", site+"/?utm_source=news&utm_medium=email&utm_campaign=x", "https://search.example/", 0),
		ev("a", 0, 1, "track", site+"/?utm_source=news&utm_medium=email&utm_campaign=x", "https://search.example/", 100*time.Millisecond),
		// b: one page (a bounce), then another campaign on a later page: two sessions.
		ev("b", 0, 0, "page", site+"/", "", 5*time.Second),
		ev("b", 1, 0, "page", site+"/signup?utm_source=ads", site+"/", 15*time.Second),
		ev("b", 1, 1, "track", site+"/signup?utm_source=ads", site+"/", 15*time.Second+100*time.Millisecond),
		// c: a page whose stored time is before the session's last event (late): counted
		// in the session, the exit page unchanged.
		ev("c", 0, 0, "page", site+"/", "", 0),
		ev("c", 1, 0, "page", site+"/features", site+"/", 30*time.Second),
		ev("c", 2, 0, "page", site+"/docs", site+"/", 29*time.Second),
	}
	events = append(events, events[0]) // the same event twice counts once
	ref := NewReference(events, nil)

	if ref.Events != 9 || ref.Pageviews != 7 || ref.Visitors != 3 || len(ref.Sessions) != 4 || ref.Bounces != 1 {
		t.Fatalf("events %d, pageviews %d, visitors %d, sessions %d, bounces %d; want 9 7 3 4 1", ref.Events, ref.Pageviews, ref.Visitors, len(ref.Sessions), ref.Bounces)
	}
	byKey := map[string][]*RefSession{}
	for _, s := range ref.Sessions {
		byKey[s.UserKey] = append(byKey[s.UserKey], s)
	}
	if a := byKey["a"]; len(a) != 1 || a[0].Events != 3 || a[0].Entry != "/" || a[0].Exit != "/pricing" || a[0].Bounce {
		t.Errorf("visitor a: %+v; want one session of 3 events, / to /pricing", a)
	}
	if c := byKey["c"]; len(c) != 1 || c[0].Events != 3 || c[0].Exit != "/features" || !c[0].End.Equal(base.Add(30*time.Second)) {
		t.Errorf("visitor c: %+v; want one session of 3 events ending on /features at +30s", c)
	}
	if got := ref.UTMSources; got["news"] != 1 || got["ads"] != 1 || len(got) != 2 {
		t.Errorf("sessions by utm_source %v; want news 1, ads 1", got)
	}
	if got := ref.Referrers; got["search.example"] != 1 || got["www.example.com"] != 1 || len(got) != 2 {
		t.Errorf("sessions by referrer %v; want search.example 1, www.example.com 1", got)
	}
	if got := ref.ByEvent; got["page"] != 7 || got["track/Clicked"] != 2 {
		t.Errorf("events by type %v", got)
	}
	// Minutes: 10:00 holds a's first page and click (at 50 s), b's first page and c's
	// first page; the rest fall in 10:01.
	m0, m1 := ref.Minutes[base.Truncate(time.Minute).Unix()], ref.Minutes[base.Truncate(time.Minute).Add(time.Minute).Unix()]
	if m0 == nil || m1 == nil || m0.Events != 4 || m1.Events != 5 || m0.Sessions != 3 || m1.Sessions != 1 || len(m0.Keys) != 3 || len(m1.Keys) != 3 {
		t.Errorf("minutes: %+v %+v", m0, m1)
	}

	// Stored times, when known, place the events.
	later := map[string]time.Time{}
	for _, e := range events {
		later[e.MessageID] = e.Time.Add(time.Hour)
	}
	if moved := NewReference(events, later); moved.Minutes[base.Truncate(time.Minute).Add(time.Hour).Unix()] == nil {
		t.Errorf("stored times are not used for the minutes")
	}
}

func TestCheckLakeSortsRowsIntoMissingDoubledExtraAndUnconfirmed(t *testing.T) {
	rows := []Row{{MessageID: "a"}, {MessageID: "b"}, {MessageID: "b"}, {MessageID: "u"}, {MessageID: "x"}}
	counts := map[string]int{"a": 1, "b": 2, "u": 1, "x": 1}
	c := CheckLake(rows, counts, []string{"a", "b", "m"}, map[string]bool{"u": true, "v": true})
	if len(c.Missing) != 1 || c.Missing[0] != "m" || len(c.Duplicated) != 1 || c.Duplicated[0] != "b" ||
		len(c.Extra) != 1 || c.Extra[0] != "x" || c.Unconfirmed != 1 || len(c.ReadersDisagree) != 0 {
		t.Errorf("%+v", c)
	}
	counts["a"] = 2
	if c := CheckLake(rows, counts, []string{"a"}, nil); len(c.ReadersDisagree) != 1 {
		t.Errorf("a row parquet-go reads twice and DuckDB once is not reported: %+v", c)
	}
}

func TestCheckTimesAllowsOnlyTheTransitOfTheRequest(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	events := []Accepted{
		{Event: simulate.Event{MessageID: "ok", Time: at, Transit: 50 * time.Millisecond}},
		{Event: simulate.Event{MessageID: "late", Time: at, Transit: 50 * time.Millisecond}},
		{Event: simulate.Event{MessageID: "early", Time: at, Transit: 50 * time.Millisecond}},
	}
	times := map[string]time.Time{"ok": at.Add(40 * time.Millisecond), "late": at.Add(time.Second), "early": at.Add(-time.Second)}
	if bad := CheckTimes(events, times); len(bad) != 2 {
		t.Errorf("offenders %v; want late and early", bad)
	}
}
