package sources

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
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
	ss, err := Load("../../deploy/local/sources.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dev := ss.ByWriteKey()["dev"]
	if dev == nil || dev.Tenant == "" || dev.Namespace == "" || len(dev.Origins) == 0 || dev.ReadKey == "" {
		t.Fatalf("dev source = %+v", dev)
	}
	if got := dev.Topic("events"); got != "persistent://"+dev.Tenant+"/"+dev.Namespace+"/events" {
		t.Errorf("topic %q", got)
	}
	if server := ss.ByWriteKey()["dev-server"]; server == nil || !server.Server {
		t.Errorf("dev-server source = %+v, want a server source", server)
	}
	// Both sources write into one namespace: provisioning and the archiver see it once.
	if got, want := ss.Namespaces(), []Namespace{{Tenant: "clicktrail", Namespace: "dev"}}; !slices.Equal(got, want) {
		t.Errorf("namespaces %v, want %v", got, want)
	}
}

func TestBadSourcesFilesAreRefusedWithTheReason(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"a source without an id", "sources:\n  - {writeKey: k, tenant: t, namespace: n}\n", []string{"source 0 (line 2): id is required"}},
		{"a source without a write key", "sources:\n  - id: a\n    tenant: t\n    namespace: n\n", []string{"source a: writeKey is required"}},
		{"two sources sharing a write key", "sources:\n  - {id: a, writeKey: k, tenant: t, namespace: n}\n  - {id: b, writeKey: k, tenant: t, namespace: m}\n", []string{"source b: writeKey is also used by source a"}},
		{"a negative rate limit", "sources:\n  - {id: a, writeKey: k, tenant: t, namespace: n, rateLimit: {eventsPerSecond: -1}}\n", []string{"source a: rateLimit must not be negative"}},
		{"a negative burst", "sources:\n  - {id: a, writeKey: k, tenant: t, namespace: n, rateLimit: {burst: -1}}\n", []string{"source a: rateLimit must not be negative"}},
		{"an unknown time zone", "sources:\n  - {id: a, writeKey: k, tenant: t, namespace: n, timezone: Mars/Olympus}\n", []string{"source a: timezone"}},
		{"a tenant Pulsar cannot name", "sources:\n  - {id: a, writeKey: k, tenant: t/x, namespace: n}\n", []string{"source a: invalid tenant"}},
		{"no namespace", "sources:\n  - {id: a, writeKey: k, tenant: t}\n", []string{"source a: invalid namespace"}},
		{"a misspelt key", "sources:\n  - {id: a, writeKey: k, tenant: t, namespace: n, origin: [x]}\n", []string{`source a: unknown key "origin" (line 2)`}},
		{"a misspelt key of the rate limit", "sources:\n  - id: a\n    writeKey: k\n    tenant: t\n    namespace: n\n    rateLimit:\n      eventsPerSecond: 5\n      burts: 10\n", []string{`source a: unknown key "rateLimit.burts" (line 8)`}},
		{"a key in the wrong case", "sources:\n  - {id: a, writeKey: k, tenant: t, namespace: n, ratelimit: {}}\n", []string{`source a: unknown key "ratelimit"`}},
		{"a misspelt top-level key", "source:\n  - {id: a, writeKey: k, tenant: t, namespace: n}\n", []string{`unknown key "source" (line 1)`}},
		{"a value of the wrong type", "sources:\n  - {id: a, writeKey: k, tenant: t, namespace: n, server: maybe}\n", []string{"source a:", "maybe"}},
		{"no sources at all", "sources: []\n", []string{"no sources"}},
		{"an empty file", "", []string{"no sources"}},
		{"not YAML", "sources: [\n", []string{"parse"}},
		{"every problem at once", "sources:\n  - {id: a, tenant: t, namespace: n}\n  - {id: b, writeKey: k, tenant: t, namespace: n, timezone: Nowhere, orgins: []}\n",
			[]string{"source a: writeKey is required", "source b: timezone", `source b: unknown key "orgins"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeSources(t, tc.yaml)
			_, err := Load(path)
			if err == nil {
				t.Fatalf("Load accepted %q", tc.yaml)
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("err = %v, want it to name the file", err)
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want it to contain %q", err, want)
				}
			}
		})
	}
}

func TestEveryKeyOfASourceIsKnown(t *testing.T) {
	ss, err := Parse([]byte(`sources:
  - id: shop
    writeKey: wk
    readKey: rk
    tenant: acme
    namespace: web
    origins: [https://shop.example]
    rateLimit: {eventsPerSecond: 2.5, burst: 7}
    timezone: Europe/Paris
    server: true
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Source{ID: "shop", WriteKey: "wk", ReadKey: "rk", Tenant: "acme", Namespace: "web",
		Origins: []string{"https://shop.example"}, RateLimit: RateLimit{EventsPerSecond: 2.5, Burst: 7},
		Timezone: "Europe/Paris", Server: true}
	if len(ss) != 1 || !reflect.DeepEqual(*ss[0], want) {
		t.Fatalf("got %+v, want %+v", ss, want)
	}
}

func TestTheTimeZoneDefaultsToUTC(t *testing.T) {
	loc, err := (&Source{}).Location()
	if err != nil || loc != time.UTC {
		t.Errorf("Location() = %v, %v; want UTC", loc, err)
	}
	loc, err = (&Source{Timezone: "Asia/Tokyo"}).Location()
	if err != nil || loc.String() != "Asia/Tokyo" {
		t.Errorf("Location() = %v, %v; want Asia/Tokyo", loc, err)
	}
}

func TestNamespacesAreListedOnceInFileOrder(t *testing.T) {
	ss := Sources{
		{Tenant: "b", Namespace: "web"}, {Tenant: "a", Namespace: "web"},
		{Tenant: "b", Namespace: "web"}, {Tenant: "b", Namespace: "api"},
	}
	want := []Namespace{{"b", "web"}, {"a", "web"}, {"b", "api"}}
	if got := ss.Namespaces(); !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
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
	ss := Sources{{Origins: []string{"https://a.example"}}, s}
	if !ss.AnyAllowsOrigin("https://shop.example") || ss.AnyAllowsOrigin("https://other.example") {
		t.Error("AnyAllowsOrigin should accept an origin of any source and only those")
	}
}
