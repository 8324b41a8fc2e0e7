package processor

import (
	"strings"
	"testing"
	"time"
)

func TestRetentionSetting(t *testing.T) {
	tests := []struct {
		name      string
		retention time.Duration
		wantErr   bool
	}{
		{"the default is valid", DefaultRetention, false},
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
