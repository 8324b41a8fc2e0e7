package collector

import (
	"unicode/utf8"

	"github.com/clicktrail/clicktrail/schemas"
)

// repairUTF8 makes every text of req that may be stored valid UTF-8, replacing each
// invalid byte by U+FFFD: the raw JSON objects of valid events (context, properties,
// traits, integrations) and every event as sent (stored if it is rejected, here or at
// enrichment). Each repaired value is counted by its field group: "raw" for an event
// already rejected, otherwise the groups of its fields that held invalid bytes. The
// handler calls it only when the body is not valid UTF-8, which one utf8.Valid over the
// body tells: the common body costs nothing more.
func (a *api) repairUTF8(req *batchRequest) {
	count := func(group string) { a.metrics.utf8Repaired.WithLabelValues(group).Inc() }
	for i, d := range req.events {
		raw := req.Batch[i]
		if utf8.Valid(raw) {
			continue
		}
		// The event as sent is stored when it is rejected, here or at enrichment.
		req.Batch[i] = schemas.AppendValidUTF8(make([]byte, 0, len(raw)+16), raw)
		if d.err != nil {
			count("raw")
			continue
		}
		e := d.event
		for _, f := range [...]struct {
			group string
			raw   *[]byte
		}{
			{"context", (*[]byte)(&e.Context)}, {"properties", (*[]byte)(&e.Properties)},
			{"traits", (*[]byte)(&e.Traits)}, {"integrations", (*[]byte)(&e.Integrations)},
		} {
			if fixed, repaired := schemas.ValidUTF8(*f.raw); repaired {
				*f.raw = fixed
				count(f.group)
			}
		}
		for _, k := range schemas.InvalidUTF8Members(raw) {
			if isStringField(k) {
				count("fields")
				break
			}
		}
	}
}

// isStringField reports whether key is one of the envelope's string fields. The decoder
// already reads invalid UTF-8 in them as U+FFFD (as encoding/json does); repairUTF8
// only counts them.
func isStringField(key string) bool {
	switch key {
	case "type", "event", "name", "messageId", "anonymousId", "userId", "groupId", "previousId":
		return true
	}
	return false
}
