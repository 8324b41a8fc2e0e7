package hostile

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Case is one hostile input and the answer the contract gives it.
type Case struct {
	// Group is the kind of attack (body, encoding, shape, ...); Corpus sets it.
	Group string
	// Name says what is sent, as a sentence.
	Name string
	// Req is the request of a single-request case. Run, when set, replaces it: for
	// cases of several requests or of connection behaviour.
	Req Request
	Run func(ctx context.Context, t *Target, ids IDs) Outcome
	// Want is the answer; Stored, when set, checks what the lake holds of the case's
	// events once the pipeline has settled.
	Want   Expect
	Stored func(s Stored) error
	// Background cases mostly wait (for a server timeout): they run alongside the
	// others instead of in turn.
	Background bool
	// LongOnly cases run in the long profile only; the short one lists them as not run.
	LongOnly bool
	// Unlabelled says the case's events do not all carry its messageId prefix, so the
	// lake's rows of it are not counted against the accepted events.
	Unlabelled bool

	// Number and IDs are set by Corpus.
	Number int
	IDs    IDs
}

// IDs names a case's events: messageIds starting with the case's own prefix, and its
// visitor (anonymousId), so the lake's rows of each case can be found.
type IDs struct{ Prefix string }

// Msg is the messageId of the case's i-th event.
func (ids IDs) Msg(i int) string { return ids.Prefix + strconv.Itoa(i) }

// Visitor is the case's anonymousId.
func (ids IDs) Visitor() string { return ids.Prefix + "v" }

// Request is one HTTP request to the collector.
type Request struct {
	Method string // [POST]
	Path   string // [/v1/batch]
	// Header lines, in order. The harness adds Host, Content-Type: application/json,
	// the write key as X-Write-Key, Content-Length and Connection: close, unless the case
	// sets them (or NoKey, NoContentType, NoContentLength).
	Header []Header
	Body   func(ids IDs) []byte
	// Gzip compresses the body and sets Content-Encoding: gzip.
	Gzip bool
	// Chunked sends the body with Transfer-Encoding: chunked.
	Chunked bool
	// Key is the write key to send instead of the suite's ("" for the suite's).
	Key                                   string
	NoKey, NoContentType, NoContentLength bool
	// KeepAlive leaves out Connection: close.
	KeepAlive bool
	// HalfClose closes the sending side once the request is written.
	HalfClose bool
	// Timeout bounds the wait for the answer [20s].
	Timeout time.Duration
}

// Header is one header line; one without a name is written as its value alone.
type Header struct{ Name, Value string }

// Outcome is what a case got.
type Outcome struct {
	// Status is the HTTP status, 0 when there was no answer: Closed says the server
	// closed the connection, Err says what else happened.
	Status int
	Closed bool
	Err    string
	Header http.Header
	Body   []byte
	// Latency is from the first byte sent to the answer's headers (or the close).
	Latency time.Duration
	// Accepted and Rejected come from a 200's body (summed over a multi-request case).
	Accepted int
	Rejected []Rejection
	// Detail says what a multi-request case saw, Counts how many of its requests got
	// each status.
	Detail string
	Counts map[int]int
	// At is when the request was sent.
	At time.Time
}

// Rejection is one entry of a 200's "rejected" list.
type Rejection struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// Expect is an answer the contract allows.
type Expect struct {
	// Status is the wanted HTTP status; Closed wants the connection closed without an
	// answer instead (with Status 0), or as an alternative to Status.
	Status int
	Closed bool
	// For a 200: Accepted is the accepted count (allAccepted: at least one, none
	// rejected); Rejected the rejected indexes, each with a reason matching Reason.
	Accepted int
	Rejected []int
	Reason   *regexp.Regexp
	// Error, for another status, must match the answer's body.
	Error *regexp.Regexp
	// Within bounds the latency [10s].
	Within time.Duration
	// Check is a further check of the outcome.
	Check func(o Outcome) error
	// Alt is another answer the contract allows.
	Alt *Expect
	// Note says in words what Check wants, for the table.
	Note string
}

// allAccepted as Expect.Accepted wants every event of the request accepted.
const allAccepted = -1

const defaultWithin = 10 * time.Second

// Met returns nil when o is this answer or its alternative, otherwise what differs.
func (e Expect) Met(o Outcome) error {
	err := e.met(o)
	if err != nil && e.Alt != nil && e.Alt.Met(o) == nil {
		return nil
	}
	return err
}

func (e Expect) met(o Outcome) error {
	within := e.Within
	if within == 0 {
		within = defaultWithin
	}
	switch {
	case o.Closed && e.Closed:
	case o.Status == 0:
		return fmt.Errorf("no answer (%s)", o.Summary())
	case o.Status != e.Status:
		return fmt.Errorf("status %d, want %d", o.Status, e.Status)
	}
	if o.Latency > within {
		return fmt.Errorf("answered after %s, want within %s", o.Latency.Round(time.Millisecond), within)
	}
	if o.Status == http.StatusOK && e.Status == http.StatusOK {
		if err := e.metBatch(o); err != nil {
			return err
		}
	}
	if e.Error != nil && o.Status != http.StatusOK && !e.Error.Match(o.Body) {
		return fmt.Errorf("error %q does not match /%s/", truncate(string(o.Body), 120), e.Error)
	}
	if e.Check != nil {
		return e.Check(o)
	}
	return nil
}

func (e Expect) metBatch(o Outcome) error {
	var got []int
	for _, r := range o.Rejected {
		got = append(got, r.Index)
		if e.Reason != nil && !e.Reason.MatchString(r.Reason) {
			return fmt.Errorf("event %d rejected for %q, want /%s/", r.Index, r.Reason, e.Reason)
		}
	}
	switch {
	case e.Accepted == allAccepted && (o.Accepted == 0 || len(got) > 0):
		return fmt.Errorf("accepted %d, rejected %v: want every event accepted", o.Accepted, indexList(got))
	case e.Accepted != allAccepted && o.Accepted != e.Accepted:
		return fmt.Errorf("accepted %d, want %d", o.Accepted, e.Accepted)
	case !slices.Equal(got, e.Rejected) && !(len(got) == 0 && len(e.Rejected) == 0):
		return fmt.Errorf("rejected %s, want %s", indexList(got), indexList(e.Rejected))
	}
	return nil
}

// String describes the answer for the table.
func (e Expect) String() string {
	var b strings.Builder
	switch {
	case e.Closed && e.Status == 0:
		b.WriteString("closed")
	case e.Closed:
		fmt.Fprintf(&b, "%d or closed", e.Status)
	default:
		b.WriteString(strconv.Itoa(e.Status))
	}
	if e.Status == http.StatusOK {
		if e.Accepted == allAccepted {
			b.WriteString(" all accepted")
		} else {
			fmt.Fprintf(&b, " accepted=%d", e.Accepted)
		}
		if len(e.Rejected) > 0 {
			fmt.Fprintf(&b, " rejected=%s", indexList(e.Rejected))
		}
		if e.Reason != nil {
			fmt.Fprintf(&b, " /%s/", e.Reason)
		}
	}
	if e.Error != nil {
		fmt.Fprintf(&b, " /%s/", e.Error)
	}
	if e.Note != "" {
		b.WriteString(" " + e.Note)
	}
	if e.Within != 0 {
		fmt.Fprintf(&b, " ≤%s", e.Within)
	}
	if e.Alt != nil {
		b.WriteString(", or " + e.Alt.String())
	}
	return b.String()
}

// Summary describes the outcome for the table.
func (o Outcome) Summary() string {
	var s string
	switch {
	case o.Status == http.StatusOK && o.Body != nil:
		s = fmt.Sprintf("200 accepted=%d", o.Accepted)
		if len(o.Rejected) > 0 {
			idx := make([]int, len(o.Rejected))
			for i, r := range o.Rejected {
				idx[i] = r.Index
			}
			s += fmt.Sprintf(" rejected=%s (%s)", indexList(idx), truncate(o.Rejected[0].Reason, 50))
		}
	case o.Status != 0:
		s = strconv.Itoa(o.Status)
		if len(o.Body) > 0 {
			s += " " + truncate(strings.TrimSpace(string(o.Body)), 60)
		}
	case o.Closed:
		s = "closed"
	default:
		s = "error: " + o.Err
	}
	if o.Detail != "" {
		s += "; " + o.Detail
	}
	return s
}

// indexList prints indexes compactly: [0 1 2] or [0..999].
func indexList(idx []int) string {
	if len(idx) > 4 {
		contiguous := true
		for i := range idx {
			if idx[i] != idx[0]+i {
				contiguous = false
			}
		}
		if contiguous {
			return fmt.Sprintf("[%d..%d]", idx[0], idx[len(idx)-1])
		}
		return fmt.Sprintf("%v…(%d)", idx[:4], len(idx))
	}
	return fmt.Sprint(idx)
}

func truncate(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// Answers the contract gives; the corpus files use these.

func status(code int) Expect { return Expect{Status: code} }

// ok wants a 200 with n events accepted and none rejected.
func ok(n int) Expect { return Expect{Status: http.StatusOK, Accepted: n} }

// rejected wants a 200 with accepted events accepted and the events at idx rejected,
// each for a reason matching the pattern reason.
func rejected(accepted int, reason string, idx ...int) Expect {
	return Expect{Status: http.StatusOK, Accepted: accepted, Rejected: idx, Reason: regexp.MustCompile(reason)}
}

// failed wants status with an error message matching pattern.
func failed(code int, pattern string) Expect {
	return Expect{Status: code, Error: regexp.MustCompile(pattern)}
}

// upTo returns the indexes 0..n-1.
func upTo(n int) []int {
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}
