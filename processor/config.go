package processor

import (
	"flag"
	"time"

	"github.com/clicktrail/clicktrail/internal/flagenv"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/s3x"
	"github.com/clicktrail/clicktrail/processor/protocol"
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
	// SnapshotInterval is how often the snapshots of the store and of the shards of
	// session state are written to the object store, so that an instance starts from
	// them (see snapshot.go, and doc.go's Shards); 0 writes and reads none [1m].
	SnapshotInterval time.Duration
	// S3 is the object store of the snapshots [the development S3 server, bucket
	// clicktrail: the archive's].
	flagenv.S3
	flagenv.Log
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Addr: "127.0.0.1:8089", PulsarURL: pulsarx.DefaultURL, SourcesFile: "deploy/local/sources.yaml",
		Inactivity: 30 * time.Minute, MaxDuration: 24 * time.Hour,
		CheckpointInterval: 500 * time.Millisecond, CheckpointEvents: 20000,
		ShutdownGrace: 15 * time.Second, Retention: protocol.DefaultRetention, Keep: DefaultKeep, Log: flagenv.DefaultLog(),
		SnapshotInterval: time.Minute,
		S3:               flagenv.S3{S3Endpoint: s3x.DefaultEndpoint, S3AccessKey: s3x.DefaultAccessKey, S3SecretKey: s3x.DefaultSecretKey, Bucket: s3x.DefaultBucket},
	}
}

// RegisterFlags binds c's fields to flags and environment variables.
func (c *Config) RegisterFlags(fs *flag.FlagSet) *flagenv.Set {
	s := flagenv.New(fs)
	s.String(&c.Addr, "processor.addr", "address of the dashboard, its API, /healthz, /readyz and /metrics")
	s.PulsarURL(&c.PulsarURL)
	s.Sources(&c.SourcesFile, "sources file (YAML): tenants, namespaces, read keys, time zones")
	s.String(&c.Instance, "processor.instance", "name of this instance in state records (default: host name and a random suffix)")
	s.Duration(&c.Inactivity, "processor.inactivity", "start a new session after this long without events")
	s.Duration(&c.MaxDuration, "processor.max-duration", "end a session this long after it started")
	s.Duration(&c.IdleTimeout, "processor.idle-timeout", "close a quiet key's session after this long by the processing clock (default: the inactivity)")
	s.Duration(&c.CheckpointInterval, "processor.checkpoint-interval", "write state and acknowledge events this often")
	s.Int(&c.CheckpointEvents, "processor.checkpoint-events", "checkpoint after this many events at the latest")
	s.Duration(&c.ShutdownGrace, "processor.shutdown-grace", "time for the final checkpoint at shutdown")
	s.Duration(&c.Retention, "processor.retention", "aggregate and keep this much event time before now; older events are ignored")
	s.Int(&c.Keep.Minutes, "processor.keep-minutes", "the dashboard's store keeps this many of the latest minutes by minute")
	s.Int(&c.Keep.Hours, "processor.keep-hours", "the dashboard's store keeps this many of the latest hours by hour")
	s.Int(&c.Keep.Days, "processor.keep-days", "the dashboard's store keeps this many of the latest days by day")
	s.Duration(&c.SnapshotInterval, "processor.snapshot-interval", "write the snapshots of the store and of the session state to the object store this often (0: none)")
	s.S3(&c.S3)
	s.Log(&c.Log)
	return s
}

// Validate checks the settings; errors name the setting.
func (c *Config) Validate() error {
	var v flagenv.Validation
	v.Check(c.Addr != "", "processor.addr", c.Addr, "required")
	v.Check(c.PulsarURL != "", "pulsar.url", c.PulsarURL, "required")
	v.Check(c.SourcesFile != "", "sources", c.SourcesFile, "required")
	v.Check(c.Inactivity > 0, "processor.inactivity", c.Inactivity, "must be positive")
	v.Check(c.MaxDuration >= c.Inactivity, "processor.max-duration", c.MaxDuration, "must be at least the inactivity")
	v.Check(c.IdleTimeout >= 0, "processor.idle-timeout", c.IdleTimeout, "must not be negative")
	v.Check(c.CheckpointInterval > 0 && c.CheckpointInterval <= time.Minute, "processor.checkpoint-interval", c.CheckpointInterval, "must be in (0, 1m]")
	v.Check(c.CheckpointEvents > 0, "processor.checkpoint-events", c.CheckpointEvents, "must be positive")
	v.Check(c.ShutdownGrace > 0, "processor.shutdown-grace", c.ShutdownGrace, "must be positive")
	v.Check(c.Retention >= time.Hour && c.Retention <= maxRetention, "processor.retention", c.Retention, "must be in [1h, 2232h] (93 days, the longest range the API serves)")
	v.Check(c.SnapshotInterval == 0 || c.SnapshotInterval >= time.Second, "processor.snapshot-interval", c.SnapshotInterval, "must be 0 (none) or at least 1s")
	v.Check(c.SnapshotInterval == 0 || c.S3Endpoint != "" && c.Bucket != "", "s3.endpoint", c.S3Endpoint, "an object store endpoint and bucket are required for snapshots (or --processor.snapshot-interval 0)")
	v.Check(c.Keep.Minutes >= 60 && c.Keep.Minutes <= 7*24*60, "processor.keep-minutes", c.Keep.Minutes, "must be in [60, 10080] (an hour to a week)")
	v.Check(c.Keep.Hours >= 24 && c.Keep.Hours <= 93*24, "processor.keep-hours", c.Keep.Hours, "must be in [24, 2232] (a day to 93 days)")
	v.Check(c.Keep.Days >= 1 && c.Keep.Days <= 3660, "processor.keep-days", c.Keep.Days, "must be in [1, 3660]")
	return v.Err()
}
