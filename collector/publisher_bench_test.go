package collector

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/internal/obs"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// BenchmarkPublish measures the collector's publishing path into the real Pulsar, as
// the handler drives it: requests of 20 events of one visitor (one key), 32 requests
// in flight, each waiting for all its acknowledgements. It reports this process's CPU
// per message (user + system, from getrusage: the client's batching, compression,
// framing, callbacks and the garbage they make; the broker is another process) and
// messages/s. The sub-benchmark is named after the Pulsar client compiled in:
// client=patched with go.mod's replacement (internal/thirdparty), client=upstream
// without it (`make bench` runs both, deploy/local/bench-client.sh).
func BenchmarkPublish(b *testing.B) {
	b.Run("client="+pulsarClientBuild(), func(b *testing.B) {
		env := testenv.New(b)
		client, err := pulsarx.NewClient(env.Provision.PulsarURL, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer client.Close()
		cfg := DefaultConfig()
		cfg.InstanceID = "bench-" + env.Namespace
		pub := newPulsarPublisher(client, &cfg, slog.New(slog.DiscardHandler), newMetrics(prometheus.NewRegistry()))
		topic := env.Topic(schemas.TopicEvents)
		if err := pub.connect([]string{topic}); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = pub.flushAndClose(context.Background()) }()

		payload := []byte(`{"type":"page","name":"pricing","messageId":"m-1","anonymousId":"anon-1","timestamp":"2026-11-25T10:00:00Z","receivedAt":"2026-11-25T10:00:01Z","context":{"page":{"url":"https://www.example.com/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=autumn","path":"/pricing","title":"Pricing","referrer":"https://news.example.org/top"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36","locale":"en-US","timezone":"America/New_York","campaign":{"source":"newsletter","medium":"email","name":"autumn"}},"tenant":"acme","source":"web"}`)
		request := func(key string) error {
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for i := range 20 {
				wg.Add(1)
				msg := &Message{Key: key, Payload: payload, EventTime: time.Now(), Properties: map[string]string{
					"source": "web", "request_id": key, "message_id": fmt.Sprintf("%s-%d", key, i),
				}}
				pub.PublishAsync(context.Background(), topic, msg, func(err error) {
					if err != nil {
						errs <- err
					}
					wg.Done()
				})
			}
			wg.Wait()
			close(errs)
			return <-errs
		}
		for i := range 200 { // warm up: connections, pools
			if err := request(fmt.Sprintf("warm-%d", i)); err != nil {
				b.Fatal(err)
			}
		}

		requests := max(b.N/20, 1)
		sem := make(chan struct{}, 32)
		var wg sync.WaitGroup
		var failed sync.Once
		b.ResetTimer()
		cpu0, start := obs.ProcessCPU(), time.Now()
		for r := range requests {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				if err := request(fmt.Sprintf("anon-%d", r)); err != nil {
					failed.Do(func() { b.Error(err) })
				}
			}()
		}
		wg.Wait()
		cpu, wall := obs.ProcessCPU()-cpu0, time.Since(start)
		b.StopTimer()
		msgs := float64(requests * 20)
		b.ReportMetric(float64(cpu.Microseconds())/msgs, "cpu-µs/msg")
		b.ReportMetric(msgs/wall.Seconds(), "msgs/s")
	})
}

// pulsarClientBuild says which Pulsar client this binary holds: "upstream" when the
// client's code was compiled from the module cache (a versioned path,
// ".../pulsar-client-go@v0.21.0/..."), "patched" when from go.mod's replacement.
// (A test binary carries no module list to ask instead.)
func pulsarClientBuild() string {
	pc := reflect.ValueOf(pulsar.NewClient).Pointer()
	file, _ := runtime.FuncForPC(pc).FileLine(pc)
	if strings.Contains(file, "pulsar-client-go@") {
		return "upstream"
	}
	return "patched"
}
