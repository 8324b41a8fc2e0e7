package schemas

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	long := strings.Repeat("x", MaxIDLength+1)
	tests := []struct {
		name        string
		e           Event
		field, want string // want "": valid
	}{
		{"a track event with a name and an anonymousId is valid", Event{Type: TypeTrack, Event: "x", AnonymousID: "a"}, "", ""},
		{"a page event needs no name", Event{Type: TypePage, UserID: "u"}, "", ""},
		{"every type but track, group and alias needs only an id", Event{Type: TypeIdentify, AnonymousID: "a"}, "", ""},
		{"an empty anonymousId is fine beside a userId", Event{Type: TypeScreen, UserID: "u"}, "", ""},
		{"a missing type", Event{AnonymousID: "a"}, "type", "is required"},
		{"an unknown type", Event{Type: "pageview", AnonymousID: "a"}, "type", "must be one of track, page, screen, identify, group, alias"},
		{"track without event", Event{Type: TypeTrack, AnonymousID: "a"}, "event", "is required for track events"},
		{"group without groupId", Event{Type: TypeGroup, AnonymousID: "a"}, "groupId", "is required for group events"},
		{"alias without previousId", Event{Type: TypeAlias, UserID: "u"}, "previousId", "is required for alias events"},
		{"neither userId nor anonymousId", Event{Type: TypePage}, "userId", "userId or anonymousId is required"},
		{"a messageId too long", Event{Type: TypePage, AnonymousID: "a", MessageID: long}, "messageId", "must be at most 512 characters"},
		{"a groupId too long", Event{Type: TypeGroup, AnonymousID: "a", GroupID: long}, "groupId", "must be at most 512 characters"},
		{"512 four-byte characters are within the limit", Event{Type: TypePage, AnonymousID: strings.Repeat("𝄞", MaxIDLength)}, "", ""},
		{"513 four-byte characters are not", Event{Type: TypePage, AnonymousID: strings.Repeat("𝄞", MaxIDLength+1)}, "anonymousId", "must be at most 512 characters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.e.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || ve.Field != tc.field || ve.Reason != tc.want {
				t.Fatalf("got %v, want %s: %s", err, tc.field, tc.want)
			}
			if got := err.Error(); got != tc.field+": "+tc.want {
				t.Errorf("Error() = %q", got)
			}
		})
	}
}

func TestValidationErrorOfTheWholeEventHasNoFieldPrefix(t *testing.T) {
	err := &ValidationError{Reason: "event must be a JSON object"}
	if err.Error() != "event must be a JSON object" {
		t.Errorf("Error() = %q", err.Error())
	}
}

func TestValidateAllocatesNothing(t *testing.T) {
	e := Event{Type: TypePage, AnonymousID: "a", UserID: "u", MessageID: strings.Repeat("m", 600)[:36]}
	if n := testing.AllocsPerRun(100, func() { _ = e.Validate() }); n != 0 {
		t.Errorf("Validate allocates %.0f times per valid event", n)
	}
}
