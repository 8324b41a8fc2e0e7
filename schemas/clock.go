package schemas

import "time"

// CorrectTimestamp returns when an event happened, by the server's clock.
//
// A client's clock may be off by minutes or years. What the client measures correctly is
// the time between the event and the send (sentAt − original, both by its own clock),
// and the server knows when the send arrived (receivedAt). So
//
//	timestamp = receivedAt − (sentAt − original)
//
// When sentAt is missing the client's original time is used as it is; when the original
// is missing, receivedAt. The result never lies after receivedAt: no event lands in the
// future. The result is in UTC. (A skew beyond ±292 years saturates time.Duration; the
// result is then still bounded by receivedAt.)
func CorrectTimestamp(original, sentAt *Time, receivedAt time.Time) time.Time {
	var ts time.Time
	switch {
	case original == nil || original.IsZero():
		ts = receivedAt
	case sentAt == nil || sentAt.IsZero():
		ts = original.Time
	default:
		ts = receivedAt.Add(-sentAt.Sub(original.Time))
	}
	if ts.After(receivedAt) {
		ts = receivedAt
	}
	return ts.UTC()
}
