package hostile

import (
	"strings"
	"time"
)

// shapeCases: deep nesting, wrong types, duplicate keys, huge arrays, batches of 0 and
// of too many events, and bodies that are not an object.
func shapeCases() []*Case {
	fast := 2 * time.Second
	return []*Case{
		{Name: "an event nested 32 levels deep is accepted", Req: Request{Body: one(m("properties", nested(31)))}, Want: ok(1)},
		{Name: "an event nested 33 levels deep", Req: Request{Body: one(m("properties", nested(32)))}, Want: failed(400, "nested deeper")},
		{Name: "a body of arrays nested 100,000 levels deep", Req: Request{Body: raw(strings.Repeat("[", 100000) + strings.Repeat("]", 100000))},
			Want: Expect{Status: 400, Within: fast}},
		{Name: "an unclosed body of objects nested 100,000 levels deep", Req: Request{Body: raw(`{"batch":` + strings.Repeat(`{"a":`, 100000))},
			Want: Expect{Status: 400, Within: fast}},
		{Name: "type is a number", Req: Request{Body: one(m("type", "1"))}, Want: rejected(0, "^type", 0)},
		{Name: "anonymousId is an object", Req: Request{Body: one(m("anonymousId", `{"id":"x"}`))}, Want: rejected(0, "^anonymousId", 0)},
		{Name: "messageId is true", Req: Request{Body: one(m("messageId", "true"))}, Want: rejected(0, "^messageId", 0)},
		{Name: "properties is an array", Req: Request{Body: one(m("properties", "[1,2]"))}, Want: rejected(0, "^properties", 0)},
		{Name: "context is a string", Req: Request{Body: one(m("context", `"ctx"`))}, Want: rejected(0, "^context", 0)},
		{Name: "context.page is an array", Req: Request{Body: one(m("context", obj(m("page", "[]"))))}, Want: rejected(0, `^context\.page`, 0)},
		{Name: "timestamp is a number", Req: Request{Body: one(m("timestamp", "1700000000"))}, Want: rejected(0, "^timestamp", 0)},
		{Name: "context.screen.width is a string", Req: Request{Body: one(m("context", obj(m("screen", obj(m("width", `"1920"`))))))},
			Want: rejected(0, `^context\.screen\.width`, 0)},
		{Name: "batch is an object", Req: Request{Body: raw(`{"batch":{"0":{}}}`)}, Want: failed(400, "batch")},
		{Name: "batch elements that are a number, a string, null and true", Unlabelled: true, Req: Request{Body: raw(`{"batch":[1,"x",null,true]}`)},
			Want: rejected(0, "JSON object", 0, 1, 2, 3)},
		{Name: "duplicate keys in an event: the last counts", Req: Request{Body: one(m("type", `"identify"`), m("type", `"track"`))}, Want: ok(1)},
		{Name: "a wrong type hidden by a later duplicate key", Req: Request{Body: func(ids IDs) []byte {
			return batch(ids.track(0, m("anonymousId", "[1]"), m("anonymousId", str(ids.Visitor()))))
		}}, Want: ok(1)},
		{Name: "duplicate batch keys: the last counts", Req: Request{Body: func(ids IDs) []byte {
			return []byte(`{"batch":[1],"batch":` + arr(ids.track(0)) + `}`)
		}}, Want: ok(1)},
		{Name: "the key BATCH in capitals (encoding/json folds case)", Req: Request{Body: func(ids IDs) []byte {
			return []byte(`{"BATCH":` + arr(ids.track(0)) + `}`)
		}}, Want: ok(1)},
		{Name: "a property array of 8,000 numbers", Req: Request{Body: one(m("properties", obj(m("a", "["+strings.Repeat("1,", 7999)+"1]"))))}, Want: ok(1)},
		{Name: "an empty batch", Req: Request{Body: raw(`{"batch":[]}`)}, Want: failed(400, "non-empty")},
		{Name: "a body without a batch", Req: Request{Body: raw(`{"events":[]}`)}, Want: failed(400, "non-empty")},
		{Name: "a batch of 2,500 events is accepted", Req: Request{Body: func(ids IDs) []byte { return batch(ids.tracks(2500)...) }}, Want: ok(2500)},
		{Name: "a batch of 2,501 events", Req: Request{Body: func(ids IDs) []byte { return batch(ids.tracks(2501)...) }},
			Want: failed(413, "too many events")},
		{Name: "a batch of 100,000 tiny elements", Req: Request{Body: raw(`{"batch":[` + strings.Repeat("0,", 99999) + `0]}`)},
			Want: failed(413, "too many events")},
		{Name: "a top-level array", Req: Request{Body: func(ids IDs) []byte { return []byte(arr(ids.track(0))) }}, Want: failed(400, "JSON object")},
		{Name: "a top-level string", Req: Request{Body: raw(`"batch"`)}, Want: failed(400, "JSON object")},
		{Name: "a top-level null", Req: Request{Body: raw(`null`)}, Want: failed(400, "non-empty")},
		{Name: "a top-level number", Req: Request{Body: raw(`1e999`)}, Want: status(400)},
		{Name: "trailing garbage after the body", Req: Request{Body: func(ids IDs) []byte { return append(batch(ids.track(0)), "x"...) }},
			Want: failed(400, "malformed body")},
		{Name: "two bodies back to back", Req: Request{Body: func(ids IDs) []byte { return append(batch(ids.track(0)), batch(ids.track(1))...) }},
			Want: failed(400, "malformed body")},
		{Name: "/v1/track with a valid event is accepted", Req: Request{Path: "/v1/track", Body: func(ids IDs) []byte { return []byte(ids.track(0)) }},
			Want: ok(1)},
		{Name: "/v1/track with an array body", Req: Request{Path: "/v1/track", Body: func(ids IDs) []byte { return []byte(arr(ids.track(0))) }},
			Want: failed(400, "JSON object")},
		{Name: "/v1/page with a null body", Req: Request{Path: "/v1/page", Body: raw("null")}, Want: failed(400, "JSON object")},
		{Name: "/v1/identify with a body nested 40 levels deep", Req: Request{Path: "/v1/identify", Body: raw(nested(40))},
			Want: failed(400, "nested deeper")},
		{Name: "an event over 32 KB is rejected and the rest accepted", Req: Request{Body: func(ids IDs) []byte {
			return batch(ids.sized(0, 33000), ids.track(1))
		}}, Want: rejected(1, "larger than 32768", 0)},
		{Name: "an event of exactly 32 KB is accepted", Req: Request{Body: func(ids IDs) []byte { return batch(ids.sized(0, 32<<10)) }}, Want: ok(1)},
		{Name: "a batch mixing valid and invalid events", Req: Request{Body: func(ids IDs) []byte {
			return batch(ids.track(0), obj(m("type", `"track"`), m("event", `"x"`), m("messageId", str(ids.Msg(1)))), ids.track(2), ids.track(3, m("type", `"bogus"`)))
		}}, Want: rejected(2, "userId|type", 1, 3)},
		{Name: "a track event without a name", Req: Request{Body: one(m("event", `""`))}, Want: rejected(0, "^event", 0)},
		{Name: "an alias without previousId", Req: Request{Body: one(m("type", `"alias"`))}, Want: rejected(0, "^previousId", 0)},
		{Name: "a group without groupId", Req: Request{Body: one(m("type", `"group"`))}, Want: rejected(0, "^groupId", 0)},
	}
}
