package hostile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/deploy/chaos"
	"github.com/clicktrail/clicktrail/internal/testenv"
)

// Services are the collector, the processor and the archiver of one run: child
// processes of this checkout's binaries on one testenv namespace, with the suite's
// sources (SourcesYAML).
type Services struct {
	Collector, Processor, Archiver *chaos.Service
}

// ServiceArgs are flags added to each service's command line, after the ones every
// run sets (addresses, broker, object store, the namespace's sources and prefix).
type ServiceArgs struct{ Collector, Processor, Archiver []string }

// StartServices starts the three services on env's namespace with the extra flags and
// waits until each is ready (two minutes at most). They are stopped when tb ends, with
// the last lines of their logs when tb failed; call it after testenv.New, so that the
// services stop before testenv removes the namespace (cleanups run last-in first-out).
func StartServices(ctx context.Context, tb testing.TB, bins chaos.Binaries, env *testenv.Env, extra ServiceArgs) (*Services, error) {
	tb.Helper()
	return StartServicesWith(ctx, tb, bins, env, "hostile", SourcesYAML(env.Tenant, env.Namespace), extra)
}

// StartServicesWith is StartServices with another suite's sources file (sourcesYAML)
// and name (the collector's instance id is <name>-<random hex>).
func StartServicesWith(ctx context.Context, tb testing.TB, bins chaos.Binaries, env *testenv.Env, name, sourcesYAML string, extra ServiceArgs) (*Services, error) {
	tb.Helper()
	sources := filepath.Join(tb.TempDir(), "sources.yaml")
	if err := os.WriteFile(sources, []byte(sourcesYAML), 0o600); err != nil {
		return nil, fmt.Errorf("write the sources file: %w", err)
	}
	cfg := env.Provision
	logDir, tmpDir := tb.TempDir(), tb.TempDir()
	collectorAddr, processorAddr, archiverAddr := testenv.FreeAddr(tb), testenv.FreeAddr(tb), testenv.FreeAddr(tb)
	s := &Services{
		Collector: chaos.NewService("collector", bins.Collector, collectorAddr, logDir, nil,
			append([]string{"--collector.addr", collectorAddr, "--pulsar.url", cfg.PulsarURL, "--sources", sources,
				"--collector.instance-id", name + "-" + randomHex(), "--log.level", "info"}, extra.Collector...)...),
		Processor: chaos.NewService("processor", bins.Processor, processorAddr, logDir, nil,
			append([]string{"--processor.addr", processorAddr, "--pulsar.url", cfg.PulsarURL, "--sources", sources,
				"--log.level", "info"}, extra.Processor...)...),
		Archiver: chaos.NewService("archiver", bins.Archiver, archiverAddr, logDir, nil,
			append([]string{"--archiver.addr", archiverAddr, "--pulsar.url", cfg.PulsarURL, "--sources", sources,
				"--s3.endpoint", cfg.S3Endpoint, "--s3.access-key", cfg.S3AccessKey, "--s3.secret-key", cfg.S3SecretKey, "--s3.bucket", cfg.Bucket,
				"--archiver.key-prefix", env.Prefix, "--archiver.tmp-dir", tmpDir, "--log.level", "info"}, extra.Archiver...)...),
	}
	tb.Cleanup(func() {
		if err := s.Stop(20 * time.Second); err != nil {
			tb.Error(err)
		}
		if tb.Failed() {
			for _, svc := range s.All() {
				tb.Log(svc.LogTail(30))
			}
		}
	})
	for _, svc := range s.All() {
		if err := svc.Start(); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for _, svc := range s.All() {
		if err := svc.WaitReady(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// All lists the three services, in the order they start.
func (s *Services) All() []*chaos.Service {
	return []*chaos.Service{s.Collector, s.Processor, s.Archiver}
}

// Pids names the services' processes, for WatchPeaks.
func (s *Services) Pids() map[string]int {
	out := map[string]int{}
	for _, svc := range s.All() {
		out[svc.Name] = svc.Pid()
	}
	return out
}

// Stop stops the services in the pipeline's order (the collector first, so nothing
// new comes in while the processor and the archiver flush), each given grace to exit.
// Stopping a service that does not run does nothing.
func (s *Services) Stop(grace time.Duration) error {
	var errs []error
	for _, svc := range s.All() {
		if err := svc.Stop(grace); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", svc.Name, err))
		}
	}
	return errors.Join(errs...)
}

// Unexpected lists the services' exits nobody asked for.
func (s *Services) Unexpected() []string {
	var out []string
	for _, svc := range s.All() {
		out = append(out, svc.Unexpected()...)
	}
	return out
}

func randomHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
