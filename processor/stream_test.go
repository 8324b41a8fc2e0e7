package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/processor/protocol"
	"github.com/clicktrail/clicktrail/schemas"
)

// This file holds what the integration tests share: a generated stream of visitors, a
// reference computed from it independently of the sessionizer, and helpers to run
// processors against the real Pulsar and read what they publish.

const testReadKey = "test-read-key"

// visitorStream generates n visitors, each a few visits of a few events, with
// everything the session rules look at: gaps longer than the inactivity, campaign
// changes, arrivals from other sites, track events and client retries (a messageId
// sent twice). Events of one visitor are in time order; rounds interleave visitors.
func visitorStream(seed uint64, n int, tenant string, base time.Time) [][]*schemas.Event {
	rng := rand.New(rand.NewPCG(seed, 7))
	var perVisitor [][]*schemas.Event
	pages := []string{"/", "/pricing", "/docs", "/blog/a", "/blog/b", "/signup"}
	browsers := []string{"Chrome", "Firefox", "Safari"}
	devices := []string{"desktop", "mobile", "tablet"}
	for v := range n {
		key := fmt.Sprintf("anon-%d-%05d", seed, v)
		at := base.Add(time.Duration(rng.IntN(40*60)) * time.Second)
		en := &schemas.Enrichment{Browser: browsers[rng.IntN(3)], OS: "Linux", DeviceType: devices[rng.IntN(3)]}
		var evs []*schemas.Event
		count := 1 + rng.IntN(8)
		for i := range count {
			e := &schemas.Event{Type: schemas.TypePage, AnonymousID: key, MessageID: fmt.Sprintf("%s-m%d", key, i), Tenant: tenant, Source: "test", Enrichment: en}
			var c schemas.Context
			c.Page.Path = pages[rng.IntN(len(pages))]
			c.Page.URL = "https://shop.example" + c.Page.Path
			switch r := rng.IntN(20); {
			case i == 0 && r < 6:
				c.Page.Referrer = "https://search.example/?q=x"
			case r == 7:
				c.Page.Referrer = "https://news.example/story"
			case i == 0 && r < 10 || r == 8:
				c.Campaign.Source = []string{"newsletter", "ads"}[rng.IntN(2)]
			case r == 9:
				e.Type, e.Event = schemas.TypeTrack, "Signed Up"
			case r == 10:
				at = at.Add(31 * time.Minute) // a gap longer than the inactivity
			}
			if i > 0 {
				at = at.Add(time.Duration(5+rng.IntN(240)) * time.Second)
			}
			if i == 3 {
				e.UserID = "user-" + key
			}
			e.Timestamp = schemas.NewTime(at)
			e.ReceivedAt = schemas.NewTime(at)
			e.Context, _ = json.Marshal(c)
			e.Ctx = c
			evs = append(evs, e)
			if rng.IntN(15) == 0 { // a client retry: the same event again
				dup := *e
				evs = append(evs, &dup)
			}
		}
		perVisitor = append(perVisitor, evs)
	}
	// Rounds: round r holds the r-th event of every visitor that has one.
	var rounds [][]*schemas.Event
	for r := 0; ; r++ {
		var round []*schemas.Event
		for _, evs := range perVisitor {
			if r < len(evs) {
				round = append(round, evs[r])
			}
		}
		if len(round) == 0 {
			return rounds
		}
		rounds = append(rounds, round)
	}
}

// refSession is a session as the reference computes it.
type refSession struct {
	ID                  string
	Start, End          time.Time
	Events, Pageviews   int
	Entry, Exit, Reason string
	Bounce              bool
}

// refMinute is the reference aggregate of one minute.
type refMinute struct {
	Events, Pageviews, Started, Ended, Bounces int64
	Keys                                       map[string]bool
}

// reference sessionizes the stream the straightforward way: per key, in order, a new
// session when 30 minutes passed, the UTC day changed, or a page event brings another
// utm_source or another site's referrer; a messageId seen in the session is skipped.
// Sessions still open at the end are closed as the idle timeout closes them.
func reference(rounds [][]*schemas.Event) (map[string]refSession, map[int64]*refMinute) {
	byKey := map[string][]*schemas.Event{}
	var keys []string
	for _, round := range rounds {
		for _, e := range round {
			if byKey[e.AnonymousID] == nil {
				keys = append(keys, e.AnonymousID)
			}
			byKey[e.AnonymousID] = append(byKey[e.AnonymousID], e)
		}
	}
	sessions := map[string]refSession{}
	minutes := map[int64]*refMinute{}
	minute := func(t time.Time) *refMinute {
		m := minutes[t.Truncate(time.Minute).Unix()]
		if m == nil {
			m = &refMinute{Keys: map[string]bool{}}
			minutes[t.Truncate(time.Minute).Unix()] = m
		}
		return m
	}
	for _, key := range keys {
		var cur *refSession
		var utm string
		seen := map[string]bool{}
		closeCur := func(reason string) {
			cur.Reason, cur.Bounce = reason, cur.Events == 1
			sessions[cur.ID] = *cur
			minute(cur.End).Ended++
			if cur.Bounce {
				minute(cur.End).Bounces++
			}
			cur = nil
		}
		for _, e := range byKey[key] {
			at := e.Timestamp.Time
			if cur != nil && seen[e.MessageID] {
				continue
			}
			if cur != nil {
				refHost := ""
				if u, err := url.Parse(e.Ctx.Page.Referrer); err == nil {
					refHost = u.Hostname()
				}
				switch {
				case at.Sub(cur.End) >= 30*time.Minute:
					closeCur(protocol.EndInactivity)
				case at.UTC().YearDay() != cur.Start.UTC().YearDay():
					closeCur(protocol.EndMidnight)
				case e.Type == schemas.TypePage && (e.Ctx.Campaign.Source != "" && e.Ctx.Campaign.Source != utm || refHost != "" && refHost != "shop.example"):
					closeCur(protocol.EndCampaignChange)
				}
			}
			m := minute(at)
			m.Events++
			m.Keys[key] = true
			if cur == nil {
				cur = &refSession{ID: protocol.SessionID(key, e.MessageID), Start: at}
				utm = e.Ctx.Campaign.Source
				seen = map[string]bool{}
				m.Started++
			}
			seen[e.MessageID] = true
			cur.Events++
			cur.End = at
			if e.Type == schemas.TypePage {
				m.Pageviews++
				cur.Pageviews++
				if cur.Entry == "" {
					cur.Entry = e.Ctx.Page.Path
				}
				cur.Exit = e.Ctx.Page.Path
			}
		}
		closeCur(protocol.EndInactivity)
	}
	return sessions, minutes
}

// testSourcesFile writes a sources file naming env's namespace.
func testSourcesFile(t testing.TB, env *testenv.Env) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sources.yaml")
	body := fmt.Sprintf("sources:\n  - id: test\n    writeKey: test\n    readKey: %s\n    tenant: %s\n    namespace: %s\n", testReadKey, env.Tenant, env.Namespace)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// testConfig is a processor configuration for tests: any free port, quick checkpoints,
// sessions closed after a few quiet seconds, and child processes (startChild) that log
// warnings only.
func testConfig(t testing.TB, env *testenv.Env) Config {
	cfg := DefaultConfig()
	cfg.Addr = "127.0.0.1:0"
	cfg.PulsarURL = env.Provision.PulsarURL
	cfg.SourcesFile = testSourcesFile(t, env)
	cfg.IdleTimeout = 8 * time.Second
	cfg.CheckpointInterval = 200 * time.Millisecond
	cfg.ShutdownGrace = 10 * time.Second
	cfg.LogLevel = "warn"
	cfg.S3Endpoint, cfg.S3AccessKey, cfg.S3SecretKey = env.Provision.S3Endpoint, env.Provision.S3AccessKey, env.Provision.S3SecretKey
	cfg.Bucket = env.Provision.Bucket
	return cfg
}

// produce sends the rounds keyed by user key, as the collector does, pausing between
// rounds; between(i) runs before round i.
func produce(t testing.TB, client pulsar.Client, topic string, rounds [][]*schemas.Event, pause time.Duration, between func(i int)) {
	t.Helper()
	prod, err := client.CreateProducer(pulsar.ProducerOptions{
		Topic: topic, CompressionType: pulsar.LZ4, BatcherBuilderType: pulsar.KeyBasedBatchBuilder,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx := context.Background()
	for i, round := range rounds {
		if between != nil {
			between(i)
		}
		for _, e := range round {
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			prod.SendAsync(ctx, &pulsar.ProducerMessage{Key: e.UserKey(), Payload: b}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err != nil {
					t.Errorf("publish event: %v", err)
				}
			})
		}
		if err := prod.FlushWithCtx(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(pause)
	}
}

// readSessions reads the sessions topic until want distinct sessionIds arrived (or
// the deadline), keeping the last record of each id.
func readSessions(t testing.TB, client pulsar.Client, topic string, want int, deadline time.Duration) map[string]schemas.Session {
	t.Helper()
	r, err := client.CreateReader(pulsar.ReaderOptions{Topic: topic, StartMessageID: pulsar.EarliestMessageID()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[string]schemas.Session{}
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	for len(out) < want {
		msg, err := r.Next(ctx)
		if err != nil {
			t.Errorf("read sessions: %d of %d arrived: %v", len(out), want, err)
			return out
		}
		var s schemas.Session
		if err := json.Unmarshal(msg.Payload(), &s); err != nil {
			t.Fatalf("decode session: %v", err)
		}
		out[s.SessionID] = s
	}
	return out
}

// fetchStats asks a processor's API.
func fetchStats(t testing.TB, addr, tenant string, from, to time.Time) Stats {
	t.Helper()
	u := fmt.Sprintf("http://%s/api/v1/stats?tenant=%s&from=%d&to=%d&interval=1m&limit=1000", addr, url.QueryEscape(tenant), from.Unix(), to.Unix())
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+testReadKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stats: %s", resp.Status)
	}
	var st Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("decode stats: %v", err)
	}
	return st
}

// waitForStats polls addr until the stats show want sessions ended, or fails.
func waitForStats(t testing.TB, addr, tenant string, from, to time.Time, wantEnded int64, deadline time.Duration) Stats {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		st := fetchStats(t, addr, tenant, from, to)
		if st.Totals.SessionsEnded >= wantEnded || time.Now().After(end) {
			return st
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// compareWithReference checks closed sessions and the per-minute aggregates.
func compareWithReference(t *testing.T, rounds [][]*schemas.Event, got map[string]schemas.Session, st Stats) {
	t.Helper()
	want, minutes := reference(rounds)
	var diffs []string
	for id, w := range want {
		g, ok := got[id]
		switch {
		case !ok:
			diffs = append(diffs, "missing session "+id)
		case g.EventCount != w.Events || g.PageviewCount != w.Pageviews || !g.StartedAt.Equal(w.Start) || !g.EndedAt.Equal(w.End) ||
			g.EntryPage != w.Entry || g.ExitPage != w.Exit || g.IsBounce != w.Bounce || g.EndReason != w.Reason:
			diffs = append(diffs, fmt.Sprintf("session %s: got events=%d pages=%d %s..%s %s→%s bounce=%v %s; want events=%d pages=%d %s..%s %s→%s bounce=%v %s",
				id, g.EventCount, g.PageviewCount, g.StartedAt.Format(time.TimeOnly), g.EndedAt.Format(time.TimeOnly), g.EntryPage, g.ExitPage, g.IsBounce, g.EndReason,
				w.Events, w.Pageviews, w.Start.Format(time.TimeOnly), w.End.Format(time.TimeOnly), w.Entry, w.Exit, w.Bounce, w.Reason))
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			diffs = append(diffs, "unexpected session "+id)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Errorf("%d of %d sessions differ from the reference; first ones:\n%s", len(diffs), len(want), strings.Join(diffs[:min(len(diffs), 10)], "\n"))
	}

	var totalEvents, totalPages, started, ended, bounces int64
	keys := map[string]bool{}
	var minuteDiffs []string
	series := map[int64]Point{}
	for _, p := range st.Series {
		series[p.Start.Unix()] = p
	}
	for at, m := range minutes {
		totalEvents += m.Events
		totalPages += m.Pageviews
		started += m.Started
		ended += m.Ended
		bounces += m.Bounces
		for k := range m.Keys {
			keys[k] = true
		}
		p := series[at]
		if p.Events != m.Events || p.Pageviews != m.Pageviews || p.Sessions != m.Started || p.Bounces != m.Bounces || !near(p.Visitors, int64(len(m.Keys)), 0.02) {
			minuteDiffs = append(minuteDiffs, fmt.Sprintf("%s: got events=%d pageviews=%d sessions=%d bounces=%d visitors=%d; want %d %d %d %d %d",
				time.Unix(at, 0).UTC().Format(time.TimeOnly), p.Events, p.Pageviews, p.Sessions, p.Bounces, p.Visitors, m.Events, m.Pageviews, m.Started, m.Bounces, len(m.Keys)))
		}
	}
	sort.Strings(minuteDiffs)
	if len(minuteDiffs) > 0 {
		t.Errorf("%d of %d minutes differ from the reference; first ones:\n%s", len(minuteDiffs), len(minutes), strings.Join(minuteDiffs[:min(len(minuteDiffs), 10)], "\n"))
	}
	tot := st.Totals
	if tot.Events != totalEvents || tot.Pageviews != totalPages || tot.Sessions != started || tot.SessionsEnded != ended || tot.Bounces != bounces || !near(tot.Visitors, int64(len(keys)), 0.02) {
		t.Errorf("totals: got events=%d pageviews=%d sessions=%d ended=%d bounces=%d visitors=%d; want %d %d %d %d %d %d",
			tot.Events, tot.Pageviews, tot.Sessions, tot.SessionsEnded, tot.Bounces, tot.Visitors, totalEvents, totalPages, started, ended, bounces, len(keys))
	}
	t.Logf("compared %d sessions and %d minutes (%d events, %d visitors) with the reference", len(want), len(minutes), totalEvents, len(keys))
}

func near(got, want int64, rel float64) bool {
	d := float64(got - want)
	if d < 0 {
		d = -d
	}
	return d <= rel*float64(want)
}
