package protocol

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

func TestMergedVisitorSketchesCountOverlappingVisitorsOnce(t *testing.T) {
	a, b := NewMinute("acme", t0), NewMinute("acme", t0)
	// 100,000 visitors seen by each instance, 50,000 of them by both: 150,000 in all.
	for i := range 100_000 {
		a.AddEvent(&schemas.Event{Type: "page", AnonymousID: fmt.Sprintf("v-%d", i)}, false)
		b.AddEvent(&schemas.Event{Type: "page", AnonymousID: fmt.Sprintf("v-%d", i+50_000)}, false)
	}
	// Through JSON, as the partials travel on the aggregates topic.
	wire, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var decoded Minute
	if err := json.Unmarshal(wire, &decoded); err != nil {
		t.Fatal(err)
	}
	if err := a.Merge(&decoded); err != nil {
		t.Fatal(err)
	}
	est := float64(a.Visitors.Estimate())
	if errPct := math.Abs(est-150_000) / 150_000 * 100; errPct > 2 {
		t.Errorf("merged estimate %.0f, %.2f%% off 150,000 (want within 2%%)", est, errPct)
	}
	if a.Events["page"] != 200_000 {
		t.Errorf("page events %d, want 200,000", a.Events["page"])
	}
}

func TestMinuteCountsAddUpAcrossPartials(t *testing.T) {
	a, b := NewMinute("acme", t0.Add(5*time.Second)), NewMinute("acme", t0.Add(40*time.Second))
	page := ev{0, "m1", "", "/pricing", "https://news.example/a", "news", ""}.Event()
	page.Enrichment = &schemas.Enrichment{Browser: "Firefox", DeviceType: "desktop"}
	a.AddEvent(page, true)
	b.AddEvent(ev{0, "m2", schemas.TypeTrack, "/pricing", "", "", ""}.Event(), false)
	b.AddSession(&schemas.Session{DurationMs: 1000, IsBounce: true})
	a.AddSession(&schemas.Session{DurationMs: 3000})
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if a.Pageviews["/pricing"] != 1 || a.Events["track/Clicked"] != 1 || a.SessionsStarted != 1 || a.SessionsEnded != 2 ||
		a.Bounces != 1 || a.SessionDurationMs != 4000 || a.Referrers["news.example"] != 1 || a.UTMSources["news"] != 1 ||
		a.Browsers["Firefox"] != 1 || a.Devices["desktop"] != 1 {
		t.Errorf("merged minute %+v", a)
	}
	if err := a.Merge(NewMinute("other", t0)); err == nil {
		t.Errorf("merging another tenant's minute succeeded")
	}
}

func TestServerSideSessionsCountNoBrowserOrDevice(t *testing.T) {
	m := NewMinute("acme", t0)
	browser := ev{0, "m1", "", "/pricing", "https://news.example/a", "news", ""}.Event()
	browser.Enrichment = &schemas.Enrichment{Browser: "Chrome", DeviceType: "desktop"}
	m.AddEvent(browser, true)
	server := ev{0, "m2", "", "/preise", "https://news.example/b", "", ""}.Event()
	server.Enrichment = &schemas.Enrichment{IP: "203.0.113.0", ServerSide: true}
	m.AddEvent(server, true)
	if m.SessionsStarted != 2 || m.Referrers["news.example"] != 2 || m.Pageviews["/preise"] != 1 {
		t.Errorf("the server-side session is not counted as one: %+v", m)
	}
	if len(m.Browsers) != 1 || m.Browsers["Chrome"] != 1 || len(m.Devices) != 1 || m.Devices["desktop"] != 1 {
		t.Errorf("browsers %v, devices %v: want only the browser's", m.Browsers, m.Devices)
	}
}
