package processor

import (
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/processor/protocol"
)

func TestRetentionSetting(t *testing.T) {
	tests := []struct {
		name      string
		retention time.Duration
		wantErr   bool
	}{
		{"the default is valid", protocol.DefaultRetention, false},
		{"an hour is valid", time.Hour, false},
		{"93 days are valid", maxRange, false},
		{"less than an hour is refused", 59 * time.Minute, true},
		{"zero is refused", 0, true},
		{"more than 93 days is refused", maxRange + time.Hour, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Retention = tc.retention
			err := cfg.Validate()
			if (err != nil) != tc.wantErr {
				t.Fatalf("Validate: %v, want an error %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "--processor.retention (CLICKTRAIL_PROCESSOR_RETENTION=") {
				t.Errorf("the error does not name the setting: %v", err)
			}
		})
	}
	if DefaultConfig().Retention != 48*time.Hour {
		t.Errorf("default retention %v, want 48h", DefaultConfig().Retention)
	}
}

func TestKeepSettings(t *testing.T) {
	tests := []struct {
		name    string
		keep    Keep
		wantErr string
	}{
		{"the default is valid", DefaultKeep, ""},
		{"the smallest are valid", Keep{60, 24, 1}, ""},
		{"fewer than 60 minutes are refused", Keep{59, 840, 400}, "--processor.keep-minutes (CLICKTRAIL_PROCESSOR_KEEP_MINUTES=59)"},
		{"fewer than 24 hours are refused", Keep{360, 23, 400}, "--processor.keep-hours (CLICKTRAIL_PROCESSOR_KEEP_HOURS=23)"},
		{"no day is refused", Keep{360, 840, 0}, "--processor.keep-days (CLICKTRAIL_PROCESSOR_KEEP_DAYS=0)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Keep = tc.keep
			err := cfg.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Validate: %v, want %q", err, tc.wantErr)
			}
		})
	}
}
