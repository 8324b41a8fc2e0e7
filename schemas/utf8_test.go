package schemas

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestInvalidUTF8IsReplacedByteForByteAsEncodingJSONDecodes(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"valid text is kept", "café ✓ 😀", "café ✓ 😀"},
		{"a lone continuation byte becomes one replacement", "a\x80b", "a\uFFFDb"},
		{"each byte of an invalid run becomes one replacement", "\xff\xfe", "\uFFFD\uFFFD"},
		{"a truncated character at the end is replaced", "ok\xe2\x82", "ok\uFFFD\uFFFD"},
		{"an encoded surrogate half is replaced byte by byte", "\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"},
		{"an overlong encoding is replaced", "\xc0\xaf", "\uFFFD\uFFFD"},
		{"an empty string stays empty", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendValidUTF8(nil, []byte(tc.in)))
			if got != tc.want {
				t.Errorf("AppendValidUTF8(%q) = %q, want %q", tc.in, got, tc.want)
			}
			// The same as encoding/json makes of the string.
			var decoded string
			if err := json.Unmarshal([]byte(`"`+tc.in+`"`), &decoded); err != nil || decoded != got {
				t.Errorf("encoding/json decodes %q as %q, %v", tc.in, decoded, err)
			}
			s, repaired := ValidUTF8String(tc.in)
			if s != tc.want || repaired != (tc.in != tc.want) {
				t.Errorf("ValidUTF8String(%q) = %q, %v", tc.in, s, repaired)
			}
		})
	}
}

func TestRawJSONWithInvalidUTF8StaysTheSameJSON(t *testing.T) {
	raw := []byte("{\"a\":\"x\xffy\",\"b\":[\"\xc3\",1],\"\xfe\":true,\"c\":\"\\ud800\"}")
	got, repaired := ValidUTF8(raw)
	if !repaired || !utf8.Valid(got) || !json.Valid(got) {
		t.Fatalf("ValidUTF8 = %s, %v", got, repaired)
	}
	var before, after map[string]any
	if err := json.Unmarshal(raw, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got, &after); err != nil {
		t.Fatal(err)
	}
	b1, _ := json.Marshal(before)
	b2, _ := json.Marshal(after)
	if string(b1) != string(b2) {
		t.Errorf("repair changed what the JSON means: %s, was %s", b2, b1)
	}
	if same, repaired := ValidUTF8([]byte(`{"a":"é"}`)); repaired || string(same) != `{"a":"é"}` {
		t.Errorf("valid JSON changed: %s", same)
	}
}

func TestTruncateUTF8CutsOnACharacterBoundary(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		max      int
		want     string
		repaired bool
	}{
		{"a short string is kept", "curl/8.0", 512, "curl/8.0", false},
		{"a long ASCII string is cut at the limit", strings.Repeat("a", 600), 512, strings.Repeat("a", 512), false},
		{"a character straddling the limit is dropped whole", "ab" + "é", 3, "ab", false},
		{"a four-byte character straddling the limit is dropped whole", "a😀", 3, "a", false},
		{"invalid bytes are replaced and the result still fits", "ab\xff\xff", 4, "ab", true},
		{"a replacement that fits is kept", "a\xff", 4, "a\uFFFD", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, repaired := TruncateUTF8(tc.in, tc.max)
			if got != tc.want || repaired != tc.repaired {
				t.Errorf("TruncateUTF8(%q, %d) = %q, %v; want %q, %v", tc.in, tc.max, got, repaired, tc.want, tc.repaired)
			}
			if len(got) > tc.max || !utf8.ValidString(got) {
				t.Errorf("result %q is %d bytes or invalid", got, len(got))
			}
		})
	}
}

func TestInvalidUTF8MembersNamesTheFieldsToRepair(t *testing.T) {
	raw := []byte("{\"type\":\"track\",\"event\":\"Sign\xffed\",\"properties\":{\"k\":\"\xc3\"},\"ok\":\"é\",\"\xfe\":1}")
	got := InvalidUTF8Members(raw)
	want := []string{"event", "properties", "\uFFFD"}
	if !slices.Equal(got, want) {
		t.Errorf("InvalidUTF8Members = %q, want %q", got, want)
	}
}
