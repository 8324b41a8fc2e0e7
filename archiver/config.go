package archiver

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/clicktrail/clicktrail/internal/flagenv"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/s3x"
)

// Config of the archiver; defaults in brackets, flags and CLICKTRAIL_* variables
// registered by RegisterFlags.
type Config struct {
	// Addr serves /healthz, /readyz and /metrics [127.0.0.1:8090].
	Addr string
	// PulsarURL is the broker [pulsar://127.0.0.1:6650].
	PulsarURL string
	// SourcesFile lists the tenants and namespaces to archive [deploy/local/sources.yaml].
	SourcesFile string
	// S3 endpoint, credentials and bucket [the development S3 server, bucket clicktrail].
	S3Endpoint, S3AccessKey, S3SecretKey, Bucket string
	S3UseTLS                                     bool
	// KeyPrefix is put before every object key [""]; tests use it to keep apart.
	KeyPrefix string
	// RollSize closes a file once it holds this many bytes [128 MiB].
	RollSize int64
	// RollAge closes a file this long after it was opened [5m].
	RollAge time.Duration
	// DedupWindow drops an event whose messageId the same partition delivered with a
	// received_at this close; 0 turns it off [10m].
	DedupWindow time.Duration
	// TmpDir holds files being written [the system's temporary folder].
	TmpDir string
	// ShutdownGrace bounds the final flush [30s].
	ShutdownGrace time.Duration
	// LogLevel and LogFormat [info, json].
	LogLevel, LogFormat string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Addr: "127.0.0.1:8090", PulsarURL: pulsarx.DefaultURL, SourcesFile: "deploy/local/sources.yaml",
		S3Endpoint: s3x.DefaultEndpoint, S3AccessKey: s3x.DefaultAccessKey,
		S3SecretKey: s3x.DefaultSecretKey, Bucket: s3x.DefaultBucket,
		RollSize: 128 << 20, RollAge: 5 * time.Minute, DedupWindow: 10 * time.Minute,
		TmpDir: os.TempDir(), ShutdownGrace: 30 * time.Second, LogLevel: "info", LogFormat: "json",
	}
}

// RegisterFlags binds c's fields to flags and environment variables.
func (c *Config) RegisterFlags(fs *flag.FlagSet) *flagenv.Set {
	s := flagenv.New(fs)
	s.String(&c.Addr, "archiver.addr", "CLICKTRAIL_ARCHIVER_ADDR", "address of /healthz, /readyz and /metrics")
	s.String(&c.PulsarURL, "pulsar.url", "CLICKTRAIL_PULSAR_URL", "Pulsar service URL")
	s.String(&c.SourcesFile, "sources", "CLICKTRAIL_SOURCES", "sources file (YAML) listing the tenants to archive")
	s.String(&c.S3Endpoint, "s3.endpoint", "CLICKTRAIL_S3_ENDPOINT", "object store host:port")
	s.String(&c.S3AccessKey, "s3.access-key", "CLICKTRAIL_S3_ACCESS_KEY", "object store access key")
	s.String(&c.S3SecretKey, "s3.secret-key", "CLICKTRAIL_S3_SECRET_KEY", "object store secret key")
	s.Bool(&c.S3UseTLS, "s3.tls", "CLICKTRAIL_S3_TLS", "use HTTPS to the object store")
	s.String(&c.Bucket, "s3.bucket", "CLICKTRAIL_S3_BUCKET", "archive bucket")
	s.String(&c.KeyPrefix, "archiver.key-prefix", "CLICKTRAIL_ARCHIVER_KEY_PREFIX", "prefix of every object key")
	s.Int64(&c.RollSize, "archiver.roll-size", "CLICKTRAIL_ARCHIVER_ROLL_SIZE", "close a file at this many bytes")
	s.Duration(&c.RollAge, "archiver.roll-age", "CLICKTRAIL_ARCHIVER_ROLL_AGE", "close a file this long after it was opened")
	s.Duration(&c.DedupWindow, "archiver.dedup-window", "CLICKTRAIL_ARCHIVER_DEDUP_WINDOW", "drop a messageId the same partition delivered with a received_at this close (0: off)")
	s.String(&c.TmpDir, "archiver.tmp-dir", "CLICKTRAIL_ARCHIVER_TMP_DIR", "folder for files being written")
	s.Duration(&c.ShutdownGrace, "archiver.shutdown-grace", "CLICKTRAIL_ARCHIVER_SHUTDOWN_GRACE", "time for the final flush at shutdown")
	s.String(&c.LogLevel, "log.level", "CLICKTRAIL_LOG_LEVEL", "log level: debug, info, warn, error")
	s.String(&c.LogFormat, "log.format", "CLICKTRAIL_LOG_FORMAT", "log format: json or text")
	return s
}

// Validate checks the settings; errors name the setting.
func (c *Config) Validate() error {
	var errs []error
	bad := func(flag, env string, v any, why string) {
		errs = append(errs, fmt.Errorf("invalid --%s (%s=%v): %s", flag, env, v, why))
	}
	if c.RollSize < 1<<10 {
		bad("archiver.roll-size", "CLICKTRAIL_ARCHIVER_ROLL_SIZE", c.RollSize, "must be at least 1 KiB")
	}
	if c.RollAge < 100*time.Millisecond {
		bad("archiver.roll-age", "CLICKTRAIL_ARCHIVER_ROLL_AGE", c.RollAge, "must be at least 100ms")
	}
	if c.DedupWindow < 0 {
		bad("archiver.dedup-window", "CLICKTRAIL_ARCHIVER_DEDUP_WINDOW", c.DedupWindow, "must not be negative")
	}
	if c.Bucket == "" {
		bad("s3.bucket", "CLICKTRAIL_S3_BUCKET", `""`, "must not be empty")
	}
	if st, err := os.Stat(c.TmpDir); err != nil || !st.IsDir() {
		bad("archiver.tmp-dir", "CLICKTRAIL_ARCHIVER_TMP_DIR", c.TmpDir, "must be an existing folder")
	}
	return errors.Join(errs...)
}
