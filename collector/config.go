package collector

import (
	"flag"
	"fmt"
	"net"
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
	// MaxInFlight bounds requests being handled at once; past it: 503 at once [256].
	// A request counts once its body has arrived (clients still sending do not), and
	// most wait for Pulsar's acknowledgement, which costs little; a broker pause of a
	// quarter second at 1,000 requests/s fits. Only two per CPU decode and encode at a
	// time (see api.handle).
	MaxInFlight int
	// PublishTimeout is how long a request waits for Pulsar to acknowledge its events
	// before answering 503 [10s].
	PublishTimeout time.Duration
	// BatchDelay is the producers' batching delay [1ms]. Key-based batching makes a batch
	// per key, and a request is usually one key (one visitor), so waiting longer merges
	// few messages and adds its whole length to every answer. At 1,000 requests/s on
	// the 2-core benchmark machine, four runs each: p50 4.2–4.8 ms and p99 13–23 ms
	// with 1 ms, p50 7.1–8.5 ms and p99 13–170 ms with 5 ms; the same full-load
	// throughput.
	BatchDelay time.Duration
	// MaxPending bounds each producer's queue of unacknowledged messages; a full queue
	// answers 503 at once instead of blocking [20000].
	MaxPending int
	// Compression of the producers' batches: lz4, snappy or none [lz4, the event
	// contract's codec]. Key-based batching builds a compressor for every key of every
	// batch; the Pulsar client in internal/thirdparty makes LZ4's free to build (upstream
	// allocates a 512 KiB table each time). ZSTD's starts a decoder per key that is
	// never closed (apache/pulsar-client-go#1423): not offered.
	Compression string
	// TrustedProxies are the proxy networks whose X-Forwarded-For is believed [none].
	TrustedProxies []netip.Prefix
	// KeepFullIP stores client IPs as they are instead of anonymized [false].
	KeepFullIP bool
	// InstanceID names this collector's producers, so the broker can de-duplicate a
	// send retried after a reconnect [the host name].
	InstanceID string
	// ShutdownGrace bounds the drain of requests and producers at shutdown [20s].
	ShutdownGrace time.Duration
	// ReadHeaderTimeout bounds the reading of a request's headers [5s].
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the reading of a whole request, headers and body: a client
	// still sending its body then is answered 408 and disconnected. A request takes an
	// in-flight slot only once its body is in, so slow clients cost connections and
	// the bytes they sent, never slots [10s].
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the end of the
	// answer, so the body, the wait for Pulsar and the answer: longer than ReadTimeout
	// plus PublishTimeout [30s].
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection that waits this long for its next
	// request [60s].
	IdleTimeout time.Duration
	// MetricsAddr serves /metrics (with /healthz and /readyz) on a listener of its
	// own, so that metrics (tenant names, broker errors) need not face the internet;
	// the API's address then answers 404 for /metrics [off: /metrics on Addr].
	MetricsAddr string
	// GCPercent is the Go garbage collector's target (debug.SetGCPercent, as GOGC) when
	// the collector runs as its own process (Run): collecting when the heap has grown
	// by 400% instead of 100% takes a sixth less CPU a request, and MemoryLimitMB keeps
	// the heap bounded all the same. 0 leaves the runtime's [400; 0 when GOGC is set].
	GCPercent int
	// MemoryLimitMB is the Go runtime's soft memory limit in MiB (debug.SetMemoryLimit,
	// as GOMEMLIMIT) when the collector runs as its own process: the heap grows
	// towards it only under load, and levels off there under overload (about 60 MB
	// live with 2,048 client connections and 256 requests in flight). 0 leaves the
	// runtime's [150; 0 when GOMEMLIMIT is set, as deploy/k8s does].
	MemoryLimitMB int64
	// PprofAddr serves net/http/pprof, on a loopback address only [off].
	PprofAddr string
	flagenv.Log
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	host, _ := os.Hostname()
	c := Config{
		Addr:           "127.0.0.1:8088",
		PulsarURL:      pulsarx.DefaultURL,
		SourcesFile:    "deploy/local/sources.yaml",
		MaxBody:        schemas.MaxRequestBytes,
		MaxInFlight:    256,
		PublishTimeout: 10 * time.Second,
		BatchDelay:     time.Millisecond,
		MaxPending:     20000,
		Compression:    "lz4",
		InstanceID:     host,
		ShutdownGrace:  20 * time.Second,
		GCPercent:      400,
		MemoryLimitMB:  150,
		Log:            flagenv.DefaultLog(),

		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	// The runtime's own variables, when set, are the operator's choice.
	if os.Getenv("GOGC") != "" {
		c.GCPercent = 0
	}
	if os.Getenv("GOMEMLIMIT") != "" {
		c.MemoryLimitMB = 0
	}
	return c
}

// RegisterFlags binds c's fields to flags whose defaults are c's values, overridden by
// the CLICKTRAIL_* environment variables; the returned Set reports malformed ones.
func (c *Config) RegisterFlags(fs *flag.FlagSet) *flagenv.Set {
	s := flagenv.New(fs)
	s.String(&c.Addr, "collector.addr", "listen address")
	s.PulsarURL(&c.PulsarURL)
	s.Sources(&c.SourcesFile, "sources file (YAML) mapping write keys to tenants")
	s.String(&c.InstanceID, "collector.instance-id", "stable name of this instance's producers")
	s.Int64(&c.MaxBody, "collector.max-body", "largest request body in bytes, before and after decompression")
	s.Int(&c.MaxInFlight, "collector.max-in-flight", "requests handled at once; more get 503")
	s.Int(&c.MaxPending, "collector.max-pending", "unacknowledged messages per producer; more get 503")
	s.Duration(&c.PublishTimeout, "collector.publish-timeout", "how long a request waits for Pulsar's acknowledgement")
	s.String(&c.Compression, "collector.compression", "compression of the producers' batches: lz4, snappy or none")
	s.Duration(&c.BatchDelay, "collector.batch-delay", "producer batching delay")
	s.Duration(&c.ShutdownGrace, "collector.shutdown-grace", "time to drain requests and producers at shutdown")
	s.Duration(&c.ReadHeaderTimeout, "collector.read-header-timeout", "time to receive a request's headers")
	s.Duration(&c.ReadTimeout, "collector.read-timeout", "time to receive a whole request, body included; slower clients get 408")
	s.Duration(&c.WriteTimeout, "collector.write-timeout", "time from a request's headers to the end of its answer; above read timeout + publish timeout")
	s.Duration(&c.IdleTimeout, "collector.idle-timeout", "how long an idle keep-alive connection stays open")
	s.String(&c.MetricsAddr, "collector.metrics-addr", "serve /metrics, /healthz and /readyz on this address instead of the API's (off when empty)")
	s.Prefixes(&c.TrustedProxies, "collector.trusted-proxies", "comma-separated proxy networks whose X-Forwarded-For is trusted")
	s.Bool(&c.KeepFullIP, "collector.keep-full-ip", "store client IPs unanonymized")
	s.Int(&c.GCPercent, "collector.gc-percent", "garbage collection target percent, as GOGC (0: the runtime's)")
	s.Int64(&c.MemoryLimitMB, "collector.memory-limit-mb", "soft memory limit of the Go runtime in MiB, as GOMEMLIMIT (0: the runtime's)")
	s.String(&c.PprofAddr, "collector.pprof-addr", "serve net/http/pprof on this loopback address (off when empty)")
	s.Log(&c.Log)
	return s
}

// Validate checks the settings before anything starts; errors name the setting.
func (c *Config) Validate() error {
	var v flagenv.Validation
	v.Check(c.MaxBody >= 1024 && c.MaxBody <= 64<<20, "collector.max-body", c.MaxBody, "must be between 1 KB and 64 MB")
	v.Check(c.MaxInFlight >= 1, "collector.max-in-flight", c.MaxInFlight, "must be at least 1")
	v.Check(c.MaxPending >= 1, "collector.max-pending", c.MaxPending, "must be at least 1")
	v.Check(c.PublishTimeout > 0, "collector.publish-timeout", c.PublishTimeout, "must be positive")
	v.Check(c.BatchDelay >= 0 && c.BatchDelay <= time.Second, "collector.batch-delay", c.BatchDelay, "must be between 0 and 1s")
	_, known := compressionType(c.Compression)
	v.Check(known, "collector.compression", c.Compression, "must be snappy, lz4 or none")
	v.Check(c.ReadHeaderTimeout > 0, "collector.read-header-timeout", c.ReadHeaderTimeout, "must be positive")
	v.Check(c.ReadTimeout >= c.ReadHeaderTimeout, "collector.read-timeout", c.ReadTimeout, "must be at least the read header timeout ("+c.ReadHeaderTimeout.String()+")")
	v.Check(c.WriteTimeout > c.ReadTimeout+c.PublishTimeout, "collector.write-timeout", c.WriteTimeout, "must be longer than the read timeout plus the publish timeout ("+(c.ReadTimeout+c.PublishTimeout).String()+"), or answers are cut off")
	v.Check(c.IdleTimeout > 0, "collector.idle-timeout", c.IdleTimeout, "must be positive")
	if c.MetricsAddr != "" {
		_, _, err := net.SplitHostPort(c.MetricsAddr)
		v.Check(err == nil, "collector.metrics-addr", c.MetricsAddr, "must be host:port")
		v.Check(err != nil || c.MetricsAddr != c.Addr, "collector.metrics-addr", c.MetricsAddr, "must differ from --collector.addr")
	}
	v.Check(c.GCPercent >= 0, "collector.gc-percent", c.GCPercent, "must be 0 (the runtime's) or positive")
	v.Check(c.MemoryLimitMB == 0 || c.MemoryLimitMB >= 32, "collector.memory-limit-mb", c.MemoryLimitMB, "must be 0 (the runtime's) or at least 32")
	if c.PprofAddr != "" {
		err := checkLoopback(c.PprofAddr)
		v.Check(err == nil, "collector.pprof-addr", c.PprofAddr, fmt.Sprint(err))
	}
	v.Check(c.InstanceID != "", "collector.instance-id", c.InstanceID, "must not be empty")
	v.Check(c.SourcesFile != "", "sources", c.SourcesFile, "a sources file is required")
	return v.Err()
}
