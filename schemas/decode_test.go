package schemas

import (
	"errors"
	"strings"
	"testing"
)

func TestParseEventLimits(t *testing.T) {
	// The event object itself is the first level.
	atLimit := `{"type":"track","event":"x","anonymousId":"a","properties":{"a":` + strings.Repeat(`[`, MaxDepth-2) + strings.Repeat(`]`, MaxDepth-2) + `}}`
	tooDeep := `{"type":"track","event":"x","anonymousId":"a","properties":` + `{"a":` + strings.Repeat(`[`, MaxDepth-1) + strings.Repeat(`]`, MaxDepth-1) + `}}`
	big := `{"type":"track","event":"x","anonymousId":"a","properties":{"s":"` + strings.Repeat("x", MaxEventBytes) + `"}}`
	tests := []struct {
		name, raw, wantReason string
	}{
		{"an event nested to the limit is decoded", atLimit, ""},
		{"an event nested past the limit is rejected", tooDeep, "nested deeper than 32 levels"},
		{"brackets inside strings do not count as nesting", `{"type":"track","event":"` + strings.Repeat(`[`, 100) + `","anonymousId":"a"}`, ""},
		{"an event over 32 KB is rejected", big, "event is larger than 32768 bytes"},
		{"malformed JSON names the byte", `{"type":"track",}`, "malformed JSON at byte"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseEvent([]byte(tc.raw))
			if tc.wantReason == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Reason, tc.wantReason) {
				t.Fatalf("got %v, want a ValidationError containing %q", err, tc.wantReason)
			}
		})
	}
}

func TestUserKeyPrefersAnonymousID(t *testing.T) {
	tests := []struct {
		name string
		e    Event
		want string
	}{
		{"anonymousId when both are set", Event{AnonymousID: "a", UserID: "u"}, "a"},
		{"userId for server-side senders", Event{UserID: "u"}, "u"},
		{"anonymousId alone", Event{AnonymousID: "a"}, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.UserKey(); got != tc.want {
				t.Errorf("UserKey() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTopicNames(t *testing.T) {
	if got := Topic("acme", "web", TopicEvents); got != "persistent://acme/web/events" {
		t.Errorf("Topic = %q", got)
	}
	if err := CheckNamespace("acme", "web-1"); err != nil {
		t.Errorf("valid names rejected: %v", err)
	}
	if err := CheckNamespace("ac/me", "web"); err == nil {
		t.Errorf("tenant with a slash accepted")
	}
}

func FuzzParseEvent(f *testing.F) {
	v := loadVectors(f)
	for _, tc := range v.Valid {
		f.Add([]byte(tc.Event))
	}
	for _, tc := range v.Invalid {
		f.Add([]byte(tc.Event))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := ParseEvent(raw)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError: %v", err, err)
			}
			return
		}
		_ = e.Validate()
		_ = e.UserKey()
	})
}
