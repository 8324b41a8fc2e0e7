// Package testenv gives integration tests the real Pulsar broker and S3 server of
// deploy/local (versitygw, or MinIO with CLICKTRAIL_S3_SERVER=minio): it reuses them
// when they run, starts them (through the same scripts `make up` uses) when they do
// not, and gives each test its own Pulsar namespace and bucket prefix, removed again
// when the test ends.
//
// It never skips: when a component cannot be started the test fails with the reason.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/minio/minio-go/v7"

	"github.com/clicktrail/clicktrail/internal/provision"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/s3x"
	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/schemas"
)

// Tenant is the Pulsar tenant every test namespace lives in.
const Tenant = "clicktrail-test"

// Env is one test's slice of the real components.
type Env struct {
	// Provision is the configuration the namespace was provisioned with: broker and
	// object-store endpoints, credentials, bucket and partition count.
	Provision provision.Config
	// Tenant and Namespace are this test's own Pulsar namespace.
	Tenant, Namespace string
	// Prefix is this test's own key prefix in the bucket (ends in "/").
	Prefix string

	client pulsar.Client
	admin  pulsaradmin.Client
	s3     *minio.Client
}

// Option changes how the namespace is provisioned.
type Option func(*provision.Config)

// Partitions sets the partition count of the events topic (default 4).
func Partitions(n int) Option { return func(c *provision.Config) { c.Partitions = n } }

// New provisions a fresh namespace and bucket prefix for t, and removes both when t
// ends. It starts Pulsar and the S3 server when they are not running.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	cfg := provision.Config{
		PulsarAdminURL: envOr("CLICKTRAIL_PULSAR_ADMIN_URL", provision.DefaultPulsarAdminURL),
		PulsarURL:      envOr("CLICKTRAIL_PULSAR_URL", pulsarx.DefaultURL),
		S3Endpoint:     envOr("CLICKTRAIL_S3_ENDPOINT", s3x.DefaultEndpoint),
		S3AccessKey:    envOr("CLICKTRAIL_S3_ACCESS_KEY", s3x.DefaultAccessKey),
		S3SecretKey:    envOr("CLICKTRAIL_S3_SECRET_KEY", s3x.DefaultSecretKey),
		Bucket:         envOr("CLICKTRAIL_S3_BUCKET", s3x.DefaultBucket),
		// Tests need no week of retention; keep the broker's disk small.
		RetentionMinutes: 60,
		RetentionSizeMB:  2048,
		BacklogQuotaMB:   1024,
	}
	for _, o := range opts {
		o(&cfg)
	}
	cfg = cfg.WithDefaults()
	Require(t, cfg)

	id := runID(t)
	e := &Env{Provision: cfg, Tenant: Tenant, Namespace: id, Prefix: id + "/"}
	cfg.Namespaces = []sources.Namespace{{Tenant: e.Tenant, Namespace: e.Namespace}}
	e.Provision = cfg

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	if err := provision.Run(ctx, cfg, log); err != nil {
		t.Fatalf("testenv: provision namespace %s/%s: %v", e.Tenant, e.Namespace, err)
	}
	var err error
	if e.admin, err = pulsaradmin.NewClient(&config.Config{WebServiceURL: cfg.PulsarAdminURL}); err != nil {
		t.Fatalf("testenv: pulsar admin: %v", err)
	}
	if e.client, err = pulsarx.NewClient(cfg.PulsarURL, nil); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if e.s3, err = provision.NewS3Client(cfg); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { e.cleanup(t) })
	return e
}

// Topic returns the full name of one of this namespace's topics (schemas.Topic*).
func (e *Env) Topic(name string) string { return schemas.Topic(e.Tenant, e.Namespace, name) }

// Client is a Pulsar client for the test; closed when the test ends.
func (e *Env) Client() pulsar.Client { return e.client }

// Admin is a Pulsar admin client.
func (e *Env) Admin() pulsaradmin.Client { return e.admin }

// S3 is a minio-go client for the bucket.
func (e *Env) S3() *minio.Client { return e.s3 }

// cleanup deletes the namespace's topics and namespace, and the bucket prefix.
// Failures are logged, not fatal: the next run uses a fresh namespace anyway.
func (e *Env) cleanup(t testing.TB) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.client.Close()
	ns := e.Tenant + "/" + e.Namespace
	nsName, err := utils.GetNameSpaceName(e.Tenant, e.Namespace)
	if err == nil {
		partitioned, plain, lerr := e.admin.Topics().ListWithContext(ctx, *nsName)
		if lerr != nil {
			t.Logf("testenv: list topics of %s: %v", ns, lerr)
		}
		for _, name := range partitioned {
			if tn, err := utils.GetTopicName(name); err == nil {
				_ = e.admin.Topics().DeleteWithContext(ctx, *tn, true, false)
			}
		}
		for _, name := range plain {
			// Partitions went with their partitioned topic above.
			if tn, err := utils.GetTopicName(name); err == nil && !strings.Contains(name, "-partition-") {
				_ = e.admin.Topics().DeleteWithContext(ctx, *tn, true, true)
			}
		}
	}
	if err := e.admin.Namespaces().DeleteNamespaceWithContext(ctx, ns); err != nil {
		t.Logf("testenv: delete namespace %s: %v", ns, err)
	}
	// The test's own prefix, and the processor's snapshots of its namespace
	// (_processor/<tenant>/<namespace>/, see processor's snapshotName).
	for _, prefix := range []string{e.Prefix, "_processor/" + e.Tenant + "/" + e.Namespace + "/"} {
		objs := e.s3.ListObjects(ctx, e.Provision.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true})
		for errResult := range e.s3.RemoveObjects(ctx, e.Provision.Bucket, objs, minio.RemoveObjectsOptions{}) {
			t.Logf("testenv: remove %s: %v", errResult.ObjectName, errResult.Err)
		}
	}
}

var startOnce sync.Once

// Require makes sure Pulsar and the S3 server answer at cfg's endpoints, starting the local
// ones with deploy/local's scripts when they do not. It fails t with the cause when a
// component cannot be reached or started.
func Require(t testing.TB, cfg provision.Config) {
	t.Helper()
	cfg = cfg.WithDefaults()
	pulsarReady := cfg.PulsarAdminURL + "/admin/v2/brokers/health"
	if ready(pulsarReady) && s3Ready(cfg.S3Endpoint) {
		return
	}
	var startErr error
	startOnce.Do(func() { startErr = startLocal() })
	if startErr != nil {
		t.Fatalf("testenv: %v", startErr)
	}
	if !ready(pulsarReady) {
		t.Fatalf("testenv: Pulsar does not answer at %s: start it with `make up` (see .cache/run/pulsar for its log)", pulsarReady)
	}
	if !s3Ready(cfg.S3Endpoint) {
		t.Fatalf("testenv: no S3 server answers at %s: start it with `make up` (deploy/local/s3.sh logs shows its log)", cfg.S3Endpoint)
	}
}

// startLocal runs deploy/local/up.sh, which starts what is not running (under a lock,
// so parallel test binaries never start two brokers) and leaves it running.
func startLocal() error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(root, "deploy", "local", "up.sh"))
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("start local pulsar and s3 server (deploy/local/up.sh): %w\n%s", err, lastLines(string(out), 15))
	}
	fmt.Fprintln(os.Stderr, "testenv: started local Pulsar and S3 server for this test run; `make down` stops them")
	return nil
}

// s3Ready reports whether the S3 server at endpoint (host:port) answers its health
// check: versitygw's on the path deploy/local/s3.sh gives it, or MinIO's. Each answers
// the other's path with an S3 error, never 200.
func s3Ready(endpoint string) bool {
	return ready("http://"+endpoint+"/health") || ready("http://"+endpoint+"/minio/health/ready")
}

func ready(url string) bool {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK
}

// RepoRoot finds the repository root above the working directory: the folder of
// the go.mod of module github.com/clicktrail/clicktrail. The test-only modules under
// deploy/ (deploy/validate, deploy/demo/e2e) have go.mod files of their own.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return rootAbove(dir)
}

func rootAbove(dir string) (string, error) {
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && slices.Contains(strings.Split(string(b), "\n"), "module github.com/clicktrail/clicktrail") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find repository root: no go.mod of module github.com/clicktrail/clicktrail above the working directory")
		}
		dir = parent
	}
}

// Root is RepoRoot for a test: it fails t when there is no module root.
func Root(t testing.TB) string {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// FreeAddr returns a loopback address with a free port, for a child process to listen on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runID names a test's namespace: readable (from the test name) and unique.
func runID(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.ToLower(t.Name())
	name = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, name)
	if len(name) > 40 {
		name = name[:40]
	}
	return strings.Trim(name, "-") + "-" + hex.EncodeToString(b[:])
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
