package collector_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/clicktrail/clicktrail/internal/testenv"
)

// A request of one visitor becomes one key-based batch per producer flush. The Pulsar
// client as released (v0.19.0 to v0.21.0) allocates a 512 KiB LZ4 hash table for each such batch,
// which made garbage collection the collector's largest cost; go.mod replaces the
// client with a copy that does not (internal/thirdparty/README.md). This test fails if
// that replacement is dropped before upstream fixes it.
func TestPublishingAKeyedBatchAllocatesFarLessThanAnLZ4HashTable(t *testing.T) {
	env := testenv.New(t)
	base := startCollector(t, env.Provision.PulsarURL, env.Tenant, env.Namespace, nil)
	pad := strings.Repeat("clicktrail ", 30)
	send := func(from, n int) {
		for i := from; i < from+n; i++ {
			postBatch(t, base, fmt.Sprintf("anon-%04d", i), 20, pad)
			if t.Failed() {
				t.FailNow()
			}
		}
	}
	send(0, 50) // warm up: connections, pools, the user-agent parser's caches
	const requests = 300
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	send(50, requests)
	runtime.ReadMemStats(&after)
	perRequest := (after.TotalAlloc - before.TotalAlloc) / requests
	t.Logf("%d requests of 20 events (one visitor each, %d B): %d KiB allocated per request, test client included", requests, len(batchOf("anon-0000", 20, pad)), perRequest/1024)
	// Patched: about 230 KiB (the client's per-key batch buffers, the request, the
	// test's own client); unpatched: about 790 KiB.
	if perRequest > 400<<10 {
		t.Errorf("%d KiB allocated per request of one visitor, want under 400 KiB (a 512 KiB LZ4 hash table per key-based batch?)", perRequest/1024)
	}
}
