package schemas

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
)

// ParseEvent decodes one event and fills its typed context view. Every error is a
// *ValidationError naming the field: a wrong JSON type ("userId: must be a string"), a
// bad timestamp, a non-object context, too deep a nesting or too large an event.
// ParseEvent checks the shape of the JSON only; Validate checks the rules of the envelope.
func ParseEvent(raw []byte) (*Event, error) {
	if len(raw) > MaxEventBytes {
		return nil, invalid("", "event is larger than "+strconv.Itoa(MaxEventBytes)+" bytes")
	}
	if err := CheckDepth(raw, MaxDepth); err != nil {
		return nil, err
	}
	var e Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, decodeError("", err)
	}
	for _, f := range [...]struct {
		name string
		raw  json.RawMessage
	}{{"context", e.Context}, {"properties", e.Properties}, {"traits", e.Traits}, {"integrations", e.Integrations}} {
		if !isObjectOrNull(f.raw) {
			return nil, invalid(f.name, "must be an object")
		}
	}
	if len(e.Context) > 0 && !bytes.Equal(e.Context, []byte("null")) {
		if err := json.Unmarshal(e.Context, &e.Ctx); err != nil {
			return nil, decodeError("context", err)
		}
	}
	return &e, nil
}

// decodeError turns an encoding/json error into a *ValidationError under prefix.
func decodeError(prefix string, err error) *ValidationError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		if prefix != "" {
			field = join(prefix, field)
		}
		if te.Type == timeType {
			return invalid(field, "must be an RFC 3339 timestamp")
		}
		if field == "" {
			return invalid("", "event must be a JSON object")
		}
		return invalid(field, "must be "+kindOf(te.Type))
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalid(prefix, fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se))
	}
	return invalid(prefix, err.Error())
}

func join(prefix, field string) string {
	if field == "" {
		return prefix
	}
	return prefix + "." + field
}

// kindOf names a Go type the way a JSON user thinks of it.
func kindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	default:
		return "an object"
	}
}

func isObjectOrNull(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return true
	}
	return raw[0] == '{' || bytes.Equal(raw, []byte("null"))
}

// CheckDepth reports a *ValidationError when raw nests objects and arrays deeper than
// max. It only counts brackets outside strings, so it is cheap to run before decoding.
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

// DecodeStored decodes an event as the collector stored it in Pulsar (already
// validated and enriched, so without the size and depth limits of ParseEvent) and fills
// its typed context view.
func DecodeStored(raw []byte) (*Event, error) {
	var e Event
	if err := json.Unmarshal(raw, &e); err != nil {
		return nil, decodeError("", err)
	}
	if len(e.Context) > 0 && !bytes.Equal(e.Context, []byte("null")) {
		if err := json.Unmarshal(e.Context, &e.Ctx); err != nil {
			return nil, decodeError("context", err)
		}
	}
	return &e, nil
}
