package simulate_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/archiver"
	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/deploy/simulate"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// serve runs fn on a free port until the test ends and returns the address.
func serve(t *testing.T, fn func(ctx context.Context, ln net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return ln.Addr().String()
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s not ready", url)
}

// TestSimulatedVisitorsReachTheLakeExactlyOnce sends simulated visitors (with bots and
// malformed requests) through the real collector, Pulsar and archiver, and checks that
// every event the collector accepted is in the Parquet files exactly once, and that
// nothing it rejected is among them.
func TestSimulatedVisitorsReachTheLakeExactlyOnce(t *testing.T) {
	env := testenv.New(t)
	sources := filepath.Join(t.TempDir(), "sources.yaml")
	src := fmt.Sprintf("sources:\n  - id: sim\n    writeKey: sim\n    tenant: %s\n    namespace: %s\n", env.Tenant, env.Namespace)
	if err := os.WriteFile(sources, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	discard := slog.New(slog.DiscardHandler)

	ccfg := collector.DefaultConfig()
	ccfg.SourcesFile, ccfg.PulsarURL, ccfg.InstanceID = sources, env.Provision.PulsarURL, "e2e-"+env.Namespace
	c, err := collector.New(ccfg, discard, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	collectorAddr := serve(t, c.Serve)
	waitReady(t, "http://"+collectorAddr+"/readyz")

	acfg := archiver.DefaultConfig()
	acfg.SourcesFile, acfg.PulsarURL, acfg.KeyPrefix, acfg.RollAge, acfg.TmpDir = sources, env.Provision.PulsarURL, env.Prefix, 500*time.Millisecond, t.TempDir()
	acfg.S3Endpoint = env.Provision.S3Endpoint
	a, err := archiver.New(acfg, discard, prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	archiverAddr := serve(t, a.Serve)
	waitReady(t, "http://"+archiverAddr+"/readyz")

	rep, err := simulate.Run(context.Background(), simulate.Config{
		URL: "http://" + collectorAddr, WriteKey: "sim", Visitors: 150, Rate: 100, Concurrency: 50,
		ThinkTime: 30 * time.Millisecond, BotShare: 0.1, MalformedShare: 0.1, Seed: 42,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("simulated: %d visits, %d requests (%v), %d events sent, %d accepted, %d rejected, %d malformed requests", rep.Visits, rep.Requests, rep.Status, rep.Sent, rep.Accepted, rep.Rejected, rep.MalformedSent)
	if rep.Accepted == 0 || rep.Rejected == 0 || rep.Status[400] == 0 || rep.Status[200] == 0 {
		t.Fatalf("the run did not exercise accepted, rejected and malformed traffic: status %v, %d accepted, %d rejected", rep.Status, rep.Accepted, rep.Rejected)
	}
	if len(rep.AcceptedIDs) != rep.Accepted {
		t.Fatalf("%d accepted ids recorded for %d accepted events", len(rep.AcceptedIDs), rep.Accepted)
	}

	want := map[string]bool{}
	for _, id := range rep.AcceptedIDs {
		want[id] = true
	}
	var got map[string]int
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if got = storedIDs(t, env); len(got) >= len(want) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	time.Sleep(time.Second)
	got = storedIDs(t, env)
	missing, doubled, extra := 0, 0, 0
	for id := range want {
		switch got[id] {
		case 0:
			missing++
		case 1:
		default:
			doubled++
		}
	}
	for id := range got {
		if !want[id] {
			extra++
		}
	}
	if missing+doubled+extra > 0 {
		t.Fatalf("of %d accepted events: %d missing from Parquet, %d stored twice, %d stored that were not accepted", len(want), missing, doubled, extra)
	}
}

func storedIDs(t *testing.T, env *testenv.Env) map[string]int {
	t.Helper()
	ctx := context.Background()
	ids := map[string]int{}
	for obj := range env.S3().ListObjects(ctx, env.Provision.Bucket, minio.ListObjectsOptions{Prefix: env.Prefix + "events/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		o, err := env.S3().GetObject(ctx, env.Provision.Bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(o)
		if err != nil {
			t.Fatal(err)
		}
		r := parquet.NewGenericReader[schemas.EventRow](bytes.NewReader(b))
		rows := make([]schemas.EventRow, r.NumRows())
		n, _ := r.Read(rows)
		for _, row := range rows[:n] {
			ids[row.MessageID]++
		}
	}
	return ids
}
