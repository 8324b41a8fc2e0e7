package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/archiver"
	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/deploy/demo"
	"github.com/clicktrail/clicktrail/deploy/simulate"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/processor"
	"github.com/clicktrail/clicktrail/processor/protocol"
	"github.com/clicktrail/clicktrail/schemas"
)

const (
	e2eWriteKey = "demo-e2e"
	e2eReadKey  = "demo-e2e-read"
	// idleTimeout closes the processor's quiet sessions after this long (30 minutes in
	// production), so that every session is closed, published and archived within the
	// test.
	idleTimeout = 5 * time.Second
)

// TestTheDemoSitesVisitorsAgreeFromTheLakeToTheDashboard runs the whole pipeline: a
// visitor in headless Chromium clicks through the demo site, whose pages send through
// the SDK to the real collector, while the simulator sends a crowd of visitors (bots and
// malformed requests among them); Pulsar carries the events to the processor and the
// archiver. Then:
//
//  1. every event the collector accepted is in the archive's Parquet exactly once, as
//     DuckDB reads it, and nothing else is;
//  2. the sessions the archiver stored are the ones the processor's API counts: sessions,
//     bounces and durations, and every minute's events, pageviews, visitors, session
//     starts and bounces;
//  3. the processor's dashboard page, in Chromium, shows the API's numbers.
func TestTheDemoSitesVisitorsAgreeFromTheLakeToTheDashboard(t *testing.T) {
	started := time.Now()
	root := testenv.Root(t)
	sdk := sdkBuild(t, root)
	python := duckDB(t)
	browser := newBrowser(t)
	env := testenv.New(t)
	log := testLogger(t)

	// The demo site's origin must be allowed by the source, so its listener comes first.
	siteLn, tapLn := listen(t), listen(t)
	siteURL, tapURL := "http://"+siteLn.Addr().String(), "http://"+tapLn.Addr().String()
	sources := filepath.Join(t.TempDir(), "sources.yaml")
	src := fmt.Sprintf(`sources:
  - id: demo-e2e
    writeKey: %s
    readKey: %s
    tenant: %s
    namespace: %s
    origins: [%q]
    timezone: UTC
`, e2eWriteKey, e2eReadKey, env.Tenant, env.Namespace, siteURL)
	if err := os.WriteFile(sources, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}

	// The pipeline, each part as its main would run it, in this process.
	ccfg := collector.DefaultConfig()
	ccfg.SourcesFile, ccfg.PulsarURL, ccfg.InstanceID = sources, env.Provision.PulsarURL, "e2e-"+env.Namespace
	collectorReg := prometheus.NewRegistry()
	c, err := collector.New(ccfg, log.With("service", "collector"), collectorReg)
	if err != nil {
		t.Fatal(err)
	}
	collectorURL := "http://" + serve(t, "collector", listen(t), c.Serve)

	acfg := archiver.DefaultConfig()
	acfg.SourcesFile, acfg.PulsarURL, acfg.KeyPrefix, acfg.TmpDir = sources, env.Provision.PulsarURL, env.Prefix, t.TempDir()
	acfg.S3Endpoint, acfg.S3AccessKey, acfg.S3SecretKey, acfg.Bucket = env.Provision.S3Endpoint, env.Provision.S3AccessKey, env.Provision.S3SecretKey, env.Provision.Bucket
	acfg.RollAge = 500 * time.Millisecond
	a, err := archiver.New(acfg, log.With("service", "archiver"), prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	archiverURL := "http://" + serve(t, "archiver", listen(t), a.Serve)

	pcfg := processor.DefaultConfig()
	pcfg.SourcesFile, pcfg.PulsarURL, pcfg.Addr, pcfg.Instance = sources, env.Provision.PulsarURL, "127.0.0.1:0", "e2e-"+env.Namespace
	pcfg.IdleTimeout = idleTimeout
	processorURL := startProcessor(t, pcfg, log.With("service", "processor"))

	tp := &tap{collector: collectorURL, client: &http.Client{Timeout: 60 * time.Second}}
	serve(t, "tap", tapLn, func(ctx context.Context, ln net.Listener) error { return serveHandler(ctx, ln, tp) })
	dcfg := demo.DefaultConfig()
	dcfg.CollectorURL, dcfg.WriteKey, dcfg.SDKPath = tapURL, e2eWriteKey, sdk
	dcfg.DashboardURL = processorURL + "/?tenant=" + url.QueryEscape(env.Tenant) + "&key=" + e2eReadKey
	site, err := demo.New(dcfg, log.With("service", "demo"), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	serve(t, "demo site", siteLn, site.Serve)
	for _, u := range []string{collectorURL + "/readyz", archiverURL + "/readyz", processorURL + "/readyz", siteURL + "/readyz"} {
		waitOK(t, u, 90*time.Second)
	}
	t.Logf("pipeline up after %s", time.Since(started).Round(time.Millisecond))

	// A crowd of simulated visitors, arriving over simArrivals, while one real browser
	// clicks through the site. The crowd straddles a minute boundary, so that sessions,
	// bounces and visitors fall in two minutes and the per-minute numbers are put to
	// the test; it starts at most simArrivals*2/3 before the boundary.
	const simVisitors, simRate = 60, 2.0
	simArrivals := time.Duration(simVisitors / simRate * float64(time.Second))
	if wait := time.Until(time.Now().Truncate(time.Minute).Add(time.Minute)) - simArrivals*2/3; wait > 0 {
		t.Logf("waiting %s, so that the traffic spans a minute boundary", wait.Round(time.Second))
		time.Sleep(wait)
	}
	simDone := make(chan *simulate.Report, 1)
	go func() {
		rep, err := simulate.Run(context.Background(), simulate.Config{
			URL: collectorURL, WriteKey: e2eWriteKey, Visitors: simVisitors, Rate: simRate, Concurrency: 30,
			ThinkTime: 300 * time.Millisecond, BotShare: 0.1, MalformedShare: 0.05, Seed: 7,
			Client: &http.Client{Timeout: 60 * time.Second},
		})
		if err != nil {
			t.Errorf("simulate: %v", err)
		}
		simDone <- rep
	}()
	visitDemoSite(t, browser, siteURL)
	rep := <-simDone
	if rep == nil {
		t.FailNow()
	}
	t.Logf("browser and simulator done after %s; simulated %d visits, %d requests (%v), %d events accepted, %d rejected",
		time.Since(started).Round(time.Millisecond), rep.Visits, rep.Requests, rep.Status, rep.Accepted, rep.Rejected)

	bt := tp.traffic()
	checkBrowserTraffic(t, bt)
	if len(rep.AcceptedIDs) != rep.Accepted || rep.Accepted == 0 || rep.Rejected == 0 || rep.Status[400] == 0 {
		t.Fatalf("the simulator did not send accepted, rejected and malformed traffic: status %v, %d accepted (%d ids), %d rejected",
			rep.Status, rep.Accepted, len(rep.AcceptedIDs), rep.Rejected)
	}
	want := map[string]bool{}
	for _, id := range rep.AcceptedIDs {
		want[id] = true
	}
	for id := range bt.accepted {
		want[id] = true
	}
	if got, wantN := acceptedByCollector(t, collectorReg), float64(rep.Accepted+bt.acceptedTotal); got != wantN {
		t.Errorf("the collector counts %.0f accepted events, the simulator and the browser were told %.0f", got, wantN)
	}

	// Wait until the archive holds every accepted event, and the processor has closed
	// every session and the archiver stored them all.
	from, to := started.Add(-5*time.Minute).Truncate(time.Minute), time.Now().Add(5*time.Minute)
	var st processor.Stats
	var events []schemas.EventRow
	var sessions []schemas.SessionRow
	deadline := time.Now().Add(2 * time.Minute)
	for {
		events = readTable[schemas.EventRow](t, env, "events")
		sessions = readTable[schemas.SessionRow](t, env, "sessions")
		st = stats(t, processorURL, env.Tenant, from, to)
		ids := eventIDs(events)
		stored := 0
		for id := range want {
			if ids[id] > 0 {
				stored++
			}
		}
		settled := stored == len(want) && st.Totals.Events == int64(len(want)) && st.Totals.Sessions > 0 &&
			st.Totals.SessionsEnded == st.Totals.Sessions && int64(len(sessions)) == st.Totals.Sessions
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled after 2 minutes: %d of %d accepted events in Parquet (%d rows); the API counts %d events, %d sessions of which %d ended; %d sessions in Parquet",
				stored, len(want), len(events), st.Totals.Events, st.Totals.Sessions, st.Totals.SessionsEnded, len(sessions))
		}
		time.Sleep(time.Second)
	}
	t.Logf("settled after %s: %d events, %d sessions", time.Since(started).Round(time.Millisecond), len(want), len(sessions))

	lk := readLake(t, env, python)
	t.Run("every accepted event is in Parquet exactly once", func(t *testing.T) {
		checkExactlyOnce(t, want, lk)
		checkBrowserRows(t, bt, lk)
	})
	t.Run("the archived sessions are the sessions the API counts", func(t *testing.T) {
		checkSessions(t, lk, st)
	})
	t.Run("the dashboard shows the API's numbers", func(t *testing.T) {
		d := openDashboard(t, browser, processorURL+"/?tenant="+url.QueryEscape(env.Tenant)+"&key="+e2eReadKey+"&range=1h&refresh=600000")
		checkDashboard(t, d, stats(t, processorURL, env.Tenant, d.from, d.to), lk)
	})
	t.Logf("whole run: %s", time.Since(started).Round(time.Millisecond))
}

// checkBrowserTraffic: the journey sent what a visitor's clicks should send, and the
// collector accepted all of it.
func checkBrowserTraffic(t *testing.T, bt browserTraffic) {
	t.Helper()
	if len(bt.rejected) > 0 {
		t.Errorf("the collector rejected browser events: %v", bt.rejected)
	}
	for id := range bt.sent {
		if _, ok := bt.accepted[id]; !ok {
			t.Errorf("the browser sent %s but the collector never accepted it", id)
		}
	}
	pages := map[string]string{}
	anon := map[string]bool{}
	var signedUp, identified bool
	for _, e := range bt.accepted {
		anon[e.AnonymousID] = true
		switch {
		case e.Type == "page":
			pages[e.Context.Page.Path] = e.Context.Campaign.Name
		case e.Type == "track" && e.Event == "Signed Up" && e.Properties["plan"] == "pro":
			signedUp = true
		case e.Type == "identify" && e.UserID == "demo-ada":
			identified = true
		}
	}
	wantPages := map[string]string{"/": "", "/blog/clickstream-at-scale": "blog-launch", "/pricing": "clickstream-at-scale", "/signup": "", "/docs": ""}
	for path, campaign := range wantPages {
		if got, ok := pages[path]; !ok || got != campaign {
			t.Errorf("page view of %s: sent %v with campaign %q, want campaign %q", path, ok, got, campaign)
		}
	}
	if !signedUp || !identified || len(anon) != 1 || len(bt.accepted) != len(wantPages)+2 {
		t.Fatalf("the browser's events: %d accepted (want %d), anonymousIds %v, signed up %v, identified %v",
			len(bt.accepted), len(wantPages)+2, sortedKeys(anon), signedUp, identified)
	}
}

// checkExactlyOnce: DuckDB finds every accepted messageId once, and no other.
func checkExactlyOnce(t *testing.T, want map[string]bool, lk lake) {
	t.Helper()
	var missing, doubled, extra []string
	for id := range want {
		switch lk.IDs[id] {
		case 0:
			missing = append(missing, id)
		case 1:
		default:
			doubled = append(doubled, id)
		}
	}
	for id := range lk.IDs {
		if !want[id] {
			extra = append(extra, id)
		}
	}
	if len(missing)+len(doubled)+len(extra) > 0 {
		first := func(ids []string) []string { return ids[:min(len(ids), 5)] }
		t.Errorf("of %d accepted events: %d missing from Parquet (%v...), %d stored more than once (%v...), %d stored that were not accepted (%v...)",
			len(want), len(missing), first(missing), len(doubled), first(doubled), len(extra), first(extra))
	}
}

// checkBrowserRows: the browser's events are in the events table with their pages,
// campaigns, signup and user id.
func checkBrowserRows(t *testing.T, bt browserTraffic, lk lake) {
	t.Helper()
	var anon string
	for _, e := range bt.accepted {
		anon = e.AnonymousID
	}
	rows := map[string]lakeEvent{}
	for _, r := range lk.Events {
		if r.AnonymousID == anon {
			rows[r.MessageID] = r
		}
	}
	if len(rows) != len(bt.accepted) {
		t.Errorf("Parquet holds %d events of the browser's anonymousId %s, the collector accepted %d", len(rows), anon, len(bt.accepted))
	}
	for id, e := range bt.accepted {
		r, ok := rows[id]
		switch {
		case !ok:
			t.Errorf("the browser's %s %s is not in Parquet under its anonymousId", e.Type, id)
		case r.Type != e.Type || r.Event != e.Event || r.UserKey != anon ||
			(e.Type == "page" && (r.PagePath != e.Context.Page.Path || r.UTMCampaign != e.Context.Campaign.Name)):
			t.Errorf("the browser's %s %s is stored as %+v", e.Type, id, r)
		}
	}
}

// checkSessions: the sessions table and the API agree in total and minute by minute.
func checkSessions(t *testing.T, lk lake, st processor.Stats) {
	t.Helper()
	// A session counts as started in the minute of the event that opened it, which is
	// the event whose messageId, with its user key, gives the session's id.
	opener := map[string]lakeEvent{}
	for _, e := range lk.Events {
		opener[protocol.SessionID(e.UserKey, e.MessageID)] = e
	}
	starts := map[int64]int64{}
	var bounces, duration int64
	seen := map[string]bool{}
	for _, s := range lk.Sessions {
		if seen[s.SessionID] {
			t.Errorf("session %s is stored twice", s.SessionID)
		}
		seen[s.SessionID] = true
		e, ok := opener[s.SessionID]
		if !ok || e.UserKey != s.UserKey {
			t.Errorf("session %s of %s: no event of the key opened it", s.SessionID, s.UserKey)
			continue
		}
		starts[e.TimestampMs/60000*60]++
		if e.TimestampMs < s.StartedMs || s.EndedMs-s.StartedMs != s.DurationMs {
			t.Errorf("session %s: opened by an event at %d ms, started %d, ended %d, duration %d", s.SessionID, e.TimestampMs, s.StartedMs, s.EndedMs, s.DurationMs)
		}
		if s.IsBounce {
			bounces++
		}
		duration += s.DurationMs
	}
	n := int64(len(lk.Sessions))
	if st.Totals.Sessions != n || st.Totals.SessionsEnded != n || st.Totals.Bounces != bounces {
		t.Errorf("the API counts %d sessions (%d ended, %d bounces); Parquet holds %d (%d bounces)",
			st.Totals.Sessions, st.Totals.SessionsEnded, st.Totals.Bounces, n, bounces)
	}
	if avg := float64(duration) / float64(n); st.Totals.AvgSessionDurationMs != avg {
		t.Errorf("the API's average session lasts %.3f ms, Parquet's %.3f ms", st.Totals.AvgSessionDurationMs, avg)
	}
	if want := float64(bounces) / float64(n); st.Totals.BounceRate != want {
		t.Errorf("the API's bounce rate is %.4f, Parquet's %.4f", st.Totals.BounceRate, want)
	}
	var pageviews int64
	for _, p := range st.Series {
		m := p.Start.Unix()
		ev, end := lk.EventMinutes[m], lk.EndMinutes[m]
		pageviews += ev.Pageviews
		if p.Events != ev.Events || p.Pageviews != ev.Pageviews || p.Visitors != ev.Visitors || p.Sessions != starts[m] || p.Bounces != end.Bounces {
			t.Errorf("minute %s: the API says events %d, pageviews %d, visitors %d, sessions %d, bounces %d; Parquet: %d, %d, %d, %d, %d",
				p.Start.Format(time.TimeOnly), p.Events, p.Pageviews, p.Visitors, p.Sessions, p.Bounces,
				ev.Events, ev.Pageviews, ev.Visitors, starts[m], end.Bounces)
		}
	}
	if st.Totals.Pageviews != pageviews || pageviews == 0 {
		t.Errorf("the API counts %d pageviews, Parquet %d", st.Totals.Pageviews, pageviews)
	}
	t.Logf("Parquet and the API agree on %d sessions (%d bounces), %d events and %d pageviews over %d minutes",
		n, bounces, st.Totals.Events, pageviews, len(lk.EventMinutes))
}

// checkDashboard: the page shows the API's numbers for the range it asked for, and
// those are the lake's.
func checkDashboard(t *testing.T, d dashboard, st processor.Stats, lk lake) {
	t.Helper()
	for id, want := range map[string]int64{
		"total-visitors": st.Totals.Visitors, "total-pageviews": st.Totals.Pageviews,
		"total-sessions": st.Totals.Sessions, "live-visitors": st.LiveVisitors,
	} {
		if got := d.shown(t, id); got != strconv.FormatInt(want, 10) {
			t.Errorf("#%s shows %q, the API says %d", id, got, want)
		}
	}
	if got, want := d.shown(t, "bounce-rate"), fmt.Sprintf("%d%%", int(st.Totals.BounceRate*100+0.5)); got != want {
		t.Errorf("#bounce-rate shows %q, the API says %s", got, want)
	}
	for _, p := range st.Pages {
		if !d.row(p.Name, p.Count) {
			t.Errorf("the top pages lack %s with %d views", p.Name, p.Count)
		}
	}
	var pageviews int64
	visitors := map[string]bool{}
	for _, e := range lk.Events {
		if e.Type == "page" || e.Type == "screen" {
			pageviews++
		}
		visitors[e.UserKey] = true
	}
	if st.Totals.Pageviews != pageviews || st.Totals.Sessions != int64(len(lk.Sessions)) || st.Totals.Visitors != int64(len(visitors)) {
		t.Errorf("the dashboard's range holds %d pageviews, %d sessions, %d visitors; Parquet %d, %d, %d",
			st.Totals.Pageviews, st.Totals.Sessions, st.Totals.Visitors, pageviews, len(lk.Sessions), len(visitors))
	}
	if st.LiveVisitors == 0 {
		t.Errorf("the dashboard shows no live visitors")
	}
}
