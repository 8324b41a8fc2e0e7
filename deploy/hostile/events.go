package hostile

import (
	"strconv"
	"strings"
	"time"
)

// The corpus writes its JSON by hand, so that it can hold what no encoder writes:
// invalid UTF-8, duplicate keys, overlong encodings. Keys repeated by the extra members
// of track and page override the defaults (the last of repeated keys counts).

// m is one member of an object: the key and the value as raw JSON.
func m(key, raw string) string { return str(key) + ":" + raw }

// str quotes s as a JSON string, escaping only quotes, backslashes and control
// characters: invalid UTF-8 and every other byte pass through as they are.
func str(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[c>>4])
			b.WriteByte("0123456789abcdef"[c&0xf])
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// obj joins members into an object.
func obj(members ...string) string { return "{" + strings.Join(members, ",") + "}" }

// arr joins values into an array.
func arr(values ...string) string { return "[" + strings.Join(values, ",") + "]" }

// batch is a batch body of the events.
func batch(events ...string) []byte { return []byte(`{"batch":` + arr(events...) + `}`) }

// track is a valid track event of the case's visitor, messageId ids.Msg(i).
func (ids IDs) track(i int, extra ...string) string {
	return obj(append([]string{m("type", `"track"`), m("event", `"hostile"`), m("anonymousId", str(ids.Visitor())), m("messageId", str(ids.Msg(i)))}, extra...)...)
}

// page is a valid page event of the case's visitor on path.
func (ids IDs) page(i int, path string, extra ...string) string {
	return obj(append([]string{m("type", `"page"`), m("anonymousId", str(ids.Visitor())), m("messageId", str(ids.Msg(i))),
		m("context", obj(m("page", obj(m("path", str(path))))))}, extra...)...)
}

// tracks is n valid track events.
func (ids IDs) tracks(n int, extra ...string) []string {
	evs := make([]string, n)
	for i := range evs {
		evs[i] = ids.track(i, extra...)
	}
	return evs
}

// one is a body of a single track event with the extra members.
func one(extra ...string) func(IDs) []byte {
	return func(ids IDs) []byte { return batch(ids.track(0, extra...)) }
}

// raw is a body of exactly s.
func raw(s string) func(IDs) []byte { return func(IDs) []byte { return []byte(s) } }

// ts formats t as the RFC 3339 the SDK sends.
func ts(t time.Time) string { return str(t.UTC().Format("2006-01-02T15:04:05.000Z07:00")) }

// nested is a value nested depth levels deep: depth 1 is {}.
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + "{}" + strings.Repeat("}", depth-1)
}

// padded is a body of track events with 30,000-byte properties, padded with spaces
// to exactly size bytes.
func padded(ids IDs, size int) []byte {
	pad := m("properties", obj(m("pad", str(strings.Repeat("x", 30000)))))
	var evs []string
	for i := 0; ; i++ {
		next := append(evs, ids.track(i, pad))
		if len(batch(next...)) > size-64 {
			break
		}
		evs = next
	}
	b := batch(evs...)
	return append(b, []byte(strings.Repeat(" ", size-len(b)))...)
}

// sized is one track event of exactly size bytes (its property string fills it).
func (ids IDs) sized(i, size int) string {
	base := ids.track(i, m("properties", obj(m("pad", `""`))))
	fill := max(0, size-len(base))
	return ids.track(i, m("properties", obj(m("pad", str(strings.Repeat("y", fill))))))
}

// digits is a number of n digits.
func digits(n int) string { return "1" + strings.Repeat("0", n-1) }

// itoa is strconv.Itoa, short.
func itoa(n int) string { return strconv.Itoa(n) }
