package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ParseEvent decodes one event as a client sent it and fills its typed context view.
// It checks the shape of the JSON, not the rules of the envelope (Validate does):
//   - the event is at most MaxEventBytes, nested at most MaxDepth levels, and a JSON
//     object;
//   - each known field has its JSON type: a string, an RFC 3339 timestamp, an object;
//     null counts as absent;
//   - keys match exactly: "UserId" is an unknown key, as in JSON Schema, not userId;
//   - of repeated keys the last counts, as in JavaScript's JSON.parse;
//   - the collector-set fields (receivedAt, messageIdGenerated, tenant, source,
//     enrichment) are ignored, whatever their value: they are never taken from a client.
//
// Every error is a *ValidationError naming the field ("userId: must be a string",
// "context.page.url: must be a string"). The event keeps no reference to raw.
func ParseEvent(raw []byte) (*Event, error) {
	if len(raw) > MaxEventBytes {
		return nil, invalid("", "event is larger than "+strconv.Itoa(MaxEventBytes)+" bytes")
	}
	if err := CheckDepth(raw, MaxDepth); err != nil {
		return nil, err
	}
	e := &Event{}
	if err := decodeEvent(raw, e, false); err != nil {
		return nil, err
	}
	return e, nil
}

// DecodeStored decodes an event as the collector stored it in Pulsar: already
// validated and enriched, so with the collector-set fields and without the size and
// depth limits of ParseEvent. It fills the typed context view. Errors are
// *ValidationError, as from ParseEvent.
func DecodeStored(raw []byte) (*Event, error) {
	e := &Event{}
	if err := decodeEvent(raw, e, true); err != nil {
		return nil, err
	}
	return e, nil
}

// UnmarshalJSON decodes a stored event, as DecodeStored does, so that json.Unmarshal
// into an Event fills Ctx too. Client input goes through ParseEvent instead.
func (e *Event) UnmarshalJSON(raw []byte) error {
	return decodeEvent(raw, e, true)
}

// CheckDepth reports a *ValidationError when raw nests objects and arrays deeper than
// max. It only counts brackets outside strings, so it is cheap to run before decoding;
// it does not check that raw is valid JSON.
func CheckDepth(raw []byte, max int) error {
	depth, inString, escaped := 0, false, false
	for _, c := range raw {
		switch {
		case escaped:
			escaped = false
		case inString:
			switch c {
			case '\\':
				escaped = true
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return invalid("", "nested deeper than "+strconv.Itoa(max)+" levels")
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// decodeEvent decodes raw into e, which it resets first. trusted says whether the
// collector-set fields are read (stored events) or ignored (client input).
func decodeEvent(raw []byte, e *Event, trusted bool) error {
	*e = Event{}
	if !json.Valid(raw) {
		return syntaxError(raw)
	}
	if i := SkipSpace(raw, 0); i >= len(raw) || raw[i] != '{' {
		return invalid("", "event must be a JSON object")
	}
	// One copy, which the raw fields below share, so e keeps no reference to raw.
	raw = bytes.Clone(raw)
	const (
		kType = iota
		kEvent
		kName
		kCategory
		kMessageID
		kAnonymousID
		kUserID
		kGroupID
		kPreviousID
		kChannel
		kTimestamp
		kOriginalTimestamp
		kSentAt
		kContext
		kProperties
		kTraits
		kIntegrations
		kReceivedAt
		kMessageIDGenerated
		kTenant
		kSource
		kEnrichment
	)
	keys := [...]string{
		kType: "type", kEvent: "event", kName: "name", kCategory: "category", kMessageID: "messageId",
		kAnonymousID: "anonymousId", kUserID: "userId", kGroupID: "groupId", kPreviousID: "previousId", kChannel: "channel",
		kTimestamp: "timestamp", kOriginalTimestamp: "originalTimestamp", kSentAt: "sentAt",
		kContext: "context", kProperties: "properties", kTraits: "traits", kIntegrations: "integrations",
		kReceivedAt: "receivedAt", kMessageIDGenerated: "messageIdGenerated", kTenant: "tenant",
		kSource: "source", kEnrichment: "enrichment",
	}
	var v [len(keys)][]byte
	lastValues(raw, keys[:], v[:])
	err := firstError(
		decodeString("type", v[kType], &e.Type),
		decodeString("event", v[kEvent], &e.Event),
		decodeString("name", v[kName], &e.Name),
		decodeString("category", v[kCategory], &e.Category),
		decodeString("messageId", v[kMessageID], &e.MessageID),
		decodeString("anonymousId", v[kAnonymousID], &e.AnonymousID),
		decodeString("userId", v[kUserID], &e.UserID),
		decodeString("groupId", v[kGroupID], &e.GroupID),
		decodeString("previousId", v[kPreviousID], &e.PreviousID),
		decodeString("channel", v[kChannel], &e.Channel),
		decodeTime("timestamp", v[kTimestamp], &e.Timestamp),
		decodeTime("originalTimestamp", v[kOriginalTimestamp], &e.OriginalTimestamp),
		decodeTime("sentAt", v[kSentAt], &e.SentAt),
		decodeObject("context", v[kContext], &e.Context),
		decodeObject("properties", v[kProperties], &e.Properties),
		decodeObject("traits", v[kTraits], &e.Traits),
		decodeObject("integrations", v[kIntegrations], &e.Integrations),
	)
	if err == nil && trusted {
		err = firstError(
			decodeTime("receivedAt", v[kReceivedAt], &e.ReceivedAt),
			decodeBool("messageIdGenerated", v[kMessageIDGenerated], &e.MessageIDGenerated),
			decodeString("tenant", v[kTenant], &e.Tenant),
			decodeString("source", v[kSource], &e.Source),
			decodeEnrichment(v[kEnrichment], &e.Enrichment),
		)
	}
	pageSent := false
	if err == nil && e.Context != nil {
		pageSent, err = decodeContext(e.Context, &e.Ctx)
	}
	if err == nil && (e.Type == TypePage || e.Type == TypeScreen) && e.Properties != nil {
		fromProperties(e, pageSent)
	}
	if err == nil && e.Type == TypeIdentify && e.Traits == nil && e.Context != nil {
		// RudderStack's libraries send an identify call's traits in context.traits.
		var v [1][]byte
		lastValues(e.Context, []string{"traits"}, v[:])
		if len(v[0]) > 0 && v[0][0] == '{' {
			e.Traits = v[0]
		}
	}
	return err
}

// fromProperties fills what a page or screen event carries in its properties where
// the spec's server-side form puts it: the page fields, when the context has no page
// object, and the category, when the event has none of its own (analytics.js sends
// both; RudderStack's JavaScript SDK only properties.category). Properties are
// free-form: a value that is not a string is left there and not taken.
func fromProperties(e *Event, pageSent bool) {
	var v [6][]byte
	lastValues(e.Properties, []string{"category", "url", "path", "title", "referrer", "search"}, v[:])
	if e.Category == "" {
		e.Category = stringOrEmpty(v[0])
	}
	if pageSent || e.Type != TypePage {
		return
	}
	p := &e.Ctx.Page
	p.URL, p.Path, p.Title = stringOrEmpty(v[1]), stringOrEmpty(v[2]), stringOrEmpty(v[3])
	p.Referrer, p.Search = stringOrEmpty(v[4]), stringOrEmpty(v[5])
}

// stringOrEmpty is the JSON string v, or "" when v is anything else.
func stringOrEmpty(v []byte) string {
	var s string
	if len(v) == 0 || v[0] != '"' || decodeString("", v, &s) != nil {
		return ""
	}
	return s
}

// lastValues sets vals[i] to the value of the last member of obj whose key is keys[i],
// and leaves it nil when there is none. Like JavaScript's JSON.parse, the last of
// repeated keys counts, whatever the earlier ones hold.
func lastValues(obj []byte, keys []string, vals [][]byte) {
	for key, v := range members(obj) {
		k := keyName(key)
		for i, name := range keys {
			if string(k) == name {
				vals[i] = v
				break
			}
		}
	}
}

// firstError returns the first non-nil error, in the order of the fields, not of the
// keys in the input.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// syntaxError describes malformed JSON by the byte where it goes wrong.
func syntaxError(raw []byte) *ValidationError {
	var se *json.SyntaxError
	if err := json.Unmarshal(raw, new(json.RawMessage)); errors.As(err, &se) {
		return invalid("", fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se))
	}
	return invalid("", "malformed JSON")
}

// decodeString sets *dst from a JSON string; null sets "". v is one valid JSON value,
// or nil for an absent field, which every decode function leaves as it is.
func decodeString(field string, v []byte, dst *string) error {
	if len(v) == 0 {
		return nil
	}
	switch v[0] {
	case 'n':
		*dst = ""
		return nil
	case '"':
		s := v[1 : len(v)-1]
		if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
			*dst = string(s)
			return nil
		}
		// Escapes, or invalid UTF-8 that encoding/json turns into U+FFFD.
		if err := json.Unmarshal(v, dst); err == nil {
			return nil
		}
	}
	return invalid(field, "must be a string")
}

// decodeTime sets *dst from an RFC 3339 string; null sets nil.
func decodeTime(field string, v []byte, dst **Time) error {
	if len(v) == 0 {
		return nil
	}
	if v[0] == 'n' {
		*dst = nil
		return nil
	}
	var s string
	if v[0] != '"' || decodeString(field, v, &s) != nil {
		return invalid(field, errTimestamp)
	}
	t, err := ParseTime(s)
	if err != nil {
		return invalid(field, errTimestamp)
	}
	*dst = &Time{t}
	return nil
}

// decodeObject keeps a JSON object as it is; null sets nil.
func decodeObject(field string, v []byte, dst *json.RawMessage) error {
	if len(v) == 0 {
		return nil
	}
	switch v[0] {
	case 'n':
		*dst = nil
	case '{':
		*dst = v
	default:
		return invalid(field, "must be an object")
	}
	return nil
}

// isObject reports whether v is an object, and errs when it is neither an object nor
// null (nor absent).
func isObject(field string, v []byte) (bool, error) {
	if len(v) == 0 {
		return false, nil
	}
	switch v[0] {
	case '{':
		return true, nil
	case 'n':
		return false, nil
	}
	return false, invalid(field, "must be an object")
}

func decodeBool(field string, v []byte, dst *bool) error {
	if len(v) == 0 {
		return nil
	}
	switch string(v) {
	case "true":
		*dst = true
	case "false", "null":
		*dst = false
	default:
		return invalid(field, "must be a boolean")
	}
	return nil
}

// decodeEnrichment reads the collector's own enrichment object from a stored event.
// As elsewhere here, keys match exactly, null counts as absent and unknown keys are
// ignored (it used json.Unmarshal, a fifth of the archiver's decoding time).
func decodeEnrichment(v []byte, dst **Enrichment) error {
	if ok, err := isObject("enrichment", v); !ok {
		return err
	}
	var f [8][]byte
	lastValues(v, []string{"ip", "browser", "browserVersion", "os", "osVersion", "deviceType", "isBot", "serverSide"}, f[:])
	en := &Enrichment{}
	if err := firstError(
		decodeString("enrichment.ip", f[0], &en.IP),
		decodeString("enrichment.browser", f[1], &en.Browser),
		decodeString("enrichment.browserVersion", f[2], &en.BrowserVersion),
		decodeString("enrichment.os", f[3], &en.OS),
		decodeString("enrichment.osVersion", f[4], &en.OSVersion),
		decodeString("enrichment.deviceType", f[5], &en.DeviceType),
		decodeBool("enrichment.isBot", f[6], &en.IsBot),
		decodeBool("enrichment.serverSide", f[7], &en.ServerSide),
	); err != nil {
		return err
	}
	*dst = en
	return nil
}
