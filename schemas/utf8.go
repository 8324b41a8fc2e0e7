package schemas

import (
	"unicode/utf8"
)

// Text stored anywhere in the pipeline is valid UTF-8: Parquet readers such as DuckDB
// refuse a whole file for one invalid string. The helpers below replace each byte that
// is not part of a valid UTF-8 sequence by U+FFFD, one replacement per byte, exactly as
// encoding/json does when it decodes a string, so that a string field decoded from an
// event and the raw JSON object it came from read the same.

// replacement is U+FFFD encoded.
const replacement = "\uFFFD"

// AppendValidUTF8 appends b to dst with every invalid byte replaced by U+FFFD. In JSON,
// bytes above 0x7F only occur inside strings, so applied to a JSON text it keeps the
// text's structure and repairs its strings.
func AppendValidUTF8(dst, b []byte) []byte {
	start := 0
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, b[start:i]...)
			dst = append(dst, replacement...)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, b[start:]...)
}

// ValidUTF8 returns b when it is valid UTF-8, otherwise a repaired copy and true.
func ValidUTF8(b []byte) ([]byte, bool) {
	if utf8.Valid(b) {
		return b, false
	}
	return AppendValidUTF8(make([]byte, 0, len(b)+8), b), true
}

// ValidUTF8String returns s when it is valid UTF-8 (without copying it), otherwise a
// repaired copy and true.
func ValidUTF8String(s string) (string, bool) {
	if utf8.ValidString(s) {
		return s, false
	}
	return string(AppendValidUTF8(make([]byte, 0, len(s)+8), []byte(s))), true
}

// TruncateUTF8 returns s repaired (ValidUTF8String) and cut to at most max bytes on a
// character boundary; repaired says whether invalid bytes were replaced. Only the first
// max bytes of s are looked at, so its cost does not follow the length of s.
func TruncateUTF8(s string, max int) (out string, repaired bool) {
	if len(s) > max {
		s = s[:max] // a character cut here becomes invalid bytes, removed below
		cut := len(s)
		// Drop an incomplete last character rather than replace it.
		for i := len(s) - 1; i >= 0 && i >= len(s)-utf8.UTFMax; i-- {
			if utf8.RuneStart(s[i]) {
				if !utf8.FullRuneInString(s[i:]) {
					cut = i
				}
				break
			}
		}
		s = s[:cut]
	}
	s, repaired = ValidUTF8String(s)
	for len(s) > max {
		// Each replacement takes three bytes for one: cut again, on a boundary.
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s, repaired
}

// InvalidUTF8Members returns the keys of the members of obj, a valid JSON object such
// as an event ParseEvent accepted, whose key or value holds invalid UTF-8; the keys as
// the decoder reads them (unescaped, repaired). It is for the rare event that is not
// valid UTF-8, to say which of its fields were repaired.
func InvalidUTF8Members(obj []byte) []string {
	var keys []string
	for key, v := range members(obj) {
		if !utf8.Valid(key) || !utf8.Valid(v) {
			k, _ := ValidUTF8String(string(keyName(key)))
			keys = append(keys, k)
		}
	}
	return keys
}
