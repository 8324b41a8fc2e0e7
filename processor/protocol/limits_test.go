package protocol

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCapValue(t *testing.T) {
	tests := []struct {
		name, in, want string
		limit          int
		wantCut        bool
	}{
		{"a short value is kept", "/pricing", "/pricing", 200, false},
		{"a value of exactly the limit is kept", strings.Repeat("a", 200), strings.Repeat("a", 200), 200, false},
		{"a long value is cut at the limit", strings.Repeat("a", 30_000), strings.Repeat("a", 200), 200, true},
		{"a character crossing the limit is left out whole", strings.Repeat("a", 199) + "é", strings.Repeat("a", 199), 200, true},
		{"a four-byte character crossing the limit is left out whole", strings.Repeat("a", 198) + "😀", strings.Repeat("a", 198), 200, true},
		{"invalid bytes are replaced", "/a\xffb", "/a\uFFFDb", 200, true},
		{"invalid bytes at the limit are replaced within it", "ab\xff\xfe", "ab\uFFFD", 5, true},
		{"a replacement that would cross the limit is left out", "abcd\xff", "abcd", 5, true},
		{"stray continuation bytes are cut through", strings.Repeat("\x80", 10), "\uFFFD", 5, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, cut := capValue(tc.in, tc.limit)
			if got != tc.want || cut != tc.wantCut {
				t.Errorf("capValue(%.30q, %d) = %.30q (%d bytes), %v; want %.30q, %v", tc.in, tc.limit, got, len(got), cut, tc.want, tc.wantCut)
			}
			if len(got) > tc.limit || !utf8.ValidString(got) {
				t.Errorf("%q: %d bytes, valid UTF-8 %v", got, len(got), utf8.ValidString(got))
			}
			if again, cut := capValue(got, tc.limit); again != got || cut {
				t.Errorf("capping twice changes %q into %q", got, again)
			}
		})
	}
}
