package collector_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/internal/testenv"
)

// TestWhileTheBrokerIsDownRequestsGet503AndTheCollectorRecoversByItself stops a
// private broker under a running collector: /readyz turns 503 within seconds, without
// any request to notice it, requests are answered 503 with Retry-After (never 200),
// and once the broker is back /readyz is 200 and requests succeed again without
// restarting the collector.
func TestWhileTheBrokerIsDownRequestsGet503AndTheCollectorRecoversByItself(t *testing.T) {
	ns := sources.Namespace{Tenant: "outage", Namespace: "web"}
	broker := testenv.NewPrivateBroker(t, ns)
	base := startCollector(t, broker.URL, ns.Tenant, ns.Namespace, func(c *collector.Config) {
		c.PublishTimeout = 3 * time.Second
	})
	send := func() (int, string) {
		return post(t, base+"/v1/batch", batchOf("anon-outage", 5, "x"), map[string]string{"X-Write-Key": "it"})
	}
	if code, body := send(); code != 200 {
		t.Fatalf("before the outage: %d %s", code, body)
	}

	if code := readyz(t, base); code != 200 {
		t.Fatalf("readyz before the outage: %d", code)
	}

	if err := broker.Stop(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	waitFor(t, 20*time.Second, "readyz 503 with the broker down", func() bool { return readyz(t, base) == 503 })
	t.Logf("not ready %s after the broker stopped", time.Since(stopped).Round(100*time.Millisecond))
	for i := range 3 {
		code, body := send()
		if code != 503 || !strings.Contains(body, "unavailable") {
			t.Fatalf("request %d during the outage: %d %s, want 503", i, code, body)
		}
	}

	if code := readyz(t, base); code != 503 {
		t.Errorf("readyz during the outage: %d, want 503", code)
	}

	if err := broker.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "readyz 200 after the broker came back", func() bool { return readyz(t, base) == 200 })
	waitFor(t, 90*time.Second, "a 200 after the broker came back", func() bool {
		code, _ := send()
		return code == 200
	})
}

// readyz returns the status of base's /readyz, 0 when it does not answer.
func readyz(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}
