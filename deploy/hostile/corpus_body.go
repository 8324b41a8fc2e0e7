package hostile

import (
	"net/http"
	"strings"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// bodyCases: empty, huge and exactly-at-the-limit bodies, compression bombs and
// broken compression, content types, and bodies shorter than they say.
func bodyCases() []*Case {
	const limit = schemas.MaxRequestBytes
	return []*Case{
		{Name: "an empty body", Req: Request{Body: raw("")}, Want: failed(400, "malformed body")},
		{Name: "a body of only whitespace", Req: Request{Body: raw("  \r\n\t ")}, Want: failed(400, "malformed body")},
		{Name: "a body of exactly 500 KB is accepted", Req: Request{Body: func(ids IDs) []byte { return padded(ids, limit) }},
			Want: ok(allAccepted)},
		{Name: "a body one byte over 500 KB", Req: Request{Body: func(ids IDs) []byte { return padded(ids, limit+1) }},
			Want: failed(413, "too large")},
		{Name: "a 10 MB body is refused without being read whole", Req: Request{Body: func(ids IDs) []byte { return padded(ids, 10<<20) }},
			Want: Expect{Status: 413, Within: 5 * time.Second}},
		{Name: "a gzip bomb of 100 MB of zeros in about 100 KB", Req: Request{Body: func(IDs) []byte { return gzipZeros(100 << 20) },
			Header: []Header{{"Content-Encoding", "gzip"}}}, Want: failed(413, "after decompression")},
		{Name: "a gzip body that inflates to a valid batch of 600 KB", Req: Request{Gzip: true, Body: func(ids IDs) []byte { return padded(ids, 600<<10) }},
			Want: failed(413, "after decompression")},
		{Name: "a gzip body that inflates to exactly 500 KB is accepted", Req: Request{Gzip: true, Body: func(ids IDs) []byte { return padded(ids, limit) }},
			Want: ok(allAccepted)},
		{Name: "a gzip body of a valid batch is accepted", Req: Request{Gzip: true, Body: func(ids IDs) []byte { return batch(ids.tracks(3)...) }},
			Want: ok(3)},
		{Name: "a truncated gzip body", Req: Request{Header: []Header{{"Content-Encoding", "gzip"}}, Body: func(ids IDs) []byte {
			z := gzipped(batch(ids.tracks(50)...))
			return z[:len(z)/2]
		}}, Want: status(400)},
		{Name: "a body labelled gzip that is not gzip", Req: Request{Header: []Header{{"Content-Encoding", "gzip"}}, Body: one()},
			Want: failed(400, "gzip")},
		{Name: "a gzip body inside a gzip body", Req: Request{Gzip: true, Body: func(ids IDs) []byte { return gzipped(batch(ids.track(0))) }},
			Want: failed(400, "malformed body")},
		{Name: "a gzip body with a valid batch then trailing garbage", Req: Request{Header: []Header{{"Content-Encoding", "gzip"}}, Body: func(ids IDs) []byte {
			return append(gzipped(batch(ids.track(0))), "garbage after the gzip stream"...)
		}}, Want: status(400)},
		{Name: "Content-Encoding br", Req: Request{Header: []Header{{"Content-Encoding", "br"}}, Body: one()},
			Want: failed(415, "content encoding")},
		{Name: "Content-Encoding deflate", Req: Request{Header: []Header{{"Content-Encoding", "deflate"}}, Body: one()},
			Want: failed(415, "content encoding")},
		{Name: "Content-Type application/xml", Req: Request{Header: []Header{{"Content-Type", "application/xml"}}, Body: one()},
			Want: failed(415, "content type")},
		{Name: "a text/plain body, as sendBeacon sends, is accepted", Req: Request{Header: []Header{{"Content-Type", "text/plain;charset=UTF-8"}}, Body: one()},
			Want: ok(1)},
		{Name: "no Content-Type at all is accepted", Req: Request{NoContentType: true, Body: one()}, Want: ok(1)},
		{Name: "a Content-Length of 1,000 with 10 bytes sent, then the client stops sending", Req: Request{
			NoContentLength: true, HalfClose: true, Header: []Header{{"Content-Length", "1000"}}, Body: raw(`{"batch":[`)},
			Want: Expect{Status: 400, Closed: true}},
		{Name: "a declared Content-Length of 1 GB with 100 bytes sent", Req: Request{
			NoContentLength: true, HalfClose: true, Header: []Header{{"Content-Length", "1000000000"}}, Body: raw(`{"batch":[` + strings.Repeat(" ", 90))},
			Want: Expect{Status: 400, Closed: true}},
		{Name: "a chunked body over 500 KB", Req: Request{Chunked: true, NoContentLength: true, Body: func(ids IDs) []byte { return padded(ids, 700<<10) }},
			Want: failed(413, "too large")},
		{Name: "a chunked body of a valid batch is accepted", Req: Request{Chunked: true, Body: func(ids IDs) []byte { return batch(ids.tracks(2)...) }},
			Want: ok(2)},
		{Name: "GET on /v1/batch", Req: Request{Method: http.MethodGet, Body: raw("")}, Want: status(404)},
		{Name: "PUT on /v1/batch", Req: Request{Method: http.MethodPut, Body: one()}, Want: status(404)},
		{Name: "POST to an unknown endpoint", Req: Request{Path: "/v1/pageview", Body: one()}, Want: status(404)},
		{Name: "POST to a path of 8 KB", Req: Request{Path: "/v1/" + strings.Repeat("a", 8<<10), Body: one()}, Want: status(404)},
	}
}
