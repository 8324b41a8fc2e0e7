package archiver_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// largeEvent is a stored event of about 30 KB that zstd cannot shrink much: a 5 KB
// page path (in the URL, the path and the context) and 15 KB of properties.
func largeEvent(rng *rand.Rand, i int) []byte {
	text := func(n int) string {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}
	path := "/" + text(5<<10)
	e := schemas.Event{
		Type: "page", MessageID: fmt.Sprintf("big-%06d", i), AnonymousID: fmt.Sprintf("anon-%d", i%7),
		ReceivedAt: schemas.NewTime(received.Add(time.Duration(i) * time.Millisecond)),
		Context:    json.RawMessage(`{"page":{"url":"https://x.example` + path + `","path":"` + path + `"}}`),
		Properties: json.RawMessage(`{"blob":"` + text(15<<10) + `"}`), Tenant: "t", Source: "s",
	}
	b, _ := json.Marshal(e)
	return b
}

// A restarted archiver replays the unacknowledged backlog of its partitions. With row
// groups of 50,000 rows, a backlog of large events held all its rows in memory and the
// replay died as the first run had. Here a fresh archiver drains a backlog of 4,000
// events of 30 KB (120 MB) on one partition, as a restart would, with the heap sampled:
// it stays within a bound that does not grow with the backlog, and every row is stored.
func TestABacklogOfLargeEventsDrainsWithinAHeapBound(t *testing.T) {
	const n = 4000
	const peakBound = 360 << 20
	env := testenv.New(t, testenv.Partitions(1))
	rng := rand.New(rand.NewPCG(5, 6))
	p, err := env.Client().CreateProducer(pulsar.ProducerOptions{Topic: env.Topic(schemas.TopicEvents), BatchingMaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		p.SendAsync(t.Context(), &pulsar.ProducerMessage{Key: "k", Payload: largeEvent(rng, i)}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				t.Errorf("send: %v", err)
			}
		})
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	p.Close()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			mu.Lock()
			peak = max(peak, ms.HeapInuse)
			mu.Unlock()
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	start := time.Now()
	_, stop := startArchiver(t, env, 2*time.Second)
	// Waiting reads only the broker's statistics: reading the lake here would put the
	// test's own copies of the rows on the heap being measured.
	tn, _ := utils.GetTopicName(env.Topic(schemas.TopicEvents))
	waitUntil(t, 3*time.Minute, "every large event stored and acknowledged", func() bool {
		stats, err := env.Admin().Topics().GetPartitionedStatsWithContext(t.Context(), *tn, false)
		return err == nil && stats.Subscriptions[schemas.SubscriptionArchiver].MsgBacklog == 0 &&
			stats.Subscriptions[schemas.SubscriptionArchiver].MsgOutCounter > 0
	})
	drained := time.Since(start)
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	close(done)
	<-sampled
	rows, keys := readTable[schemas.EventRow](t, env, "events")
	ids := map[string]bool{}
	for _, r := range rows {
		ids[r.MessageID] = true
	}
	grown := float64(peak-min(peak, base)) / (1 << 20)
	t.Logf("%d events of 30 KB drained in %v into %d files; HeapInuse peak %.0f MiB above the start", n, drained.Round(time.Millisecond), len(keys), grown)
	if len(rows) != n || len(ids) != n {
		t.Fatalf("%d rows, %d distinct; want %d of each", len(rows), len(ids), n)
	}
	if grown > peakBound>>20 {
		t.Errorf("HeapInuse peaked %.0f MiB above the start, want under %d MiB", grown, peakBound>>20)
	}
}
