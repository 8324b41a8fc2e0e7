package schemas

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestASessionTravelsAsFlatCamelCaseJSON(t *testing.T) {
	s := Session{
		SessionID: "0a1b", Tenant: "acme", Source: "web", UserKey: "anon-1", StartedAt: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC),
		EndedAt: time.Date(2026, 11, 25, 10, 3, 0, 0, time.UTC), DurationMs: 180000, EventCount: 3, PageviewCount: 2,
		EntryPage: "/", ExitPage: "/pricing", Campaign: Campaign{Source: "news"}, IsBounce: false, EndReason: "inactivity",
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"sessionId":"0a1b"`, `"userKey":"anon-1"`, `"startedAt":"2026-11-25T10:00:00Z"`, `"durationMs":180000`,
		`"pageviewCount":2`, `"entryPage":"/"`, `"isBounce":false`, `"endReason":"inactivity"`, `"campaign":{"name":"","source":"news"`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("%s lacks %s", b, key)
		}
	}
	var back Session
	if err := json.Unmarshal(b, &back); err != nil || back != s {
		t.Errorf("round trip: %+v, %v", back, err)
	}
}
