package schemas

import (
	"errors"
	"time"
)

// Time is an RFC 3339 timestamp: YYYY-MM-DDTHH:MM:SS, optional fractional seconds of one
// to nine digits, then Z or an offset ±HH:MM. It is encoded in UTC with millisecond
// precision. Accepting exactly what envelope.json's timestamp pattern accepts, it is
// stricter than time.Parse (no comma before the fraction, no lowercase t or z, no more
// than nine fractional digits).
type Time struct{ time.Time }

// NewTime returns t as a *Time.
func NewTime(t time.Time) *Time { return &Time{t} }

// errTimestamp is the reason a timestamp is rejected; the decoder adds the field.
const errTimestamp = "must be an RFC 3339 timestamp"

// MinYear and MaxYear bound the year, in UTC, of every timestamp the pipeline stores:
// RFC 3339, the stored encoding (MarshalJSON) and Parquet readers take four-digit years
// only. An offset can move a timestamp written in year 0001 or 9999 past them
// ("0001-01-01T00:00:00+01:00" is in year 0 in UTC).
const (
	MinYear = 1
	MaxYear = 9999
)

// errYearRange is the reason a timestamp outside MinYear..MaxYear is rejected.
const errYearRange = "must lie in the years 0001 to 9999 in UTC"

// InYearRange reports whether t, in UTC, lies in the years MinYear to MaxYear.
func InYearRange(t time.Time) bool {
	y := t.UTC().Year()
	return y >= MinYear && y <= MaxYear
}

// CheckYearRange returns a *ValidationError naming field when t is set and outside the
// years MinYear to MaxYear in UTC, and nil otherwise.
func CheckYearRange(field string, t *Time) error {
	if t == nil || InYearRange(t.Time) {
		return nil
	}
	return invalid(field, errYearRange)
}

// ParseTime parses s as Time does: RFC 3339, fractional seconds optional.
func ParseTime(s string) (time.Time, error) {
	if !rfc3339Shape(s) {
		return time.Time{}, errors.New(errTimestamp)
	}
	t, err := time.Parse(time.RFC3339Nano, s) // ranges: month, day of month, hour, offset
	if err != nil {
		return time.Time{}, errors.New(errTimestamp)
	}
	return t, nil
}

// rfc3339Shape reports whether s has the layout of an RFC 3339 date-time with an
// uppercase T and Z, a dot before the fraction, at most nine fractional digits and an
// offset within ±23:59. time.Parse checks the ranges of the other parts.
func rfc3339Shape(s string) bool {
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(layout)+1 {
		return false
	}
	for i := range len(layout) {
		if layout[i] == 'd' {
			if !isDigit(s[i]) {
				return false
			}
		} else if s[i] != layout[i] {
			return false
		}
	}
	i := len(layout)
	if s[i] == '.' {
		j := i + 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		if n := j - i - 1; n < 1 || n > 9 {
			return false
		}
		i = j
	}
	zone := s[i:]
	if zone == "Z" {
		return true
	}
	// time.Parse takes offsets up to +99:59; RFC 3339 and envelope.json up to ±23:59.
	return len(zone) == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':' &&
		isDigit(zone[1]) && isDigit(zone[2]) && isDigit(zone[4]) && isDigit(zone[5]) &&
		(zone[1] < '2' || zone[1] == '2' && zone[2] <= '3') && zone[4] <= '5'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// UnmarshalJSON parses an RFC 3339 string; null leaves t unchanged.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := decodeString("", b, &s); err != nil {
		return errors.New(errTimestamp)
	}
	parsed, err := ParseTime(s)
	if err != nil {
		return err
	}
	t.Time = parsed
	return nil
}

// MarshalJSON encodes UTC with milliseconds: 2026-11-25T06:45:00.123Z.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 26)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	return append(b, '"'), nil
}
