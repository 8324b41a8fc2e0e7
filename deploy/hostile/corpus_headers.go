package hostile

import (
	"fmt"
	"strings"
)

// headerCases: oversized header blocks (431), long User-Agent, X-Request-Id and
// traceparent values (kept truncated, replaced or dropped: the request succeeds), and
// malformed header lines net/http refuses itself.
func headerCases() []*Case {
	h := func(name, value string) []Header { return []Header{{name, value}} }
	kb := func(n int, c string) string { return strings.Repeat(c, n<<10) }
	ua := "Mozilla/5.0 (X11; Linux x86_64) " + kb(60, "a")
	noUser := func(ids IDs, i int) string {
		return obj(m("type", `"track"`), m("event", `"x"`), m("messageId", str(ids.Msg(i))))
	}
	withRejected := func(ids IDs) []byte { return batch(ids.track(0), noUser(ids, 1)) }
	rid128 := strings.Repeat("r", 120) + "-0123456"
	many := func() []Header {
		hs := make([]Header, 1000)
		for i := range hs {
			hs[i] = Header{fmt.Sprintf("X-Filler-%04d", i), strings.Repeat("f", 64)}
		}
		return hs
	}
	xff := func() string {
		a := make([]string, 3000)
		for i := range a {
			a[i] = fmt.Sprintf("10.%d.%d.1", i/250, i%250)
		}
		return strings.Join(a, ", ")
	}
	return []*Case{
		{Name: "a 100 KB User-Agent", Req: Request{Header: h("User-Agent", kb(100, "u")), Body: one()}, Want: status(431)},
		{Name: "a 100 KB X-Request-Id", Req: Request{Header: h("X-Request-Id", kb(100, "r")), Body: one()}, Want: status(431)},
		{Name: "a header block of 80 KB in 1,000 small headers", Req: Request{Header: many(), Body: one()}, Want: status(431)},
		{Name: "a 1 MB Cookie header", Req: Request{Header: h("Cookie", "c="+kb(1024, "c")), Body: one()}, Want: status(431)},
		{Name: "a 60 KB User-Agent on 1,000 rejected events is kept truncated to 512 bytes", Req: Request{Header: h("User-Agent", ua), Body: func(ids IDs) []byte {
			evs := make([]string, 1000)
			for i := range evs {
				evs[i] = noUser(ids, i)
			}
			return batch(evs...)
		}}, Want: rejected(0, "^userId", upTo(1000)...), Stored: userAgentCapped},
		{Name: "a 60 KB User-Agent on 500 events", Req: Request{Header: h("User-Agent", ua), Body: func(ids IDs) []byte { return batch(ids.tracks(500)...) }},
			Want: ok(500), Stored: userAgentCapped},
		{Name: "a 60 KB X-Request-Id on 500 events is replaced by the collector's own", Req: Request{Header: h("X-Request-Id", kb(60, "r")), Body: func(ids IDs) []byte {
			return batch(append(ids.tracks(499), noUser(ids, 499))...)
		}}, Want: rejected(499, "^userId", 499), Stored: requestIDReplaced(kb(60, "r"))},
		{Name: "an X-Request-Id of non-ASCII bytes is replaced", Req: Request{Header: h("X-Request-Id", "id-\xe9\xff"), Body: withRejected},
			Want: rejected(1, "^userId", 1), Stored: requestIDReplaced("id-\xe9\xff")},
		{Name: "an X-Request-Id of 129 characters is replaced", Req: Request{Header: h("X-Request-Id", rid128+"9"), Body: withRejected},
			Want: rejected(1, "^userId", 1), Stored: requestIDReplaced(rid128 + "9")},
		{Name: "an X-Request-Id of 128 printable characters is kept", Req: Request{Header: h("X-Request-Id", rid128), Body: withRejected},
			Want: rejected(1, "^userId", 1), Stored: requestIDKept(rid128)},
		{Name: "a User-Agent of Latin-1 bytes is stored as valid UTF-8", Req: Request{Header: h("User-Agent", "Mozilla/5.0 (Stra\xdfe; \xe9t\xe9)"), Body: withRejected},
			Want: rejected(1, "^userId", 1), Stored: repaired},
		{Name: "a 60 KB traceparent is dropped, the events accepted", Req: Request{Header: h("traceparent", "00-"+kb(60, "a")), Body: one()}, Want: ok(1)},
		{Name: "a traceparent of version ff is dropped, the events accepted", Req: Request{
			Header: h("traceparent", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), Body: one()}, Want: ok(1)},
		{Name: "a traceparent with an all-zero trace id is dropped, the events accepted", Req: Request{
			Header: h("traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"), Body: one()}, Want: ok(1)},
		{Name: "a traceparent of invalid UTF-8 is dropped, the events accepted", Req: Request{Header: h("traceparent", "00-\xff\xfe-01"), Body: one()}, Want: ok(1)},
		{Name: "a valid traceparent is accepted", Req: Request{
			Header: h("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), Body: one()}, Want: ok(1)},
		{Name: "X-Forwarded-For with 3,000 addresses is accepted", Req: Request{Header: h("X-Forwarded-For", xff()), Body: one()}, Want: ok(1)},
		{Name: "Expect: 100-continue is accepted", Req: Request{Header: h("Expect", "100-continue"), Body: one()}, Want: ok(1)},
		{Name: "a NUL byte in a header value", Req: Request{Header: h("User-Agent", "a\x00b"), Body: one()}, Want: status(400)},
		{Name: "a header name with a space", Req: Request{Header: h("User Agent", "x"), Body: one()}, Want: status(400)},
		{Name: "a header line without a colon", Req: Request{Header: h("", "NoColonHere"), Body: one()}, Want: status(400)},
		{Name: "two Content-Length headers that differ", Req: Request{Header: h("Content-Length", "5"), Body: one()}, Want: status(400)},
		{Name: "an unsupported Transfer-Encoding", Req: Request{Header: h("Transfer-Encoding", "gzip, chunked"), NoContentLength: true, Body: one()},
			Want: status(501)},
		{Name: "a 10 KB Origin", Req: Request{Header: h("Origin", "https://"+kb(10, "o")+".example"), Body: one()}, Want: failed(403, "origin")},
	}
}
