package processor

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/clicktrail/clicktrail/internal/flagenv"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/s3x"
)

// maxRetention is the longest Config.Retention: the longest range the stats API
// serves.
const maxRetention = maxRange

// Config of the processor; defaults in brackets, flags and CLICKTRAIL_* variables
// registered by RegisterFlags.
type Config struct {
	// Addr serves the dashboard, its API, /healthz, /readyz and /metrics [127.0.0.1:8089].
	Addr string
	// PulsarURL is the broker [pulsar://127.0.0.1:6650].
	PulsarURL string
	// SourcesFile lists the sources: tenant, namespace, read key, time zone
	// [deploy/local/sources.yaml].
	SourcesFile string
	// Instance names this process in its state records [host name and a random suffix].
	Instance string
	// Inactivity starts a new session after this long without events [30m].
	Inactivity time.Duration
	// MaxDuration ends a session this long after it started [24h].
	MaxDuration time.Duration
	// IdleTimeout closes a quiet key's session after this long by the processing clock
	// [the inactivity].
	IdleTimeout time.Duration
	// CheckpointInterval is how often state is written and events acknowledged [500ms].
	CheckpointInterval time.Duration
	// CheckpointEvents forces a checkpoint after this many events [20000].
	CheckpointEvents int
	// ShutdownGrace bounds the final checkpoint and the HTTP shutdown [15s].
	ShutdownGrace time.Duration
	// Retention is how much event time before the processing clock is aggregated and
	// sessionized; older events (and those more than 10 minutes ahead) are ignored
	// [48h].
	Retention time.Duration
	// Keep is how many of the latest minutes, hours and days the dashboard's store
	// keeps (see Store) [360 minutes, 840 hours, 400 days].
	Keep Keep
	// SnapshotInterval is how often each namespace's part of the store is written to
	// the object store, so that an instance starts from it (see snapshot.go); 0 writes
	// and reads none [1m].
	SnapshotInterval time.Duration
	// S3 endpoint, credentials and bucket of the snapshots [the development S3 server,
	// bucket clicktrail].
	S3Endpoint, S3AccessKey, S3SecretKey, Bucket string
	S3UseTLS                                     bool
	// LogLevel and LogFormat [info, json].
	LogLevel, LogFormat string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Addr: "127.0.0.1:8089", PulsarURL: pulsarx.DefaultURL, SourcesFile: "deploy/local/sources.yaml",
		Inactivity: 30 * time.Minute, MaxDuration: 24 * time.Hour,
		CheckpointInterval: 500 * time.Millisecond, CheckpointEvents: 20000,
		ShutdownGrace: 15 * time.Second, Retention: DefaultRetention, Keep: DefaultKeep, LogLevel: "info", LogFormat: "json",
		SnapshotInterval: time.Minute, S3Endpoint: s3x.DefaultEndpoint, S3AccessKey: s3x.DefaultAccessKey,
		S3SecretKey: s3x.DefaultSecretKey, Bucket: s3x.DefaultBucket,
	}
}

// RegisterFlags binds c's fields to flags and environment variables.
func (c *Config) RegisterFlags(fs *flag.FlagSet) *flagenv.Set {
	s := flagenv.New(fs)
	s.String(&c.Addr, "processor.addr", "CLICKTRAIL_PROCESSOR_ADDR", "address of the dashboard, its API, /healthz, /readyz and /metrics")
	s.String(&c.PulsarURL, "pulsar.url", "CLICKTRAIL_PULSAR_URL", "Pulsar service URL")
	s.String(&c.SourcesFile, "sources", "CLICKTRAIL_SOURCES", "sources file (YAML): tenants, namespaces, read keys, time zones")
	s.String(&c.Instance, "processor.instance", "CLICKTRAIL_PROCESSOR_INSTANCE", "name of this instance in state records (default: host name and a random suffix)")
	s.Duration(&c.Inactivity, "processor.inactivity", "CLICKTRAIL_PROCESSOR_INACTIVITY", "start a new session after this long without events")
	s.Duration(&c.MaxDuration, "processor.max-duration", "CLICKTRAIL_PROCESSOR_MAX_DURATION", "end a session this long after it started")
	s.Duration(&c.IdleTimeout, "processor.idle-timeout", "CLICKTRAIL_PROCESSOR_IDLE_TIMEOUT", "close a quiet key's session after this long by the processing clock (default: the inactivity)")
	s.Duration(&c.CheckpointInterval, "processor.checkpoint-interval", "CLICKTRAIL_PROCESSOR_CHECKPOINT_INTERVAL", "write state and acknowledge events this often")
	s.Int(&c.CheckpointEvents, "processor.checkpoint-events", "CLICKTRAIL_PROCESSOR_CHECKPOINT_EVENTS", "checkpoint after this many events at the latest")
	s.Duration(&c.ShutdownGrace, "processor.shutdown-grace", "CLICKTRAIL_PROCESSOR_SHUTDOWN_GRACE", "time for the final checkpoint at shutdown")
	s.Duration(&c.Retention, "processor.retention", "CLICKTRAIL_PROCESSOR_RETENTION", "aggregate and keep this much event time before now; older events are ignored")
	s.Int(&c.Keep.Minutes, "processor.keep-minutes", "CLICKTRAIL_PROCESSOR_KEEP_MINUTES", "the dashboard's store keeps this many of the latest minutes by minute")
	s.Int(&c.Keep.Hours, "processor.keep-hours", "CLICKTRAIL_PROCESSOR_KEEP_HOURS", "the dashboard's store keeps this many of the latest hours by hour")
	s.Int(&c.Keep.Days, "processor.keep-days", "CLICKTRAIL_PROCESSOR_KEEP_DAYS", "the dashboard's store keeps this many of the latest days by day")
	s.Duration(&c.SnapshotInterval, "processor.snapshot-interval", "CLICKTRAIL_PROCESSOR_SNAPSHOT_INTERVAL", "write the store's snapshots to the object store this often (0: none)")
	s.String(&c.S3Endpoint, "s3.endpoint", "CLICKTRAIL_S3_ENDPOINT", "object store host:port")
	s.String(&c.S3AccessKey, "s3.access-key", "CLICKTRAIL_S3_ACCESS_KEY", "object store access key")
	s.String(&c.S3SecretKey, "s3.secret-key", "CLICKTRAIL_S3_SECRET_KEY", "object store secret key")
	s.Bool(&c.S3UseTLS, "s3.tls", "CLICKTRAIL_S3_TLS", "use HTTPS to the object store")
	s.String(&c.Bucket, "s3.bucket", "CLICKTRAIL_S3_BUCKET", "bucket of the snapshots")
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
	if c.Addr == "" {
		bad("processor.addr", "CLICKTRAIL_PROCESSOR_ADDR", c.Addr, "required")
	}
	if c.PulsarURL == "" {
		bad("pulsar.url", "CLICKTRAIL_PULSAR_URL", c.PulsarURL, "required")
	}
	if c.SourcesFile == "" {
		bad("sources", "CLICKTRAIL_SOURCES", c.SourcesFile, "required")
	}
	if c.Inactivity <= 0 {
		bad("processor.inactivity", "CLICKTRAIL_PROCESSOR_INACTIVITY", c.Inactivity, "must be positive")
	}
	if c.MaxDuration < c.Inactivity {
		bad("processor.max-duration", "CLICKTRAIL_PROCESSOR_MAX_DURATION", c.MaxDuration, "must be at least the inactivity")
	}
	if c.IdleTimeout < 0 {
		bad("processor.idle-timeout", "CLICKTRAIL_PROCESSOR_IDLE_TIMEOUT", c.IdleTimeout, "must not be negative")
	}
	if c.CheckpointInterval <= 0 || c.CheckpointInterval > time.Minute {
		bad("processor.checkpoint-interval", "CLICKTRAIL_PROCESSOR_CHECKPOINT_INTERVAL", c.CheckpointInterval, "must be in (0, 1m]")
	}
	if c.CheckpointEvents <= 0 {
		bad("processor.checkpoint-events", "CLICKTRAIL_PROCESSOR_CHECKPOINT_EVENTS", c.CheckpointEvents, "must be positive")
	}
	if c.ShutdownGrace <= 0 {
		bad("processor.shutdown-grace", "CLICKTRAIL_PROCESSOR_SHUTDOWN_GRACE", c.ShutdownGrace, "must be positive")
	}
	if c.Retention < time.Hour || c.Retention > maxRetention {
		bad("processor.retention", "CLICKTRAIL_PROCESSOR_RETENTION", c.Retention, "must be in [1h, 2232h] (93 days, the longest range the API serves)")
	}
	if c.SnapshotInterval < 0 || c.SnapshotInterval > 0 && c.SnapshotInterval < time.Second {
		bad("processor.snapshot-interval", "CLICKTRAIL_PROCESSOR_SNAPSHOT_INTERVAL", c.SnapshotInterval, "must be 0 (none) or at least 1s")
	}
	if c.SnapshotInterval > 0 && (c.S3Endpoint == "" || c.Bucket == "") {
		bad("s3.endpoint", "CLICKTRAIL_S3_ENDPOINT", c.S3Endpoint, "an object store endpoint and bucket are required for snapshots (or --processor.snapshot-interval 0)")
	}
	if c.Keep.Minutes < 60 || c.Keep.Minutes > 7*24*60 {
		bad("processor.keep-minutes", "CLICKTRAIL_PROCESSOR_KEEP_MINUTES", c.Keep.Minutes, "must be in [60, 10080] (an hour to a week)")
	}
	if c.Keep.Hours < 24 || c.Keep.Hours > 93*24 {
		bad("processor.keep-hours", "CLICKTRAIL_PROCESSOR_KEEP_HOURS", c.Keep.Hours, "must be in [24, 2232] (a day to 93 days)")
	}
	if c.Keep.Days < 1 || c.Keep.Days > 3660 {
		bad("processor.keep-days", "CLICKTRAIL_PROCESSOR_KEEP_DAYS", c.Keep.Days, "must be in [1, 3660]")
	}
	return errors.Join(errs...)
}
