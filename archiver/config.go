package archiver

import (
	"flag"
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
	// S3 is the object store [the development S3 server, bucket clicktrail].
	flagenv.S3
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
	flagenv.Log
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Addr: "127.0.0.1:8090", PulsarURL: pulsarx.DefaultURL, SourcesFile: "deploy/local/sources.yaml",
		S3: flagenv.S3{
			S3Endpoint: s3x.DefaultEndpoint, S3AccessKey: s3x.DefaultAccessKey,
			S3SecretKey: s3x.DefaultSecretKey, Bucket: s3x.DefaultBucket,
		},
		RollSize: 128 << 20, RollAge: 5 * time.Minute, DedupWindow: 10 * time.Minute,
		TmpDir: os.TempDir(), ShutdownGrace: 30 * time.Second, Log: flagenv.DefaultLog(),
	}
}

// RegisterFlags binds c's fields to flags and environment variables.
func (c *Config) RegisterFlags(fs *flag.FlagSet) *flagenv.Set {
	s := flagenv.New(fs)
	s.String(&c.Addr, "archiver.addr", "address of /healthz, /readyz and /metrics")
	s.PulsarURL(&c.PulsarURL)
	s.Sources(&c.SourcesFile, "sources file (YAML) listing the tenants to archive")
	s.S3(&c.S3)
	s.String(&c.KeyPrefix, "archiver.key-prefix", "prefix of every object key")
	s.Int64(&c.RollSize, "archiver.roll-size", "close a file at this many bytes")
	s.Duration(&c.RollAge, "archiver.roll-age", "close a file this long after it was opened")
	s.Duration(&c.DedupWindow, "archiver.dedup-window", "drop a messageId the same partition delivered with a received_at this close (0: off)")
	s.String(&c.TmpDir, "archiver.tmp-dir", "folder for files being written")
	s.Duration(&c.ShutdownGrace, "archiver.shutdown-grace", "time for the final flush at shutdown")
	s.Log(&c.Log)
	return s
}

// Validate checks the settings; errors name the setting.
func (c *Config) Validate() error {
	var v flagenv.Validation
	v.Check(c.RollSize >= 1<<10, "archiver.roll-size", c.RollSize, "must be at least 1 KiB")
	v.Check(c.RollAge >= 100*time.Millisecond, "archiver.roll-age", c.RollAge, "must be at least 100ms")
	v.Check(c.DedupWindow >= 0, "archiver.dedup-window", c.DedupWindow, "must not be negative")
	v.Check(c.Bucket != "", "s3.bucket", c.Bucket, "must not be empty")
	st, err := os.Stat(c.TmpDir)
	v.Check(err == nil && st.IsDir(), "archiver.tmp-dir", c.TmpDir, "must be an existing folder")
	return v.Err()
}
