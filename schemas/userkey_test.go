package schemas

import "testing"

func TestUserKeyPrefersAnonymousID(t *testing.T) {
	tests := []struct {
		name string
		e    Event
		want string
	}{
		{"anonymousId when both are set, so a login does not move the visitor", Event{AnonymousID: "a", UserID: "u"}, "a"},
		{"userId for server-side senders", Event{UserID: "u"}, "u"},
		{"anonymousId alone", Event{AnonymousID: "a"}, "a"},
		{"nothing for an event that failed validation", Event{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.UserKey(); got != tc.want {
				t.Errorf("UserKey() = %q, want %q", got, tc.want)
			}
		})
	}
}
