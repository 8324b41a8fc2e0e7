package schemas

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestInvalidEventEncodesCamelCaseWithoutAnIP(t *testing.T) {
	v := InvalidEvent{
		Reason: "must be a string", Field: "userId", Index: 3, Raw: json.RawMessage(`{"userId":5}`),
		ReceivedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Tenant: "acme", Source: "web",
		RequestID: "r-1", UserAgent: "curl/8",
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"reason":"must be a string","field":"userId","index":3,"raw":{"userId":5},` +
		`"receivedAt":"2026-11-25T10:00:00Z","tenant":"acme","source":"web","requestId":"r-1","userAgent":"curl/8"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if strings.Contains(strings.ToLower(string(b)), `"ip"`) {
		t.Errorf("an invalid event carries an IP: %s", b)
	}
}

func TestInvalidEventKeepsTextThatIsNotJSON(t *testing.T) {
	b, err := json.Marshal(InvalidEvent{Reason: "malformed JSON", RawText: `{"type":`})
	if err != nil {
		t.Fatal(err)
	}
	var back InvalidEvent
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.RawText != `{"type":` || back.Raw != nil {
		t.Errorf("got %+v", back)
	}
}
