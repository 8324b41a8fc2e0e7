package collector

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeSources(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sources.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTheDevelopmentSourcesFileLoads(t *testing.T) {
	ss, err := LoadSources("../deploy/local/sources.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dev := ss["dev"]
	if dev == nil || dev.Tenant == "" || dev.Namespace == "" || len(dev.Origins) == 0 {
		t.Fatalf("dev source = %+v", dev)
	}
	if got := dev.Topic("events"); got != "persistent://"+dev.Tenant+"/"+dev.Namespace+"/events" {
		t.Errorf("topic %q", got)
	}
}

func TestBadSourcesFilesAreRefusedWithTheReason(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"a source without a write key", "sources:\n  - id: a\n    tenant: t\n    namespace: n\n", "writeKey is required"},
		{"two sources sharing a write key", "sources:\n  - {id: a, writeKey: k, tenant: t, namespace: n}\n  - {id: b, writeKey: k, tenant: t, namespace: m}\n", "also used by source a"},
		{"a negative rate limit", "sources:\n  - {id: a, writeKey: k, tenant: t, namespace: n, rateLimit: {eventsPerSecond: -1}}\n", "must not be negative"},
		{"an unknown time zone", "sources:\n  - {id: a, writeKey: k, tenant: t, namespace: n, timezone: Mars/Olympus}\n", "timezone"},
		{"a misspelt key", "sources:\n  - {id: a, writeKey: k, tenant: t, namespace: n, origin: [x]}\n", "origin"},
		{"no sources at all", "sources: []\n", "no sources"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadSources(writeSources(t, tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestOriginsAreMatchedExactly(t *testing.T) {
	s := &Source{Origins: []string{"https://shop.example"}}
	for origin, want := range map[string]bool{
		"https://shop.example":      true,
		"http://shop.example":       false,
		"https://shop.example.evil": false,
		"":                          false,
	} {
		if got := s.AllowsOrigin(origin); got != want {
			t.Errorf("AllowsOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
	if !(&Source{Origins: []string{"*"}}).AllowsOrigin("https://any.example") {
		t.Error("a * origin should allow any page")
	}
}
