package collector

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/clicktrail/clicktrail/schemas"
)

// Bounds of what the collector takes from request headers. The server refuses a header
// block over maxHeaderBytes with 431 before any handler runs; within it, each value the
// collector keeps is capped, so a request's cost does not follow its headers.
const (
	// maxHeaderBytes is http.Server.MaxHeaderBytes: a larger header block is answered
	// 431 by net/http itself. Browsers send 1 to 2 KB.
	maxHeaderBytes = 64 << 10
	// maxUserAgentBytes is the longest User-Agent kept, parsed and stored: real ones
	// are 100 to 300 bytes.
	maxUserAgentBytes = 512
	// maxRequestIDBytes is the longest X-Request-Id kept; a longer one, or one that is
	// not printable ASCII, is replaced by an id of the collector's own.
	maxRequestIDBytes = 128
)

// requestHeaders are the values a request's headers contribute to what is stored,
// read and checked once per request. Every message of the request shares these
// strings; none is copied per event.
type requestHeaders struct {
	// userAgent is the User-Agent header cut to maxUserAgentBytes on a character
	// boundary, invalid UTF-8 replaced.
	userAgent string
	// requestID is X-Request-Id when it is 1 to maxRequestIDBytes bytes of printable
	// ASCII, otherwise a generated UUID.
	requestID string
	// traceparent is the W3C traceparent header when well-formed, otherwise "".
	traceparent string
}

// readHeaders takes the request's headers as requestHeaders, counting what it had to
// cut, replace or drop.
func readHeaders(h http.Header, m *metrics) requestHeaders {
	var out requestHeaders
	ua := h.Get("User-Agent")
	if len(ua) > maxUserAgentBytes {
		m.headersCapped.WithLabelValues("user_agent").Inc()
	}
	var repaired bool
	out.userAgent, repaired = schemas.TruncateUTF8(ua, maxUserAgentBytes)
	if repaired {
		m.utf8Repaired.WithLabelValues("user_agent").Inc()
	}
	if id := h.Get("X-Request-Id"); validRequestID(id) {
		out.requestID = id
	} else {
		if id != "" {
			m.headersCapped.WithLabelValues("x_request_id").Inc()
		}
		out.requestID = uuid.NewString()
	}
	if tp := h.Get("traceparent"); validTraceparent(tp) {
		out.traceparent = tp
	} else if tp != "" {
		m.headersCapped.WithLabelValues("traceparent").Inc()
	}
	return out
}

// validRequestID reports whether id is 1 to maxRequestIDBytes bytes of printable ASCII.
func validRequestID(id string) bool {
	if len(id) == 0 || len(id) > maxRequestIDBytes {
		return false
	}
	for i := range len(id) {
		if id[i] < 0x20 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// validTraceparent reports whether tp is a W3C Trace Context traceparent as version 00
// defines it, ^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$, with a version other
// than ff and trace and parent ids that are not all zeros.
func validTraceparent(tp string) bool {
	const (
		traceStart, traceEnd   = 3, 35
		parentStart, parentEnd = 36, 52
		length                 = 55
	)
	if len(tp) != length || tp[2] != '-' || tp[traceEnd] != '-' || tp[parentEnd] != '-' {
		return false
	}
	for i := range length {
		if i == 2 || i == traceEnd || i == parentEnd {
			continue
		}
		if c := tp[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return tp[:2] != "ff" && !allZeros(tp[traceStart:traceEnd]) && !allZeros(tp[parentStart:parentEnd])
}

func allZeros(s string) bool {
	for i := range len(s) {
		if s[i] != '0' {
			return false
		}
	}
	return true
}
