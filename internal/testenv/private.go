package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/internal/provision"
	"github.com/clicktrail/clicktrail/internal/sources"
)

// PrivateBroker is a second Pulsar standalone broker that one test owns, on its own
// ports and data folder, so the test can stop and restart it without disturbing the
// shared one. It is started with the same script as the shared broker.
type PrivateBroker struct {
	URL, AdminURL string
	env           []string
	root          string
}

// NewPrivateBroker starts a broker for t (about 10 s), provisions namespace ns on it,
// and stops it when t ends.
func NewPrivateBroker(t testing.TB, ns sources.Namespace) *PrivateBroker {
	t.Helper()
	root := Root(t)
	port, admin, bookie := freePort(t), freePort(t), freePort(t)
	b := &PrivateBroker{
		URL:      "pulsar://127.0.0.1:" + strconv.Itoa(port),
		AdminURL: "http://127.0.0.1:" + strconv.Itoa(admin),
		root:     root,
		env: []string{
			"CLICKTRAIL_RUN_DIR=" + t.TempDir(),
			"CLICKTRAIL_PULSAR_PORT=" + strconv.Itoa(port),
			"CLICKTRAIL_PULSAR_ADMIN_PORT=" + strconv.Itoa(admin),
			"CLICKTRAIL_PULSAR_BOOKIE_PORT=" + strconv.Itoa(bookie),
		},
	}
	t.Cleanup(func() { _ = b.script("stop") })
	if err := b.Start(); err != nil {
		t.Fatalf("testenv: start private broker: %v", err)
	}
	cfg := provision.Config{PulsarAdminURL: b.AdminURL, PulsarURL: b.URL, Namespaces: []sources.Namespace{ns},
		RetentionMinutes: 60, RetentionSizeMB: 256, BacklogQuotaMB: 128}.WithDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := provision.Pulsar(ctx, cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("testenv: provision private broker: %v", err)
	}
	return b
}

// Start starts (or restarts, keeping its data) the broker and waits until it is ready.
func (b *PrivateBroker) Start() error { return b.script("start") }

// Stop stops the broker (SIGTERM, then SIGKILL).
func (b *PrivateBroker) Stop() error { return b.script("stop") }

func (b *PrivateBroker) script(verb string) error { return runScript(b.root, "pulsar.sh", b.env, verb) }

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// PrivateS3 is a second S3 server that one test owns, on its own port and data folder,
// so the test can stop and restart it. Same binary and script (deploy/local/s3.sh) as
// the shared one, so CLICKTRAIL_S3_SERVER chooses it too.
type PrivateS3 struct {
	Endpoint string
	env      []string
	root     string
}

// NewPrivateS3 starts an S3 server for t with the development credentials and the
// bucket, and stops it when t ends.
func NewPrivateS3(t testing.TB, bucket string) *PrivateS3 {
	t.Helper()
	root := Root(t)
	port := freePort(t)
	s := &PrivateS3{
		Endpoint: "127.0.0.1:" + strconv.Itoa(port),
		root:     root,
		env: []string{
			"CLICKTRAIL_RUN_DIR=" + t.TempDir(),
			"CLICKTRAIL_S3_PORT=" + strconv.Itoa(port),
			"CLICKTRAIL_S3_CONSOLE_PORT=" + strconv.Itoa(freePort(t)),
		},
	}
	t.Cleanup(func() { _ = s.Stop() })
	if err := s.Start(); err != nil {
		t.Fatalf("testenv: start private s3 server: %v", err)
	}
	cfg := provision.Config{S3Endpoint: s.Endpoint, Bucket: bucket}.WithDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := provision.Bucket(ctx, cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("testenv: bucket on private s3 server: %v", err)
	}
	return s
}

// Start starts (or restarts, keeping its data) the server and waits until it is ready.
func (s *PrivateS3) Start() error { return runScript(s.root, "s3.sh", s.env, "start") }

// Stop stops the server.
func (s *PrivateS3) Stop() error { return runScript(s.root, "s3.sh", s.env, "stop") }

func runScript(root, script string, env []string, args ...string) error {
	cmd := exec.Command(filepath.Join(root, "deploy", "local", script), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", script, strings.Join(args, " "), err, lastLines(string(out), 10))
	}
	return nil
}
