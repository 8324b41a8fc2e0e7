package schemas

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Time // zero: rejected
	}{
		{"UTC without fraction", "2026-11-25T10:00:00Z", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
		{"UTC with milliseconds", "2026-11-25T10:00:00.123Z", time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC)},
		{"nine fractional digits", "2026-11-25T10:00:00.123456789Z", time.Date(2026, 11, 25, 10, 0, 0, 123456789, time.UTC)},
		{"an offset", "2026-11-25T11:00:00+01:00", time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)},
		{"a leap day", "2028-02-29T00:00:00Z", time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"a date without a time is rejected", "2026-11-25", time.Time{}},
		{"no zone is rejected", "2026-11-25T10:00:00", time.Time{}},
		{"a comma before the fraction is rejected", "2026-11-25T10:00:00,5Z", time.Time{}},
		{"ten fractional digits are rejected", "2026-11-25T10:00:00.1234567890Z", time.Time{}},
		{"an empty fraction is rejected", "2026-11-25T10:00:00.Z", time.Time{}},
		{"a lowercase z is rejected", "2026-11-25T10:00:00z", time.Time{}},
		{"a space instead of T is rejected", "2026-11-25 10:00:00Z", time.Time{}},
		{"30 February is rejected", "2026-02-30T10:00:00Z", time.Time{}},
		{"29 February of a common year is rejected", "2026-02-29T10:00:00Z", time.Time{}},
		{"a leap second is rejected", "2026-12-31T23:59:60Z", time.Time{}},
		{"an offset without a colon is rejected", "2026-11-25T10:00:00+0100", time.Time{}},
		{"an offset of 24 hours is rejected", "2026-11-25T10:00:00+24:00", time.Time{}},
		{"an offset of 60 minutes is rejected", "2026-11-25T10:00:00+05:60", time.Time{}},
		{"the largest offset is accepted", "2026-11-25T10:00:00-23:59", time.Date(2026, 11, 26, 9, 59, 0, 0, time.UTC)},
		{"epoch milliseconds are rejected", "1764064800000", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTime(tc.in)
			if tc.want.IsZero() {
				if err == nil {
					t.Errorf("ParseTime(%q) = %s, want an error", tc.in, got)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("ParseTime(%q) = %s, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestTimeEncodesUTCMilliseconds(t *testing.T) {
	ts := NewTime(time.Date(2026, 11, 25, 11, 0, 0, 123456789, time.FixedZone("CET", 3600)))
	b, err := json.Marshal(ts)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `"2026-11-25T10:00:00.123Z"` {
		t.Errorf("got %s", b)
	}
}

func TestTimeDecodesWhatItEncodes(t *testing.T) {
	var got struct{ T, Null *Time }
	if err := json.Unmarshal([]byte(`{"T":"2026-11-25T10:00:00.123Z","Null":null}`), &got); err != nil {
		t.Fatal(err)
	}
	if got.T == nil || !got.T.Equal(time.Date(2026, 11, 25, 10, 0, 0, 123e6, time.UTC)) || got.Null != nil {
		t.Errorf("got %+v", got)
	}
	if err := json.Unmarshal([]byte(`{"T":1764064800}`), &got); err == nil {
		t.Errorf("a number was taken for a timestamp")
	}
}

func TestTimestampsAreBoundedToTheYears0001To9999InUTC(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
	}{
		{"the first instant of year 0001 is kept", "0001-01-01T00:00:00Z", true},
		{"the last instant of year 9999 is kept", "9999-12-31T23:59:59.999Z", true},
		{"year 0000 is refused", "0000-06-01T00:00:00Z", false},
		{"an offset that moves year 0001 to year 0 in UTC is refused", "0001-01-01T00:00:00+01:00", false},
		{"an offset that moves year 9999 to year 10000 in UTC is refused", "9999-12-31T23:30:00-01:00", false},
		{"an offset that stays within year 9999 is kept", "9999-12-31T22:00:00-01:00", true},
		{"an ordinary timestamp is kept", "2026-11-25T10:00:00+05:30", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := ParseTime(tc.in)
			if err != nil {
				t.Fatalf("ParseTime(%q): %v", tc.in, err)
			}
			err = CheckYearRange("sentAt", NewTime(v))
			if tc.ok != (err == nil) {
				t.Fatalf("CheckYearRange(%s) = %v, want ok %v", tc.in, err, tc.ok)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "sentAt: ") {
				t.Errorf("error %q does not name the field", err)
			}
			if InYearRange(v) != tc.ok {
				t.Errorf("InYearRange(%s) = %v", tc.in, !tc.ok)
			}
		})
	}
	if err := CheckYearRange("timestamp", nil); err != nil {
		t.Errorf("an absent timestamp: %v", err)
	}
}
