package hostile

import (
	"strings"
	"unicode/utf16"
)

// encodingCases: invalid UTF-8 in every field group (the contract: replaced by U+FFFD
// at ingest, the event still accepted, every stored text valid UTF-8), overlong and
// out-of-range sequences, escaped lone surrogates, NUL bytes and byte-order marks.
func encodingCases() []*Case {
	// bad holds each kind of invalid UTF-8 once.
	const bad = "\xff\xfe|\xc0\xaf|\xed\xa0\x80|\xf8\x88\x80\x80\x80|\xf4\x90\x80\x80|\xe2\x82"
	everyGroup := func(ids IDs, i int) string {
		return obj(m("type", `"track"`), m("event", str("e"+bad)), m("anonymousId", str(ids.Visitor()+bad)),
			m("userId", str("u"+bad)), m("messageId", str(ids.Msg(i)+bad)),
			m("context", obj(m("page", obj(m("path", str("/p"+bad)), m("url", str("https://shop.example/"+bad)),
				m("title", str(bad)), m("referrer", str("https://r.example/"+bad)))),
				m("campaign", obj(m("source", str("s"+bad)))), m("library", obj(m("name", str(bad)))),
				m("userAgent", str("Mozilla/5.0 "+bad)), m(bad, str(bad)))),
			m("properties", obj(m(bad, str(bad)))), m("traits", obj(m("name", str(bad)))),
			m("integrations", obj(m("x", str(bad)))))
	}
	withNUL := func(ids IDs) []byte {
		return []byte(strings.Replace(string(batch(ids.track(0, m("properties", obj(m("n", `"a@b"`)))))), "@", "\x00", 1))
	}
	return []*Case{
		{Name: "invalid UTF-8 in messageId, anonymousId and userId is repaired and accepted",
			Req: Request{Body: func(ids IDs) []byte {
				return batch(ids.track(0, m("messageId", str(ids.Msg(0)+"\xff")), m("anonymousId", str(ids.Visitor()+"\xfe")), m("userId", str("u\xc3"))))
			}}, Want: ok(1), Stored: repaired},
		{Name: "invalid UTF-8 in the event name", Req: Request{Body: one(m("event", str("buy\xff\xfe")))}, Want: ok(1), Stored: repaired},
		{Name: "invalid UTF-8 in the page path, URL, title and referrer", Req: Request{Body: func(ids IDs) []byte {
			return batch(ids.page(0, "/p\xff", m("context", obj(m("page", obj(m("path", str("/p\xff")), m("url", str("https://shop.example/\xc0")),
				m("title", str("t\xed\xa0\x80")), m("referrer", str("https://r\xff.example/"))))))))
		}}, Want: ok(1), Stored: repaired},
		{Name: "invalid UTF-8 in properties", Req: Request{Body: one(m("properties", obj(m("note", str("caf\xe9")))))}, Want: ok(1), Stored: repaired},
		{Name: "invalid UTF-8 in the traits of an identify", Req: Request{Body: func(ids IDs) []byte {
			return batch(ids.track(0, m("type", `"identify"`), m("traits", obj(m("name", str("J\xf6rg"))))))
		}}, Want: ok(1), Stored: repaired},
		{Name: "invalid UTF-8 in an unknown context key", Req: Request{Body: one(m("context", obj(m("custom", str("\xff\xff")))))}, Want: ok(1), Stored: repaired},
		{Name: "invalid UTF-8 in context.campaign and context.library", Req: Request{Body: one(m("context", obj(
			m("campaign", obj(m("source", str("news\xff")), m("name", str("\xfe")))), m("library", obj(m("name", str("lib\xc3"))))))),
		}, Want: ok(1), Stored: repaired},
		{Name: "invalid UTF-8 in integrations", Req: Request{Body: one(m("integrations", obj(m("All", str("\xff")))))}, Want: ok(1), Stored: readable},
		{Name: "invalid UTF-8 in a property key", Req: Request{Body: one(m("properties", obj(m("k\xff", "1"))))}, Want: ok(1), Stored: repaired},
		{Name: "invalid UTF-8 in a rejected event's raw JSON", Req: Request{Body: func(ids IDs) []byte {
			return batch(obj(m("type", `"track"`), m("event", `"x"`), m("messageId", str(ids.Msg(0))), m("properties", obj(m("k", str("\xff\xfe"))))))
		}}, Want: rejected(0, "userId", 0), Stored: repaired},
		{Name: "an overlong '/' (C0 AF) in the page path", Req: Request{Body: func(ids IDs) []byte { return batch(ids.page(0, "/a\xc0\xafb")) }},
			Want: ok(1), Stored: repaired},
		{Name: "an overlong NUL (C0 80) in properties", Req: Request{Body: one(m("properties", obj(m("n", str("a\xc0\x80b")))))}, Want: ok(1), Stored: repaired},
		{Name: "a UTF-8-encoded surrogate (ED A0 80) in properties", Req: Request{Body: one(m("properties", obj(m("s", str("\xed\xa0\x80")))))},
			Want: ok(1), Stored: repaired},
		{Name: "old 5- and 6-byte sequences in the name and properties", Req: Request{Body: one(m("event", str("\xf8\x88\x80\x80\x80")),
			m("properties", obj(m("s", str("\xfc\x84\x80\x80\x80\x80")))))}, Want: ok(1), Stored: repaired},
		{Name: "a code point beyond U+10FFFF (F4 90 80 80) in properties", Req: Request{Body: one(m("properties", obj(m("s", str("\xf4\x90\x80\x80")))))},
			Want: ok(1), Stored: repaired},
		{Name: "a multi-byte sequence cut short at the end of every string", Req: Request{Body: func(ids IDs) []byte {
			return batch(ids.page(0, "/p\xe2\x82", m("event", str("e\xe2\x82")), m("properties", obj(m("s", str("x\xe2\x82"))))))
		}}, Want: ok(1), Stored: repaired},
		{Name: "escaped lone surrogates in every field group", Req: Request{Body: func(ids IDs) []byte {
			return batch(ids.page(0, "", m("context", obj(m("page", obj(m("path", `"/\ud800"`), m("title", `"\udfff"`))), m("x", `"\udbff"`))),
				m("userId", `"\ud800"`), m("properties", obj(m("s", `"\udc00x\ud800"`))), m("traits", obj(m("t", `"\ud83d"`)))))
		}}, Want: ok(1), Stored: readable},
		{Name: "an escaped surrogate followed by a non-surrogate", Req: Request{Body: one(m("event", `"\ud800\u0041"`), m("properties", obj(m("s", `"\ud800\u0041"`))))},
			Want: ok(1), Stored: readable},
		{Name: "an escaped NUL in the name, userId and properties", Req: Request{Body: one(m("event", `"a\u0000b"`), m("userId", `"\u0000"`),
			m("properties", obj(m("\u0000", `"\u0000"`))))}, Want: ok(1), Stored: readable},
		{Name: "a raw NUL byte inside a string", Req: Request{Body: withNUL}, Want: failed(400, "malformed body")},
		{Name: "a raw newline inside a string", Req: Request{Body: func(ids IDs) []byte {
			return []byte(strings.Replace(string(batch(ids.track(0, m("event", `"a@b"`)))), "@", "\n", 1))
		}}, Want: failed(400, "malformed body")},
		{Name: "a byte-order mark before the body", Req: Request{Body: func(ids IDs) []byte { return append([]byte("\xef\xbb\xbf"), batch(ids.track(0))...) }},
			Want: failed(400, "malformed body")},
		{Name: "byte-order marks inside strings are kept", Req: Request{Body: one(m("event", str("\ufeffbuy")), m("properties", obj(m("\ufeff", str("\ufeff")))))},
			Want: ok(1), Stored: readable},
		{Name: "a body in UTF-16", Req: Request{Body: func(ids IDs) []byte { return utf16LE(string(batch(ids.track(0)))) }},
			Want: failed(400, "malformed body")},
		{Name: "invalid UTF-8 in the body's writeKey", Req: Request{NoKey: true, Body: func(ids IDs) []byte {
			return []byte(`{"writeKey":` + str("hostile\xff") + `,"batch":` + arr(ids.track(0)) + `}`)
		}}, Want: failed(401, "write key")},
		{Name: "invalid UTF-8 in an unknown top-level key", Req: Request{Body: func(ids IDs) []byte {
			return []byte(`{` + m("x\xff", str("\xfe")) + `,"batch":` + arr(ids.track(0)) + `}`)
		}}, Want: ok(1)},
		{Name: "invalid UTF-8 in the event type", Req: Request{Body: one(m("type", str("tr\xffck")))}, Want: rejected(0, "type", 0), Stored: readable},
		{Name: "invalid UTF-8 in an event's sentAt", Req: Request{Body: one(m("sentAt", str("2026-01-01T00:00:00\xffZ")))},
			Want: rejected(0, "sentAt", 0)},
		{Name: "invalid UTF-8 in every field group of 100 events", Req: Request{Body: func(ids IDs) []byte {
			evs := make([]string, 100)
			for i := range evs {
				evs[i] = everyGroup(ids, i)
			}
			return batch(evs...)
		}}, Want: ok(100), Stored: repaired},
	}
}

func utf16LE(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}
