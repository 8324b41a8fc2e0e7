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

func TestCorrectTimestampDoesNotOverflowOnSkewsOfCenturies(t *testing.T) {
	received := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	at := func(s string) *Time {
		v, err := ParseTime(s)
		if err != nil {
			t.Fatal(err)
		}
		return NewTime(v)
	}
	// Years 0001 to 9999 span 3,652,059 days (the proleptic Gregorian calendar).
	const days1To10000 = 3652059
	tests := []struct {
		name             string
		original, sentAt *Time
		want             time.Time
	}{
		{"an event of year 0001 sent in 9999 lies 9,999 years before receivedAt, not in 1734",
			at("0001-01-01T00:00:00Z"), at("9999-12-31T23:59:59Z"), received.AddDate(0, 0, -days1To10000).Add(time.Second)},
		{"an event of year 9999 sent in 0001 is bounded by receivedAt",
			at("9999-12-31T23:59:59Z"), at("0001-01-01T00:00:00Z"), received},
		{"an offset that moves a timestamp to year 0 in UTC is corrected exactly over 2,026 years",
			at("0001-01-01T00:00:00+01:00"), at("2026-11-25T09:59:00Z"), time.Date(0, 12, 31, 23, 1, 0, 0, time.UTC)},
		{"a clock 300 years slow is corrected exactly",
			at("1726-11-25T09:00:00Z"), at("1726-11-25T09:59:00Z"), received.Add(-59 * time.Minute)},
		{"a clock 5,000 years fast is corrected exactly, to the nanosecond",
			at("7026-11-25T09:00:00.250000001Z"), at("7026-11-25T09:00:01Z"), received.Add(-750*time.Millisecond + time.Nanosecond)},
		{"an event sent 500 years after it happened lands 500 years back",
			at("1600-01-01T00:00:00Z"), at("2100-01-01T00:00:00Z"), received.AddDate(-500, 0, 0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CorrectTimestamp(tc.original, tc.sentAt, received)
			if !got.Equal(tc.want) {
				t.Errorf("got %s, want %s", got.Format(time.RFC3339Nano), tc.want.Format(time.RFC3339Nano))
			}
		})
	}
}

func TestShiftSaturatesInsteadOfWrapping(t *testing.T) {
	far := time.Unix(maxShiftSeconds, 0)
	tests := []struct {
		name           string
		t, from, to    time.Time
		wantAfterStart bool
	}{
		{"a shift past the largest time saturates forward", time.Unix(0, 0), time.Unix(-maxShiftSeconds, 0), far, true},
		{"a shift past the smallest time saturates backward", time.Unix(0, 0), far, time.Unix(-maxShiftSeconds, 0), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := shift(tc.t, tc.from, tc.to)
			if got.After(tc.t) != tc.wantAfterStart {
				t.Errorf("shift(%s, %s, %s) = %s: wrapped", tc.t, tc.from, tc.to, got)
			}
			if InYearRange(got) {
				t.Errorf("shift gave %s, a stored year", got)
			}
		})
	}
}
