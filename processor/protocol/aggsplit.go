package protocol

import (
	"encoding/base64"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/axiomhq/hyperloglog"
)

// MaxAggregateBytes bounds one message of the aggregates topic (its JSON), well under
// Pulsar's 5 MB message limit.
const MaxAggregateBytes = 1 << 20

// SplitAggregate cuts a into parts whose JSON takes at most MaxAggregateBytes each,
// numbered from 1 when there are several. A minute too large for one part is cut
// too: the first piece carries its totals and visitor sketch, the others some of its
// entries (merging the pieces gives the minute back, see Minute.Merge).
//
// The cut depends only on what a holds, never on how it was built: the writer (from
// the commit it holds) and an instance recovering the aggregate (from the commit it
// decoded) cut it alike, so a part published by one and the next part published by
// the other add up to the whole (readers keep the first copy of each part). So the
// entries are taken in the order of dimension and value, and each visitor sketch is
// sized in its compact form (Estimate compacts it; that form depends on the hashes it
// holds only, see TestAVisitorSketchCompactsToOneEncoding). Minutes whose start JSON
// cannot hold (years outside 1 to 9999; no store keeps them) are left out.
func SplitAggregate(a *Aggregate) []*Aggregate {
	var (
		parts []*Aggregate
		cur   *Aggregate
		size  int
	)
	newPart := func() {
		cur = &Aggregate{Writer: a.Writer, Seq: a.Seq}
		parts = append(parts, cur)
		size = aggregateBound(a.Writer)
	}
	newPart()
	for _, m := range a.Minutes {
		if y := m.Start.Year(); y < 1 || y > 9999 {
			continue
		}
		if m.Visitors.Sketch == nil {
			m.Visitors.Sketch = hyperloglog.New14()
		}
		m.Visitors.Estimate()
		sk, err := m.Visitors.MarshalBinary()
		if err != nil {
			continue // a sketch that cannot be written counts no visitor: cannot happen
		}
		head := minuteJSONBound(m.Tenant) + base64.StdEncoding.EncodedLen(len(sk))
		if len(cur.Minutes) > 0 && size+head > MaxAggregateBytes {
			newPart()
		}
		cm := &Minute{Tenant: m.Tenant, Start: m.Start, Visitors: m.Visitors}
		cm.SessionsStarted, cm.SessionsEnded, cm.Bounces, cm.SessionDurationMs = m.SessionsStarted, m.SessionsEnded, m.Bounces, m.SessionDurationMs
		cur.Minutes = append(cur.Minutes, cm)
		size += head
		for d, src := range m.Dims() {
			values := make([]string, 0, len(*src))
			for v := range *src {
				values = append(values, v)
			}
			slices.Sort(values)
			for _, v := range values {
				n := (*src)[v]
				// Valid UTF-8 of at most MaxValueBytes already, but for commits of older
				// writers: JSON would make invalid bytes alike, and keep one of them.
				v, _ = capValue(v, MaxValueBytes)
				entry := jsonStringBound(v) + 2 + len(strconv.FormatInt(n, 10))
				if size+entry+dimFieldBound > MaxAggregateBytes {
					newPart()
					cm = &Minute{Tenant: m.Tenant, Start: m.Start, Visitors: Sketch{hyperloglog.New14()}}
					cur.Minutes = append(cur.Minutes, cm)
					size += minuteJSONBound(m.Tenant) + emptySketchJSON
				}
				dst := cm.Dims()[d]
				if *dst == nil {
					*dst = map[string]int64{}
					size += dimFieldBound
				}
				(*dst)[v] += n
				size += entry
			}
		}
	}
	if len(parts) > 1 {
		for i, p := range parts {
			p.Part, p.Parts = i+1, len(parts)
		}
	}
	return parts
}

// Bounds of the JSON of an aggregate without its minutes, of a minute without its
// entries and sketch, of a dimension without its entries ("utmSources":{}), and of an
// empty sketch.
const (
	dimFieldBound   = 16
	emptySketchJSON = 64
)

func aggregateBound(writer string) int { return 128 + jsonStringBound(writer) }

func minuteJSONBound(tenant string) int { return 256 + jsonStringBound(tenant) }

// jsonStringBound bounds the length of s encoded as a JSON string by encoding/json,
// quotes included: escapes take 2 or 6 bytes (<, >, & and control characters 6),
// each invalid byte becomes \ufffd, U+2028 and U+2029 are escaped.
func jsonStringBound(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				n += 2
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				n += 6
			default:
				n++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1, r == '\u2028', r == '\u2029':
			n += 6
		default:
			n += size
		}
		i += size
	}
	return n
}
