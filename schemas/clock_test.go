package schemas

import (
	"encoding/json"
	"os"
	"testing"
	"time"
)

func TestCorrectTimestampSharedVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/clock_skew.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name              string `json:"name"`
		OriginalTimestamp *Time  `json:"originalTimestamp"`
		SentAt            *Time  `json:"sentAt"`
		ReceivedAt        Time   `json:"receivedAt"`
		Want              Time   `json:"want"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			got := CorrectTimestamp(tc.OriginalTimestamp, tc.SentAt, tc.ReceivedAt.Time)
			if !got.Equal(tc.Want.Time) {
				t.Errorf("got %s, want %s", got.Format(time.RFC3339Nano), tc.Want.Format(time.RFC3339Nano))
			}
			if got.After(tc.ReceivedAt.Time) {
				t.Errorf("corrected time %s is after receivedAt", got)
			}
			if got.Location() != time.UTC {
				t.Errorf("corrected time %s is not in UTC", got)
			}
		})
	}
}
