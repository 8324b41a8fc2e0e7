package schemas

import (
	"math"
	"time"
)

// CorrectTimestamp returns when an event happened, by the server's clock.
//
// A client's clock may be off by minutes or years. What the client measures correctly is
// the time between the event and the send (sentAt − original, both by its own clock),
// and the server knows when the send arrived (receivedAt). So
//
//	timestamp = receivedAt − (sentAt − original)
//
// When sentAt is missing (nil) the client's original time is used as it is; when the
// original is missing, receivedAt. (0001-01-01T00:00:00Z is a time a client may send,
// not a missing one.) The result never lies after receivedAt: no event lands in the
// future. The result is in UTC. The skew is computed in seconds, not as a
// time.Duration (which holds ±292 years only and would saturate), so a client clock
// any number of centuries off gives the exact result; whether that result is a year
// the pipeline stores is InYearRange's to say.
func CorrectTimestamp(original, sentAt *Time, receivedAt time.Time) time.Time {
	var ts time.Time
	switch {
	case original == nil:
		ts = receivedAt
	case sentAt == nil:
		ts = original.Time
	default:
		ts = shift(receivedAt, sentAt.Time, original.Time)
	}
	if ts.After(receivedAt) {
		ts = receivedAt
	}
	return ts.UTC()
}

// maxShiftSeconds bounds the seconds shift computes with: about 36 billion years,
// far beyond any year stored and far inside what time.Time holds, so that no sum
// below overflows and time.Unix never wraps.
const maxShiftSeconds = 1 << 60

// shift returns t + (to − from), by seconds and nanoseconds since the Unix epoch with
// saturating arithmetic: no intermediate value can overflow, whatever the inputs.
func shift(t, from, to time.Time) time.Time {
	sec := satAdd(clampSeconds(t.Unix()), satAdd(clampSeconds(to.Unix()), -clampSeconds(from.Unix())))
	nsec := int64(t.Nanosecond()) + int64(to.Nanosecond()) - int64(from.Nanosecond()) // in (−1e9, 2e9)
	if nsec < 0 {
		sec, nsec = sec-1, nsec+1e9
	} else if nsec >= 1e9 {
		sec, nsec = sec+1, nsec-1e9
	}
	return time.Unix(clampSeconds(sec), nsec)
}

// satAdd returns a + b, saturated at the ends of int64 instead of wrapping.
func satAdd(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

func clampSeconds(s int64) int64 { return max(-maxShiftSeconds, min(s, maxShiftSeconds)) }
