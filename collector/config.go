package collector

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"time"

	"github.com/clicktrail/clicktrail/internal/flagenv"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/schemas"
)

// Config of the collector. Each field's flag and environment variable are registered by
// RegisterFlags, with the default in brackets here.
type Config struct {
	// Addr is where the API listens [127.0.0.1:8088].
	Addr string
	// PulsarURL is the broker [pulsar://127.0.0.1:6650].
	PulsarURL string
	// SourcesFile maps write keys to tenants [deploy/local/sources.yaml].
	SourcesFile string
	// MaxBody bounds a request body, before and after decompression [500 KB].
	MaxBody int64
	// MaxInFlight bounds requests being handled at once; past it: 503 [256].
	MaxInFlight int
	// PublishTimeout is how long a request waits for Pulsar to acknowledge its events
	// before answering 503 [10s].
	PublishTimeout time.Duration
	// BatchDelay is the producers' batching delay [5ms].
	BatchDelay time.Duration
	// MaxPending bounds each producer's queue of unacknowledged messages; a full queue
	// answers 503 at once instead of blocking [20000].
	MaxPending int
	// TrustedProxies are the proxy networks whose X-Forwarded-For is believed [none].
	TrustedProxies []netip.Prefix
	// KeepFullIP stores client IPs as they are instead of anonymized [false].
	KeepFullIP bool
	// InstanceID names this collector's producers, so the broker can de-duplicate a
	// send retried after a reconnect [the host name].
	InstanceID string
	// ShutdownGrace bounds the drain of requests and producers at shutdown [20s].
	ShutdownGrace time.Duration
	// LogLevel and LogFormat of the JSON logs [info, json].
	LogLevel, LogFormat string
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	return Config{
		Addr:           "127.0.0.1:8088",
		PulsarURL:      pulsarx.DefaultURL,
		SourcesFile:    "deploy/local/sources.yaml",
		MaxBody:        schemas.MaxRequestBytes,
		MaxInFlight:    256,
		PublishTimeout: 10 * time.Second,
		BatchDelay:     5 * time.Millisecond,
		MaxPending:     20000,
		InstanceID:     host,
		ShutdownGrace:  20 * time.Second,
		LogLevel:       "info",
		LogFormat:      "json",
	}
}

// RegisterFlags binds c's fields to flags whose defaults are c's values, overridden by
// the CLICKTRAIL_* environment variables; the returned Set reports malformed ones.
func (c *Config) RegisterFlags(fs *flag.FlagSet) *flagenv.Set {
	s := flagenv.New(fs)
	s.String(&c.Addr, "collector.addr", "CLICKTRAIL_COLLECTOR_ADDR", "listen address")
	s.String(&c.PulsarURL, "pulsar.url", "CLICKTRAIL_PULSAR_URL", "Pulsar service URL")
	s.String(&c.SourcesFile, "sources", "CLICKTRAIL_SOURCES", "sources file (YAML) mapping write keys to tenants")
	s.String(&c.InstanceID, "collector.instance-id", "CLICKTRAIL_COLLECTOR_INSTANCE_ID", "stable name of this instance's producers")
	s.Int64(&c.MaxBody, "collector.max-body", "CLICKTRAIL_COLLECTOR_MAX_BODY", "largest request body in bytes, before and after decompression")
	s.Int(&c.MaxInFlight, "collector.max-in-flight", "CLICKTRAIL_COLLECTOR_MAX_IN_FLIGHT", "requests handled at once; more get 503")
	s.Int(&c.MaxPending, "collector.max-pending", "CLICKTRAIL_COLLECTOR_MAX_PENDING", "unacknowledged messages per producer; more get 503")
	s.Duration(&c.PublishTimeout, "collector.publish-timeout", "CLICKTRAIL_COLLECTOR_PUBLISH_TIMEOUT", "how long a request waits for Pulsar's acknowledgement")
	s.Duration(&c.BatchDelay, "collector.batch-delay", "CLICKTRAIL_COLLECTOR_BATCH_DELAY", "producer batching delay")
	s.Duration(&c.ShutdownGrace, "collector.shutdown-grace", "CLICKTRAIL_COLLECTOR_SHUTDOWN_GRACE", "time to drain requests and producers at shutdown")
	s.Prefixes(&c.TrustedProxies, "collector.trusted-proxies", "CLICKTRAIL_COLLECTOR_TRUSTED_PROXIES", "comma-separated proxy networks whose X-Forwarded-For is trusted")
	s.Bool(&c.KeepFullIP, "collector.keep-full-ip", "CLICKTRAIL_COLLECTOR_KEEP_FULL_IP", "store client IPs unanonymized")
	s.String(&c.LogLevel, "log.level", "CLICKTRAIL_LOG_LEVEL", "log level: debug, info, warn, error")
	s.String(&c.LogFormat, "log.format", "CLICKTRAIL_LOG_FORMAT", "log format: json or text")
	return s
}

// Validate checks the settings before anything starts; errors name the setting.
func (c *Config) Validate() error {
	var errs []error
	bad := func(flag, env string, v any, why string) {
		errs = append(errs, fmt.Errorf("invalid --%s (%s=%v): %s", flag, env, v, why))
	}
	if c.MaxBody < 1024 || c.MaxBody > 64<<20 {
		bad("collector.max-body", "CLICKTRAIL_COLLECTOR_MAX_BODY", c.MaxBody, "must be between 1 KB and 64 MB")
	}
	if c.MaxInFlight < 1 {
		bad("collector.max-in-flight", "CLICKTRAIL_COLLECTOR_MAX_IN_FLIGHT", c.MaxInFlight, "must be at least 1")
	}
	if c.MaxPending < 1 {
		bad("collector.max-pending", "CLICKTRAIL_COLLECTOR_MAX_PENDING", c.MaxPending, "must be at least 1")
	}
	if c.PublishTimeout <= 0 {
		bad("collector.publish-timeout", "CLICKTRAIL_COLLECTOR_PUBLISH_TIMEOUT", c.PublishTimeout, "must be positive")
	}
	if c.BatchDelay < 0 || c.BatchDelay > time.Second {
		bad("collector.batch-delay", "CLICKTRAIL_COLLECTOR_BATCH_DELAY", c.BatchDelay, "must be between 0 and 1s")
	}
	if c.InstanceID == "" {
		bad("collector.instance-id", "CLICKTRAIL_COLLECTOR_INSTANCE_ID", `""`, "must not be empty")
	}
	if c.SourcesFile == "" {
		bad("sources", "CLICKTRAIL_SOURCES", `""`, "a sources file is required")
	}
	return errors.Join(errs...)
}
