package archiver

import (
	"flag"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestValidateNamesTheBadSetting(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"the defaults are valid", func(*Config) {}, ""},
		{"a roll size under 1 KiB is refused", func(c *Config) { c.RollSize = 1000 }, "--archiver.roll-size (CLICKTRAIL_ARCHIVER_ROLL_SIZE=1000)"},
		{"a roll age under 100ms is refused", func(c *Config) { c.RollAge = 50 * time.Millisecond }, "--archiver.roll-age (CLICKTRAIL_ARCHIVER_ROLL_AGE=50ms)"},
		{"no de-duplication is accepted", func(c *Config) { c.DedupWindow = 0 }, ""},
		{"a negative de-duplication window is refused", func(c *Config) { c.DedupWindow = -time.Second }, "--archiver.dedup-window"},
		{"no bucket is refused", func(c *Config) { c.Bucket = "" }, `--s3.bucket (CLICKTRAIL_S3_BUCKET="")`},
		{"a temporary folder that does not exist is refused", func(c *Config) { c.TmpDir = filepath.Join(c.TmpDir, "missing") }, "--archiver.tmp-dir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.TmpDir = t.TempDir()
			tc.mutate(&cfg)
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want it to name %s", err, tc.want)
			}
		})
	}
}

func TestTheObjectStoreIsSetByFlagsAndEnvironment(t *testing.T) {
	t.Setenv("CLICKTRAIL_S3_ENDPOINT", "s3.internal:9000")
	t.Setenv("CLICKTRAIL_S3_TLS", "true")
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("archiver", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"--s3.bucket", "lake", "--log.format", "text"}); err != nil {
		t.Fatal(err)
	}
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	if cfg.S3Endpoint != "s3.internal:9000" || !cfg.S3UseTLS || cfg.Bucket != "lake" || cfg.S3AccessKey != "clicktrail" || cfg.LogFormat != "text" || cfg.LogLevel != "info" {
		t.Errorf("config = %+v", cfg)
	}
}
