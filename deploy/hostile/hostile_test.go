package hostile_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"path/filepath"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/deploy/chaos"
	"github.com/clicktrail/clicktrail/deploy/hostile"
	"github.com/clicktrail/clicktrail/internal/testenv"
)

// TestHostile sends the hostile corpus through the real pipeline and checks every
// answer, what the lake holds, and that the pipeline is whole afterwards. See
// package hostile.
func TestHostile(t *testing.T) {
	profile, err := hostile.ProfileFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	ctx := context.Background()
	root := testenv.Root(t)

	// Build while the namespace is provisioned and DuckDB found: both take a while.
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
	env := testenv.New(t)
	python, err := chaos.DuckDBPython(ctx, root)
	if err != nil {
		t.Fatalf("DuckDB, to read the lake as an analyst would: %v", err)
	}
	b := <-buildDone
	if b.err != nil {
		t.Fatal(b.err)
	}

	svcs, err := hostile.StartServices(ctx, t, b.bins, env, hostile.ServiceArgs{
		Processor: []string{"--processor.idle-timeout", profile.IdleTimeout.String(), "--processor.checkpoint-interval", profile.CheckpointInterval.String()},
		Archiver:  []string{"--archiver.roll-age", profile.RollAge.String()},
	})
	if err != nil {
		t.Fatal(err)
	}
	collector, proc, arch := svcs.Collector, svcs.Processor, svcs.Archiver
	cfg, collectorAddr := env.Provision, collector.Addr
	ready := time.Now()

	run := "h" + randomHex()
	p := &hostile.Pipeline{
		Collector: collector, Processor: proc, Archiver: arch, Tenant: env.Tenant, ReadKey: hostile.ReadKey,
		Mirror: hostile.NewMirror(env.S3(), cfg.Bucket, env.Prefix, filepath.Join(t.TempDir(), "lake")), Run: run, ArchiverRSS: profile.ArchiverRSS,
	}
	peaksCtx, stopPeaks := context.WithCancel(ctx)
	defer stopPeaks()
	p.Peaks = hostile.WatchPeaks(peaksCtx, 200*time.Millisecond, p.Pids)
	target := &hostile.Target{Addr: collectorAddr, WriteKey: hostile.WriteKey, Profile: profile}

	cases, st := hostile.Corpus(profile, run)
	t.Logf("%s profile: %d cases, run %s, namespace %s/%s, prefix %s; set up in %.0fs",
		profile.Name, len(cases), run, env.Tenant, env.Namespace, env.Prefix, ready.Sub(began).Seconds())
	p.Started = time.Now()
	results := hostile.RunCorpus(ctx, target, cases, func() int64 { return hostile.RSS(collector.Pid()) }, t.Logf)
	sent := time.Now()

	if pending := p.Settle(ctx, st, hostile.Accepted(results), profile.Settle); pending != "" {
		t.Errorf("the pipeline did not settle within %s: %s", profile.Settle, pending)
	}
	settled := time.Now()
	if err := p.Mirror.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	analysis, err := p.Mirror.Analyze(ctx, python, run)
	if err != nil {
		t.Fatal(err)
	}
	hostile.CheckStored(results, analysis)
	checks := p.FinalChecks(ctx, st, analysis)

	t.Log("\n" + hostile.Table(profile.Name, results))
	t.Log("\n" + hostile.ChecksTable(checks))
	t.Logf("peak RSS: collector %.0f MiB, processor %.0f MiB, archiver %.0f MiB; lake: %d files, %d suite events, %d invalid records",
		p.Peaks.PeakMiB("collector"), p.Peaks.PeakMiB("processor"), p.Peaks.PeakMiB("archiver"), len(analysis.Files), len(analysis.Events), len(analysis.Invalid))
	t.Logf("durations: setup %.0fs, corpus %.0fs, settle %.0fs, checks %.0fs, total %.0fs",
		p.Started.Sub(began).Seconds(), sent.Sub(p.Started).Seconds(), settled.Sub(sent).Seconds(), time.Since(settled).Seconds(), time.Since(began).Seconds())
	for _, r := range results {
		if r.Failed() {
			t.Error(r.Failure())
		}
	}
	for _, c := range checks {
		if c.Err != nil {
			t.Errorf("%s: %v", c.Name, c.Err)
		}
	}
}

func randomHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
