package schemas

import (
	"bytes"
	"encoding/json"
	"iter"
)

// members yields the key (still escaped, without quotes) and the raw value of each
// member of the JSON object obj, in order. obj must be syntactically valid JSON whose
// first non-space byte is '{': the decoder checks the whole event with json.Valid once,
// so this walk needs no error handling of its own.
func members(obj []byte) iter.Seq2[[]byte, []byte] {
	return func(yield func(key, value []byte) bool) {
		i := SkipSpace(obj, 0) + 1 // past '{'
		for {
			i = SkipSpace(obj, i)
			if i >= len(obj) || obj[i] == '}' {
				return
			}
			if obj[i] == ',' {
				i = SkipSpace(obj, i+1)
			}
			keyEnd := StringEnd(obj, i)
			key := obj[i+1 : keyEnd-1]
			i = SkipSpace(obj, SkipSpace(obj, keyEnd)+1) // past ':'
			end := ValueEnd(obj, i)
			if !yield(key, obj[i:end]) {
				return
			}
			i = end
		}
	}
}

// keyName returns a member key as the string it stands for. Keys are compared exactly
// (JSON is case-sensitive, unlike encoding/json's field matching), after unescaping, as
// a JavaScript JSON.parse would see them.
func keyName(key []byte) []byte {
	if bytes.IndexByte(key, '\\') < 0 {
		return key
	}
	var s string
	quoted := make([]byte, 0, len(key)+2)
	quoted = append(append(append(quoted, '"'), key...), '"')
	if err := json.Unmarshal(quoted, &s); err != nil {
		return key
	}
	return []byte(s)
}

// The walk below is exported for the collector, which finds the events of a batch in
// the request body this way without decoding it (collector.parseBatchFast). It walks
// JSON that is valid, or checked for validity piece by piece afterwards: it never
// fails, it only finds where a token ends.

// IsSpace reports JSON whitespace.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the index of the first byte at or after i that is no whitespace.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && IsSpace(b[i]) {
		i++
	}
	return i
}

// StringEnd returns the index just past the string that starts at b[i] == '"', or
// len(b) when it does not end.
func StringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// ValueEnd returns the index just past the JSON value that starts at b[i].
func ValueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return StringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = StringEnd(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}
