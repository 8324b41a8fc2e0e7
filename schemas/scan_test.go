package schemas

import (
	"strings"
	"testing"
)

func TestMembersWalksTheTopLevelOfAnObject(t *testing.T) {
	tests := []struct {
		name, obj, want string
	}{
		{"an empty object has no members", ` { } `, ""},
		{"scalars of every kind", `{"s":"x","n":-1.5e3,"t":true,"f":false,"z":null}`, `s="x" n=-1.5e3 t=true f=false z=null`},
		{"nested values are skipped whole", `{"o":{"a":[1,{"b":"}"}]},"a":[[],{}],"k":1}`, `o={"a":[1,{"b":"}"}]} a=[[],{}] k=1`},
		{"whitespace around keys, colons and commas", "{\n \"a\" :\t1 ,\r\n\"b\":\"2\" }", `a=1 b="2"`},
		{"escaped quotes in keys and values", `{"k\"q":"v\\\"w","x":1}`, `k\"q="v\\\"w" x=1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for k, v := range members([]byte(tc.obj)) {
				got = append(got, string(k)+"="+string(v))
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
		})
	}
}

func TestKeyNameUnescapes(t *testing.T) {
	if got := string(keyName([]byte(`user\u0049d`))); got != "userId" {
		t.Errorf("got %q", got)
	}
	if got := string(keyName([]byte(`plain`))); got != "plain" {
		t.Errorf("got %q", got)
	}
}

func TestValueEndFindsWhereEachKindOfValueEnds(t *testing.T) {
	tests := []struct {
		name, json string
		want       string // the value found at the start of json
	}{
		{"a string with escaped quotes", `"a\"b\\" ,1`, `"a\"b\\"`},
		{"a string that does not end runs to the end", `"open`, `"open`},
		{"an object holding brackets in strings", `{"a":"}]","b":[1,{"c":2}]} ,`, `{"a":"}]","b":[1,{"c":2}]}`},
		{"an array of arrays", `[[],[[]]]]`, `[[],[[]]]`},
		{"a number ends at a comma", `-1.5e3,2`, `-1.5e3`},
		{"a literal ends at whitespace", "true\n}", `true`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.json[:ValueEnd([]byte(tc.json), 0)]; got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	if got := SkipSpace([]byte(" \t\r\n x"), 0); got != 5 {
		t.Errorf("SkipSpace: %d, want 5", got)
	}
}
