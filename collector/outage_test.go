package collector_test

import (
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/deploy/provision"
	"github.com/clicktrail/clicktrail/internal/testenv"
)

// TestWhileTheBrokerIsDownRequestsGet503AndTheCollectorRecoversByItself stops a
// private broker under a running collector: requests are answered 503 with
// Retry-After (never 200), and once the broker is back they succeed again without
// restarting the collector.
func TestWhileTheBrokerIsDownRequestsGet503AndTheCollectorRecoversByItself(t *testing.T) {
	ns := provision.Namespace{Tenant: "outage", Namespace: "web"}
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

	if err := broker.Stop(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		code, body := send()
		if code != 503 || !strings.Contains(body, "unavailable") {
			t.Fatalf("request %d during the outage: %d %s, want 503", i, code, body)
		}
	}

	if err := broker.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "a 200 after the broker came back", func() bool {
		code, _ := send()
		return code == 200
	})
}
