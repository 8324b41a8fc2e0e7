package hostile

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Stored is what the lake holds of one case: the rows of the events and invalid
// tables whose messageId starts with the case's prefix, and the case's answer.
type Stored struct {
	Events  []EventRow
	Invalid []InvalidRow
	Answer  Outcome
}

// maxUserAgent is the contract's cap on a stored User-Agent, in bytes.
const maxUserAgent = 512

// CheckStored sets each result's StoredErr: a case answered with accepted events
// must have exactly that many rows in the events table, each messageId once (unless
// it is Unlabelled), and its Stored check must pass.
func CheckStored(results []Result, a *Analysis) {
	for i := range results {
		r := &results[i]
		if r.Skipped != "" {
			continue
		}
		s := Stored{Answer: r.Out}
		p := r.Case.IDs.Prefix
		for _, e := range a.Events {
			if strings.HasPrefix(e.MessageID, p) {
				s.Events = append(s.Events, e)
			}
		}
		for _, v := range a.Invalid {
			if strings.HasPrefix(v.MessageID, p) {
				s.Invalid = append(s.Invalid, v)
			}
		}
		var errs []error
		if !r.Case.Unlabelled {
			errs = append(errs, ledger(s))
		}
		if r.Case.Stored != nil {
			errs = append(errs, r.Case.Stored(s))
		}
		r.StoredErr = errors.Join(errs...)
	}
}

// ledger checks that the accepted events are in the events table, each once.
func ledger(s Stored) error {
	seen := map[string]int{}
	var twice []string
	for _, e := range s.Events {
		if seen[e.MessageID]++; seen[e.MessageID] == 2 {
			twice = append(twice, e.MessageID)
		}
	}
	switch {
	case len(seen) != s.Answer.Accepted:
		return fmt.Errorf("%d of its events in the events table, %d accepted", len(seen), s.Answer.Accepted)
	case len(twice) > 0:
		return fmt.Errorf("%d events stored more than once (%s…)", len(twice), twice[0])
	}
	return nil
}

// repaired wants the case's rows read by DuckDB, one of them holding U+FFFD where
// invalid UTF-8 was sent.
func repaired(s Stored) error {
	if err := readable(s); err != nil {
		return err
	}
	for _, e := range s.Events {
		if e.Repaired {
			return nil
		}
	}
	for _, v := range s.Invalid {
		if v.Repaired {
			return nil
		}
	}
	return errors.New("no stored text holds U+FFFD where invalid UTF-8 was sent")
}

// readable wants the case's rows, each with its text columns read by DuckDB.
func readable(s Stored) error {
	if len(s.Events)+len(s.Invalid) == 0 {
		return errors.New("no row of it in a file DuckDB reads")
	}
	for _, e := range s.Events {
		if !e.TextRead {
			return fmt.Errorf("DuckDB cannot read the text columns of %s (file %s)", e.MessageID, e.File)
		}
	}
	for _, v := range s.Invalid {
		if !v.TextRead {
			return fmt.Errorf("DuckDB cannot read the text columns of the invalid record %s (file %s)", v.MessageID, v.File)
		}
	}
	return nil
}

// storedYear wants the event stored with a timestamp in year.
func storedYear(year int) func(Stored) error {
	return func(s Stored) error {
		return eachEvent(s, func(e EventRow) error {
			if y := e.Timestamp().Year(); y != year {
				return fmt.Errorf("stored in year %d, want %d", y, year)
			}
			return nil
		})
	}
}

// storedYearsBack wants the event of a client whose sentAt is n calendar years
// ahead of its timestamp stored that skew before the time it was received:
// receivedAt − (sentAt − timestamp), computed in seconds, as time.Duration cannot
// hold more than 292 years (within a day).
func storedYearsBack(n int) func(Stored) error {
	return func(s Stored) error {
		at := s.Answer.At.UTC()
		want := time.Unix(at.Unix()-(at.AddDate(n, 0, 0).Unix()-at.Unix()), 0).UTC()
		return eachEvent(s, func(e EventRow) error {
			if d := e.Timestamp().Sub(want); d < -24*time.Hour || d > 24*time.Hour {
				return fmt.Errorf("stored at %s, want about %s", e.Timestamp().Format(time.DateOnly), want.Format(time.DateOnly))
			}
			return nil
		})
	}
}

// storedNearReceipt wants the event stored at the time it was received.
func storedNearReceipt(s Stored) error {
	return eachEvent(s, func(e EventRow) error {
		if d := e.Timestamp().Sub(s.Answer.At); d < -time.Minute || d > time.Minute {
			return fmt.Errorf("stored at %s, want the time received, %s", e.Timestamp().Format(time.RFC3339), s.Answer.At.UTC().Format(time.RFC3339))
		}
		return nil
	})
}

// ifAccepted applies check when the case's events were accepted.
func ifAccepted(check func(Stored) error) func(Stored) error {
	return func(s Stored) error {
		if s.Answer.Accepted == 0 {
			return nil
		}
		return check(s)
	}
}

// userAgentCapped wants every stored User-Agent at most maxUserAgent bytes.
func userAgentCapped(s Stored) error {
	if len(s.Events)+len(s.Invalid) == 0 {
		return errors.New("no row of it in a file DuckDB reads")
	}
	for _, e := range s.Events {
		if e.UserAgentBytes > maxUserAgent {
			return fmt.Errorf("event %s stored with a User-Agent of %d bytes, want at most %d", e.MessageID, e.UserAgentBytes, maxUserAgent)
		}
	}
	for _, v := range s.Invalid {
		if v.UserAgentBytes > maxUserAgent {
			return fmt.Errorf("invalid record %s stored with a User-Agent of %d bytes, want at most %d", v.MessageID, v.UserAgentBytes, maxUserAgent)
		}
	}
	return nil
}

// requestIDReplaced wants the invalid records stored with a request id of the
// collector's own (1 to 128 bytes of printable ASCII), not sent.
func requestIDReplaced(sent string) func(Stored) error {
	return func(s Stored) error {
		return eachInvalid(s, func(v InvalidRow) error {
			if v.RequestIDBytes == len(sent) && strings.HasPrefix(sent, v.RequestID) {
				return fmt.Errorf("stored with the request id sent (%d bytes)", v.RequestIDBytes)
			}
			return validRequestID(v)
		})
	}
}

// requestIDKept wants the invalid records stored with the request id sent.
func requestIDKept(sent string) func(Stored) error {
	return func(s Stored) error {
		return eachInvalid(s, func(v InvalidRow) error {
			if v.RequestID != sent {
				return fmt.Errorf("stored with request id %q, want the one sent, %q", v.RequestID, sent)
			}
			return nil
		})
	}
}

func validRequestID(v InvalidRow) error {
	if v.RequestIDBytes < 1 || v.RequestIDBytes > 128 {
		return fmt.Errorf("stored request id of %d bytes, want 1 to 128", v.RequestIDBytes)
	}
	for _, c := range []byte(v.RequestID) {
		if c < 0x21 || c > 0x7e {
			return fmt.Errorf("stored request id %q is not printable ASCII", v.RequestID)
		}
	}
	return nil
}

func eachEvent(s Stored, check func(EventRow) error) error {
	if len(s.Events) == 0 {
		return errors.New("not in the events table")
	}
	for _, e := range s.Events {
		if err := check(e); err != nil {
			return fmt.Errorf("event %s %w", e.MessageID, err)
		}
	}
	return nil
}

func eachInvalid(s Stored, check func(InvalidRow) error) error {
	if len(s.Invalid) == 0 {
		return errors.New("no record of its rejected events in the invalid table")
	}
	for _, v := range s.Invalid {
		if err := check(v); err != nil {
			return fmt.Errorf("invalid record %s: %w", v.MessageID, err)
		}
	}
	return nil
}
