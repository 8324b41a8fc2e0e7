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
		i := skipSpace(obj, 0) + 1 // past '{'
		for {
			i = skipSpace(obj, i)
			if i >= len(obj) || obj[i] == '}' {
				return
			}
			if obj[i] == ',' {
				i = skipSpace(obj, i+1)
			}
			keyEnd := stringEnd(obj, i)
			key := obj[i+1 : keyEnd-1]
			i = skipSpace(obj, skipSpace(obj, keyEnd)+1) // past ':'
			valueEnd := valueEnd(obj, i)
			if !yield(key, obj[i:valueEnd]) {
				return
			}
			i = valueEnd
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

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just past the string that starts at b[i] == '"'.
func stringEnd(b []byte, i int) int {
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

// valueEnd returns the index just past the JSON value that starts at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return i
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = stringEnd(b, i)
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
