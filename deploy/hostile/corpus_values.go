package hostile

import (
	"strings"
	"time"
)

// valueCases: huge strings, timestamps at and past the years 0001..9999 (before and
// after UTC conversion and skew correction), and numbers JSON cannot or can barely
// hold.
func valueCases() []*Case {
	long := func(n int) string { return strings.Repeat("p", n) }
	// at is an event with the client's timestamp and, when sentAt is set, its sentAt.
	at := func(timestamp, sentAt string) func(IDs) []byte {
		extra := []string{m("timestamp", str(timestamp))}
		if sentAt != "" {
			extra = append(extra, m("sentAt", str(sentAt)))
		}
		return one(extra...)
	}
	now := func() time.Time { return time.Now().UTC() }
	return []*Case{
		{Name: "a 30,000-character page path is accepted", Req: Request{Body: func(ids IDs) []byte { return batch(ids.page(0, "/"+long(29999))) }}, Want: ok(1)},
		{Name: "a 15,000-character referrer and utm_source are accepted", Req: Request{Body: one(m("context", obj(
			m("page", obj(m("referrer", str("https://"+long(15000)+".example/")))), m("campaign", obj(m("source", str(long(15000))))))))},
			Want: ok(1)},
		{Name: "a 30,000-character context.userAgent is accepted", Req: Request{Body: one(m("context", obj(m("userAgent", str("Mozilla/5.0 ("+long(30000)+")")))))},
			Want: ok(1)},
		{Name: "a page URL of 30,000 characters with utm parameters is accepted", Req: Request{Body: func(ids IDs) []byte {
			return batch(ids.page(0, "", m("context", obj(m("page", obj(m("url", str("https://shop.example/?utm_source="+long(30000)+"&utm_campaign=x"))))))))
		}}, Want: ok(1)},
		{Name: "a 30,000-character event name", Req: Request{Body: one(m("event", str(long(30000))))}, Want: rejected(0, "^event: must be at most 512", 0)},
		{Name: "a 513-character anonymousId", Req: Request{Body: one(m("anonymousId", str(long(513))))}, Want: rejected(0, "^anonymousId", 0)},
		{Name: "a 512-character messageId of 4-byte characters is accepted", Req: Request{Body: func(ids IDs) []byte {
			id := ids.Msg(0) + "-"
			return batch(ids.track(0, m("messageId", str(id+strings.Repeat("😀", 512-len(id))))))
		}}, Want: ok(1)},
		{Name: "a property string just under the 32 KB event limit is accepted", Req: Request{Body: func(ids IDs) []byte { return batch(ids.sized(0, 32000)) }},
			Want: ok(1)},
		{Name: "a property string just over the 32 KB event limit", Req: Request{Body: func(ids IDs) []byte { return batch(ids.sized(0, 33000)) }},
			Want: rejected(0, "larger than 32768", 0)},
		{Name: "a 1 MB property string", Req: Request{Body: one(m("properties", obj(m("s", str(long(1<<20))))))}, Want: failed(413, "too large")},

		// Timestamps. timestamp = receivedAt − (sentAt − original), never after
		// receivedAt; timestamp, originalTimestamp and sentAt in years 0001..9999 in UTC.
		{Name: "timestamp 0001-01-02 without sentAt is accepted as year 1", Req: Request{Body: at("0001-01-02T00:00:00Z", "")},
			Want: ok(1), Stored: storedYear(1)},
		{Name: "timestamp 9999-12-31 without sentAt is accepted at the time received", Req: Request{Body: at("9999-12-31T23:59:59.999Z", "")},
			Want: ok(1), Stored: storedNearReceipt},
		{Name: "timestamp in year 10000", Req: Request{Body: at("10000-01-01T00:00:00Z", "")}, Want: rejected(0, "^timestamp", 0)},
		{Name: "timestamp in year -0001", Req: Request{Body: at("-0001-01-01T00:00:00Z", "")}, Want: rejected(0, "^timestamp", 0)},
		{Name: "timestamp 9999-12-31T23:30-23:59, year 10000 in UTC", Req: Request{Body: at("9999-12-31T23:30:00-23:59", "")},
			Want: rejected(0, "(?i)timestamp", 0)},
		{Name: "timestamp 0001-01-01T00:30+23:59, year 0 in UTC", Req: Request{Body: at("0001-01-01T00:30:00+23:59", "")},
			Want: rejected(0, "(?i)timestamp", 0)},
		{Name: "sentAt 0001-01-01T00:30+01:00, year 0 in UTC", Req: Request{Body: one(m("sentAt", str("0001-01-01T00:30:00+01:00")))},
			Want: rejected(0, "sentAt", 0)},
		{Name: "sentAt 9999-12-31T23:30-23:59, year 10000 in UTC", Req: Request{Body: one(m("sentAt", str("9999-12-31T23:30:00-23:59")))},
			Want: rejected(0, "sentAt", 0)},
		// The batch's sentAt is not stored with the events: the contract leaves open
		// whether it is refused, rejects the events, or only weighs in their skew
		// correction (then the event lands at the time received, never in year 0).
		{Name: "the batch's sentAt in year 0 in UTC", Req: Request{Body: func(ids IDs) []byte {
			return []byte(`{"sentAt":"0001-01-01T00:30:00+01:00","batch":` + arr(ids.track(0, m("timestamp", ts(now().Add(-time.Minute))))) + `}`)
		}}, Want: Expect{Status: 200, Accepted: 1, Alt: &Expect{Status: 400, Alt: ptr(rejected(0, "sentAt", 0))}}, Stored: ifAccepted(storedNearReceipt)},
		{Name: "originalTimestamp 0001 with sentAt 9999: corrected to about year -7970", Req: Request{Body: at("0001-01-02T00:00:00Z", "9999-12-31T00:00:00Z")},
			Want: rejected(0, "(?i)timestamp", 0)},
		{Name: "sentAt 9999 for an event of now: corrected to about year -5900", Req: Request{Body: func(ids IDs) []byte {
			return at(now().Format(time.RFC3339), "9999-12-31T00:00:00Z")(ids)
		}}, Want: rejected(0, "(?i)timestamp", 0)},
		{Name: "originalTimestamp 9999 with sentAt 0001: a clock far behind, stored at the time received", Req: Request{Body: at("9999-12-30T00:00:00Z", "0001-01-02T00:00:00Z")},
			Want: ok(1), Stored: storedNearReceipt},
		{Name: "sentAt 274 years ahead of the event: corrected 274 years back", Req: Request{Body: func(ids IDs) []byte {
			return at(now().Format(time.RFC3339), now().AddDate(274, 0, 0).Format(time.RFC3339))(ids)
		}}, Want: ok(1), Stored: storedYearsBack(274)},
		{Name: "sentAt 300 years ahead, beyond time.Duration: corrected 300 years back without wrapping", Req: Request{Body: func(ids IDs) []byte {
			return at(now().Format(time.RFC3339), now().AddDate(300, 0, 0).Format(time.RFC3339))(ids)
		}}, Want: ok(1), Stored: storedYearsBack(300)},
		{Name: "nine fractional digits and a -23:59 offset are accepted", Req: Request{Body: func(ids IDs) []byte {
			return at(now().Add(-time.Hour).In(time.FixedZone("", -(23*3600+59*60))).Format("2006-01-02T15:04:05.000000000-07:00"), "")(ids)
		}}, Want: ok(1)},
		{Name: "ten fractional digits", Req: Request{Body: at("2026-01-01T00:00:00.0000000001Z", "")}, Want: rejected(0, "^timestamp", 0)},
		{Name: "February 30th", Req: Request{Body: at("2026-02-30T00:00:00Z", "")}, Want: rejected(0, "^timestamp", 0)},
		{Name: "an offset of +24:00", Req: Request{Body: at("2026-01-01T00:00:00+24:00", "")}, Want: rejected(0, "^timestamp", 0)},

		// Numbers.
		{Name: "NaN as a property value", Req: Request{Body: one(m("properties", obj(m("n", "NaN"))))}, Want: failed(400, "malformed body")},
		{Name: "Infinity as screen density", Req: Request{Body: one(m("context", obj(m("screen", obj(m("density", "Infinity"))))))},
			Want: failed(400, "malformed body")},
		{Name: `the string "NaN" as screen density`, Req: Request{Body: one(m("context", obj(m("screen", obj(m("density", `"NaN"`))))))},
			Want: rejected(0, `^context\.screen\.density`, 0)},
		{Name: "1e400 as screen density is accepted", Req: Request{Body: one(m("context", obj(m("screen", obj(m("density", "1e400"))))))}, Want: ok(1)},
		{Name: "1e400 as screen width", Req: Request{Body: one(m("context", obj(m("screen", obj(m("width", "1e400"))))))},
			Want: rejected(0, `^context\.screen\.width`, 0)},
		{Name: "2^53+1 as screen width", Req: Request{Body: one(m("context", obj(m("screen", obj(m("width", "9007199254740993"))))))},
			Want: rejected(0, `^context\.screen\.width`, 0)},
		{Name: "a 400-digit integer, -0 and 1e-400 in properties are accepted", Req: Request{Body: one(m("properties", obj(
			m("big", digits(400)), m("negzero", "-0"), m("tiny", "1e-400"), m("huge", "-1.7976931348623157e308"))))}, Want: ok(1)},
		{Name: "a 400-digit numeric sessionId is accepted", Req: Request{Body: one(m("context", obj(m("sessionId", digits(400)))))}, Want: ok(1)},
	}
}

func ptr[T any](v T) *T { return &v }
