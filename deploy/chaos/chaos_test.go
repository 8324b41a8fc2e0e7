package chaos_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/deploy/chaos"
	"github.com/clicktrail/clicktrail/deploy/simulate"
	"github.com/clicktrail/clicktrail/internal/provision"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/s3x"
	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

const (
	writeKey = "chaos"
	readKey  = "chaos-read"
	// retryFor is how long the simulated SDK retries a request: longer than any
	// outage, so every request is answered in the end.
	retryFor = 10 * time.Minute
)

// TestChaos kills and stops every part of the pipeline in turn under load and checks
// that no accepted event is lost or doubled in the lake and that the processor's
// aggregates equal a reference computed from the accepted events. See package chaos.
func TestChaos(t *testing.T) {
	profile, err := chaos.ProfileFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	ctx := context.Background()
	root := testenv.Root(t)

	// Build while the broker starts: both take a while on two cores.
	type built struct {
		bins chaos.Binaries
		err  error
	}
	buildDone := make(chan built, 1)
	binDir := t.TempDir()
	go func() {
		bins, err := chaos.Build(ctx, root, binDir)
		buildDone <- built{bins, err}
	}()
	python, err := chaos.DuckDBPython(ctx, root)
	if err != nil {
		t.Fatalf("DuckDB, to read the lake as an analyst would: %v", err)
	}
	ns := sources.Namespace{Tenant: testenv.Tenant, Namespace: "chaos-" + randomHex()}
	var (
		broker    *testenv.PrivateBroker
		cluster   *testenv.PrivateCluster
		pulsarURL string
		adminURLs []string
	)
	if profile.Cluster {
		cluster = testenv.NewPrivateCluster(t, ns)
		pulsarURL, adminURLs = cluster.URL, cluster.AdminURLs
	} else {
		broker = testenv.NewPrivateBroker(t, ns)
		pulsarURL, adminURLs = broker.URL, []string{broker.AdminURL}
	}
	bucket := s3x.DefaultBucket
	store := testenv.NewPrivateS3(t, bucket)
	b := <-buildDone
	if b.err != nil {
		t.Fatal(b.err)
	}
	t.Logf("%s profile: private Pulsar %s, private S3 server %s, namespace %s/%s; set up in %.0fs",
		profile.Name, pulsarURL, store.Endpoint, ns.Tenant, ns.Namespace, time.Since(began).Seconds())

	sourcesFile := filepath.Join(t.TempDir(), "sources.yaml")
	src := fmt.Sprintf(`sources:
  - id: chaos
    writeKey: %s
    readKey: %s
    tenant: %s
    namespace: %s
    rateLimit:
      eventsPerSecond: 100000
      burst: 100000
    timezone: UTC
`, writeKey, readKey, ns.Tenant, ns.Namespace)
	if err := os.WriteFile(sourcesFile, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	logDir, tmpDir := t.TempDir(), t.TempDir()
	cfg := provision.Config{}.WithDefaults()
	collectorAddr, processorAddr, archiverAddr := testenv.FreeAddr(t), testenv.FreeAddr(t), testenv.FreeAddr(t)
	collector := chaos.NewService("collector", b.bins.Collector, collectorAddr, logDir, nil,
		"--collector.addr", collectorAddr, "--pulsar.url", pulsarURL, "--sources", sourcesFile,
		"--collector.instance-id", "chaos", "--log.level", "info")
	proc := chaos.NewService("processor", b.bins.Processor, processorAddr, logDir, nil,
		"--processor.addr", processorAddr, "--pulsar.url", pulsarURL, "--sources", sourcesFile,
		"--processor.idle-timeout", profile.IdleTimeout.String(), "--log.level", "info",
		// Its snapshots in the private S3 server too: its outage is theirs.
		"--s3.endpoint", store.Endpoint, "--s3.access-key", cfg.S3AccessKey, "--s3.secret-key", cfg.S3SecretKey, "--s3.bucket", bucket)
	arch := chaos.NewService("archiver", b.bins.Archiver, archiverAddr, logDir, nil,
		"--archiver.addr", archiverAddr, "--pulsar.url", pulsarURL, "--sources", sourcesFile,
		"--s3.endpoint", store.Endpoint, "--s3.access-key", cfg.S3AccessKey, "--s3.secret-key", cfg.S3SecretKey, "--s3.bucket", bucket,
		"--archiver.key-prefix", "chaos/", "--archiver.roll-age", profile.RollAge.String(), "--archiver.tmp-dir", tmpDir, "--log.level", "info")
	services := []*chaos.Service{collector, proc, arch}
	// Cleanups run last-in first-out: the services stop before the broker and the S3 server.
	t.Cleanup(func() {
		for _, s := range services {
			if err := s.Stop(20 * time.Second); err != nil {
				t.Errorf("stop %s: %v", s.Name, err)
			}
			if t.Failed() {
				t.Log(s.LogTail(40))
			}
		}
	})
	for _, s := range services {
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
	}
	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	for _, s := range services {
		if err := s.WaitReady(readyCtx); err != nil {
			cancel()
			t.Fatal(err)
		}
	}
	cancel()

	eventsTopic := schemas.Topic(ns.Tenant, ns.Namespace, schemas.TopicEvents)
	client, err := pulsarx.NewClient(pulsarURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	tap, err := chaos.StartTap(client, eventsTopic)
	if err != nil {
		t.Fatal(err)
	}
	defer tap.Close()
	lake, err := chaos.NewLake(store.Endpoint, cfg.S3AccessKey, cfg.S3SecretKey, bucket, "chaos/", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	load := chaos.StartLoad(simulate.Config{
		URL: "http://" + collectorAddr, WriteKey: writeKey, Rate: profile.Rate, Concurrency: int(profile.Rate * 60),
		ThinkTime: profile.ThinkTime, BotShare: 0.05, MalformedShare: 0.02, Seed: uint64(time.Now().UnixNano()), RetryFor: retryFor,
	})
	p := &chaos.Pipeline{
		Collector: collector, Processor: proc, Archiver: arch, Tenant: ns.Tenant, ReadKey: readKey,
		EventsTopic: eventsTopic, AdminURLs: adminURLs, Lake: lake, Load: load, Tap: tap, Logf: t.Logf,
	}
	var faults []chaos.Fault
	if profile.Cluster {
		faults = []chaos.Fault{
			chaos.BrokerDown(cluster, adminURLs, eventsTopic, true, profile.BrokerDown),
			chaos.BrokerDown(cluster, adminURLs, eventsTopic, false, profile.BrokerDown),
			chaos.UnloadBundle(adminURLs, eventsTopic),
			chaos.BookieDown(cluster, "bookie-1", profile.BrokerDown),
			chaos.AddPartition(adminURLs, eventsTopic),
		}
	} else {
		faults = []chaos.Fault{
			chaos.KillAndRestart(collector, chaos.Publishing(collector)),
			chaos.KillAndRestart(proc, nil),
			chaos.KillAndRestart(arch, nil),
			chaos.StopFor("broker", broker, profile.BrokerDown),
			chaos.StopFor("S3 server", store, profile.S3Down),
		}
	}
	time.Sleep(profile.Warmup)
	var outcomes []chaos.Outcome
	for _, f := range faults {
		o := p.Run(ctx, f, profile.Recovery)
		outcomes = append(outcomes, o)
		if o.Err != nil {
			t.Errorf("%v", o.Err)
			break
		}
		time.Sleep(profile.Gap) // the last fault's window holds traffic after it too
	}

	t.Logf("stopping the load (%d events accepted)", load.AcceptedCount())
	rep, accepted, err := load.Stop(retryFor + time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	loadEnded := time.Now()
	acceptedIDs := make([]string, len(accepted))
	for i, e := range accepted {
		acceptedIDs[i] = e.MessageID
	}
	if err := p.Settle(ctx, acceptedIDs, profile.IdleTimeout+profile.Settle); err != nil {
		t.Error(err)
	}
	settled := time.Now()

	// The final checks.
	counts, err := lake.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := lake.Query(ctx, python)
	if err != nil {
		t.Fatal(err)
	}
	times := map[string]time.Time{}
	for _, r := range rows {
		if _, ok := times[r.MessageID]; !ok {
			times[r.MessageID] = r.Timestamp
		}
	}
	unconfirmed := map[string]bool{}
	refEvents := make([]simulate.Event, 0, len(accepted))
	for _, e := range accepted {
		refEvents = append(refEvents, e.Event)
	}
	for _, e := range rep.UnconfirmedEvents {
		unconfirmed[e.MessageID] = true
		if _, stored := times[e.MessageID]; stored {
			refEvents = append(refEvents, e) // not accepted, but stored: counted too
		}
	}
	lc := chaos.CheckLake(rows, counts, acceptedIDs, unconfirmed)
	badTimes := chaos.CheckTimes(accepted, times)
	ref := chaos.NewReference(refEvents, times)
	sessions, err := chaos.ReadSessions(ctx, pulsarURL, schemas.Topic(ns.Tenant, ns.Namespace, schemas.TopicSessions))
	if err != nil {
		t.Fatal(err)
	}
	st, err := p.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sc := chaos.CompareStats(ref, st, sessions)
	copies, read := tap.Copies()

	warmup := chaos.Attribute(outcomes, load.Started, accepted, copies, lc, sc)
	total := chaos.Outcome{Fault: "total", Accepted: len(accepted), Missing: len(lc.Missing), Duplicates: len(lc.Duplicated), AggregatesEqual: sc.Equal()}
	for _, n := range copies {
		total.Copies += max(0, n-1)
	}
	for _, o := range outcomes {
		total.Refused += o.Refused
	}
	t.Log("\n" + chaos.Table(profile.Name, load.Started, warmup, outcomes, total))
	t.Logf("load: %d visits, %d requests (status %v), %d retried, %d events sent, %d accepted, %d rejected, %d unconfirmed (%d of them stored); p50 %.0f ms, p99 %.0f ms",
		rep.Visits, rep.Requests, rep.Status, rep.Retries, rep.Sent, rep.Accepted, rep.Rejected, rep.Unconfirmed, lc.Unconfirmed, rep.LatencyP50Ms, rep.LatencyP99Ms)
	t.Logf("lake: %d rows in %d files (DuckDB and parquet-go); events topic: %d messages read, %d extra copies; processor: %d events, %d pageviews, %d visitors, %d sessions (%d bounces), %d sessions on the sessions topic",
		lc.Rows, lake.Files(), read, total.Copies, st.Totals.Events, st.Totals.Pageviews, st.Totals.Visitors, st.Totals.Sessions, st.Totals.Bounces, len(sessions))
	t.Logf("durations: setup %.0fs, load %.0fs, settle %.0fs, checks %.0fs, total %.0fs",
		load.Started.Sub(began).Seconds(), loadEnded.Sub(load.Started).Seconds(), settled.Sub(loadEnded).Seconds(), time.Since(settled).Seconds(), time.Since(began).Seconds())

	report := func(what string, items []string) {
		if len(items) > 0 {
			t.Errorf("%d %s; first ones:\n%s", len(items), what, strings.Join(items[:min(len(items), 10)], "\n"))
		}
	}
	if n := p.Lost(); n > 0 {
		t.Errorf("%d accepted events were found lost during the run: the archiver had acknowledged every copy of them, and the lake did not hold them", n)
	}
	report("accepted events missing from the lake", lc.Missing)
	report("events stored more than once in the lake", lc.Duplicated)
	later := chaos.LaterCopies(times, tap)
	report("events whose row in the lake is a later copy than the first in the topic (the first copy's row was lost)", later)
	for _, id := range slices.Concat(lc.Missing[:min(len(lc.Missing), 5)], lc.Duplicated[:min(len(lc.Duplicated), 3)], later[:min(len(later), 2)]) {
		t.Log(chaos.Explain(id, tap, lake))
	}
	report("events in the lake that were never sent", lc.Extra)
	report("messageIds that DuckDB and parquet-go count differently", lc.ReadersDisagree)
	report("events stored at a time the collector's clock correction cannot give", badTimes)
	report("differences in the processor's totals", sc.Totals)
	report("differences in the processor's top lists", sc.Lists)
	report("sessions differing from the reference", sc.Sessions)
	var longest time.Duration
	for _, o := range outcomes {
		if !o.Recovered.IsZero() {
			longest = max(longest, o.Recovered.Sub(o.Start))
		}
	}
	if len(sc.Sessions) > 0 && longest > profile.IdleTimeout-15*time.Second {
		t.Logf("note: the load paused for up to %.0fs (a fault and its recovery), near or past the processor's idle timeout (%s): a visit paused that long is closed by design and counts as two sessions",
			longest.Seconds(), profile.IdleTimeout)
	}
	var minutes []string
	for _, d := range sc.Minutes {
		minutes = append(minutes, d)
	}
	slices.Sort(minutes)
	report("minutes of the processor's series differing from the reference", minutes)
	// A cluster may hide its faults from the load entirely; that topics moved is
	// checked by each broker fault itself (BrokerDown).
	if rep.Accepted == 0 || !profile.Cluster && total.Copies == 0 && total.Refused == 0 {
		t.Errorf("the faults did not disturb the load: %d accepted, %d refused requests, %d extra copies", rep.Accepted, total.Refused, total.Copies)
	}
	if profile.Cluster {
		for _, err := range chaos.ClusterGoals(outcomes) {
			t.Error(err)
		}
	}
	for _, s := range services {
		report("exits nobody asked for", s.Unexpected())
	}
}

func randomHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
