package collector

import (
	"flag"
	"io"
	"strings"
	"testing"
	"time"
)

func TestFlagsOverrideEnvironmentOverridesDefaults(t *testing.T) {
	t.Setenv("CLICKTRAIL_COLLECTOR_ADDR", "127.0.0.1:9999")
	t.Setenv("CLICKTRAIL_COLLECTOR_MAX_IN_FLIGHT", "64")
	t.Setenv("CLICKTRAIL_COLLECTOR_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.0/24")
	t.Setenv("CLICKTRAIL_COLLECTOR_METRICS_ADDR", "127.0.0.1:9464")
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("collector", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"--collector.max-in-flight", "8", "--collector.publish-timeout", "2s", "--collector.read-timeout", "7s"}); err != nil {
		t.Fatal(err)
	}
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	if cfg.Addr != "127.0.0.1:9999" || cfg.MaxInFlight != 8 || cfg.PublishTimeout != 2*time.Second || len(cfg.TrustedProxies) != 2 {
		t.Errorf("config = %+v", cfg)
	}
	if cfg.BatchDelay != time.Millisecond || cfg.MaxBody != 500*1024 {
		t.Errorf("defaults lost: batch delay %s, max body %d", cfg.BatchDelay, cfg.MaxBody)
	}
	if cfg.MetricsAddr != "127.0.0.1:9464" || cfg.ReadTimeout != 7*time.Second || cfg.ReadHeaderTimeout != 5*time.Second ||
		cfg.IdleTimeout != 60*time.Second || cfg.WriteTimeout != 30*time.Second {
		t.Errorf("server settings: metrics %q, read %s, header %s, idle %s, write %s", cfg.MetricsAddr, cfg.ReadTimeout, cfg.ReadHeaderTimeout, cfg.IdleTimeout, cfg.WriteTimeout)
	}
}

func TestAMalformedVariableIsReportedByName(t *testing.T) {
	t.Setenv("CLICKTRAIL_COLLECTOR_MAX_PENDING", "lots")
	cfg := DefaultConfig()
	env := cfg.RegisterFlags(flag.NewFlagSet("collector", flag.ContinueOnError))
	if err := env.Err(); err == nil || !strings.Contains(err.Error(), "CLICKTRAIL_COLLECTOR_MAX_PENDING") {
		t.Fatalf("err = %v", err)
	}
}

func TestValidateNamesTheBadSetting(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"the defaults are valid", func(*Config) {}, ""},
		{"a tiny body limit is refused", func(c *Config) { c.MaxBody = 10 }, "--collector.max-body (CLICKTRAIL_COLLECTOR_MAX_BODY=10)"},
		{"no requests in flight is refused", func(c *Config) { c.MaxInFlight = 0 }, "--collector.max-in-flight"},
		{"an empty producer queue is refused", func(c *Config) { c.MaxPending = 0 }, "--collector.max-pending"},
		{"a zero publish deadline is refused", func(c *Config) { c.PublishTimeout = 0 }, "--collector.publish-timeout"},
		{"a batching delay over a second is refused", func(c *Config) { c.BatchDelay = 2 * time.Second }, "--collector.batch-delay"},
		{"an empty instance id is refused", func(c *Config) { c.InstanceID = "" }, "--collector.instance-id"},
		{"a missing sources file is refused", func(c *Config) { c.SourcesFile = "" }, "--sources"},
		{"zstd is refused", func(c *Config) { c.Compression = "zstd" }, "--collector.compression"},
		{"lz4 is accepted", func(c *Config) { c.Compression = "lz4" }, ""},
		{"a negative GC percent is refused", func(c *Config) { c.GCPercent = -1 }, "--collector.gc-percent"},
		{"a memory limit too small to run in is refused", func(c *Config) { c.MemoryLimitMB = 8 }, "--collector.memory-limit-mb"},
		{"no memory limit of its own is accepted", func(c *Config) { c.MemoryLimitMB = 0 }, ""},
		{"pprof on loopback is accepted", func(c *Config) { c.PprofAddr = "127.0.0.1:6061" }, ""},
		{"pprof on every interface is refused", func(c *Config) { c.PprofAddr = ":6061" }, "--collector.pprof-addr"},
		{"pprof on a public address is refused", func(c *Config) { c.PprofAddr = "203.0.113.1:6061" }, "--collector.pprof-addr"},
		{"no header timeout is refused", func(c *Config) { c.ReadHeaderTimeout = 0 }, "--collector.read-header-timeout"},
		{"a read timeout shorter than the header timeout is refused", func(c *Config) { c.ReadTimeout = time.Second }, "--collector.read-timeout (CLICKTRAIL_COLLECTOR_READ_TIMEOUT=1s)"},
		{"a write timeout that would cut answers off is refused", func(c *Config) { c.WriteTimeout = 15 * time.Second }, "--collector.write-timeout"},
		{"no idle timeout is refused", func(c *Config) { c.IdleTimeout = 0 }, "--collector.idle-timeout"},
		{"a metrics address of its own is accepted", func(c *Config) { c.MetricsAddr = "0.0.0.0:9464" }, ""},
		{"a metrics address without a port is refused", func(c *Config) { c.MetricsAddr = "127.0.0.1" }, "--collector.metrics-addr"},
		{"a metrics address equal to the API's is refused", func(c *Config) { c.MetricsAddr = c.Addr }, "--collector.metrics-addr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.InstanceID = "test"
			tc.mutate(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want it to name %q", err, tc.want)
			}
		})
	}
}

func TestTheRuntimesOwnVariablesWinOverTheTuningDefaults(t *testing.T) {
	if cfg := DefaultConfig(); cfg.GCPercent != 400 || cfg.MemoryLimitMB != 150 {
		t.Fatalf("defaults: gc percent %d, memory limit %d MiB", cfg.GCPercent, cfg.MemoryLimitMB)
	}
	t.Setenv("GOGC", "150")
	t.Setenv("GOMEMLIMIT", "1GiB")
	if cfg := DefaultConfig(); cfg.GCPercent != 0 || cfg.MemoryLimitMB != 0 {
		t.Errorf("with GOGC and GOMEMLIMIT set: gc percent %d, memory limit %d MiB, want 0 and 0 (the runtime's)", cfg.GCPercent, cfg.MemoryLimitMB)
	}
}
