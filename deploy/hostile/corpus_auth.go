package hostile

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// The suite's sources (see SourcesYAML).
const (
	suiteWriteKey   = "hostile-write"
	suiteReadKey    = "hostile-read"
	limitedWriteKey = "hostile-limited"
	allowedOrigin   = "https://shop.example"
)

// authCases: write keys missing, unknown or passed every way the collector reads them
// (X-Write-Key, Basic auth user name, the body), and CORS: origins allowed or not,
// preflights.
func authCases() []*Case {
	basic := func(userPass string) []Header {
		return []Header{{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))}}
	}
	inBody := func(key string) func(IDs) []byte {
		return func(ids IDs) []byte {
			return []byte(`{"writeKey":` + str(key) + `,"batch":` + arr(ids.track(0)) + `}`)
		}
	}
	origin := func(o string) []Header { return []Header{{"Origin", o}} }
	preflight := func(hs ...Header) Request {
		return Request{Method: http.MethodOptions, NoKey: true, NoContentType: true,
			Header: append(hs, Header{"Access-Control-Request-Method", "POST"})}
	}
	allows := func(o Outcome) error {
		if got := o.Header.Get("Access-Control-Allow-Origin"); got != allowedOrigin {
			return fmt.Errorf("Access-Control-Allow-Origin %q, want %q", got, allowedOrigin)
		}
		return nil
	}
	const unauthorized = "write key"
	return []*Case{
		{Name: "an unknown write key", Req: Request{Key: "nope", Body: one()}, Want: failed(401, unauthorized)},
		{Name: "no write key at all", Req: Request{NoKey: true, Body: one()}, Want: failed(401, unauthorized)},
		{Name: "the write key in the body is accepted", Req: Request{NoKey: true, Body: inBody(suiteWriteKey)}, Want: ok(1)},
		{Name: "the write key as the Basic auth user name is accepted", Req: Request{Header: basic(suiteWriteKey + ":"), Body: one()}, Want: ok(1)},
		{Name: "the write key as Basic auth with a password is accepted", Req: Request{Header: basic(suiteWriteKey + ":secret"), Body: one()}, Want: ok(1)},
		{Name: "the write key as a Bearer token", Req: Request{Header: []Header{{"Authorization", "Bearer " + suiteWriteKey}}, Body: one()},
			Want: failed(401, unauthorized)},
		{Name: "a malformed Basic auth header", Req: Request{Header: []Header{{"Authorization", "Basic %%%not-base64"}}, Body: one()},
			Want: failed(401, unauthorized)},
		{Name: "a 10 KB write key", Req: Request{Key: strings.Repeat("k", 10<<10), Body: one()}, Want: failed(401, unauthorized)},
		{Name: "a wrong X-Write-Key with the right key in the body", Req: Request{Key: "nope", Body: inBody(suiteWriteKey)}, Want: failed(401, unauthorized)},
		{Name: "the write key in capitals", Req: Request{Key: strings.ToUpper(suiteWriteKey), Body: one()}, Want: failed(401, unauthorized)},
		{Name: "the write key in the body with a trailing space", Req: Request{NoKey: true, Body: inBody(suiteWriteKey + " ")}, Want: failed(401, unauthorized)},
		{Name: "a write key in the body that is a number", Req: Request{NoKey: true, Body: func(ids IDs) []byte {
			return []byte(`{"writeKey":1,"batch":` + arr(ids.track(0)) + `}`)
		}}, Want: status(400)},
		{Name: "an origin that is not allowed", Req: Request{Header: origin("https://evil.example"), Body: one()}, Want: failed(403, "origin")},
		{Name: "an allowed origin gets its CORS headers", Req: Request{Header: origin(allowedOrigin), Body: one()},
			Want: Expect{Status: 200, Accepted: 1, Check: allows, Note: "with Access-Control-Allow-Origin"}},
		{Name: "an unknown write key from an allowed origin is readable by the page", Req: Request{Key: "nope", Header: origin(allowedOrigin), Body: one()},
			Want: Expect{Status: 401, Check: allows, Note: "with Access-Control-Allow-Origin"}},
		{Name: "an allowed origin with a trailing slash", Req: Request{Header: origin(allowedOrigin + "/"), Body: one()}, Want: failed(403, "origin")},
		{Name: "Origin: null", Req: Request{Header: origin("null"), Body: one()}, Want: failed(403, "origin")},
		{Name: "a preflight from an allowed origin", Req: preflight(Header{"Origin", allowedOrigin}),
			Want: Expect{Status: 204, Check: allows, Note: "with Access-Control-Allow-Origin"}},
		{Name: "a preflight from an unknown origin", Req: preflight(Header{"Origin", "https://evil.example"}), Want: status(403)},
		{Name: "a preflight without an Origin", Req: preflight(), Want: status(403)},
	}
}
