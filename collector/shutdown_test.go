package collector_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// TestARequestInFlightAtShutdownIsStillAcknowledged stops the collector while a request
// waits for Pulsar (a long batching delay holds its events in the producer): the client
// still gets its 200, the events are in the topic, and Serve returns without error.
func TestARequestInFlightAtShutdownIsStillAcknowledged(t *testing.T) {
	env := testenv.New(t)
	base, stop := runCollector(t, env.Provision.PulsarURL, env.Tenant, env.Namespace, func(c *collector.Config) {
		c.BatchDelay = 800 * time.Millisecond
	})
	type answer struct {
		code int
		body string
	}
	answered := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/batch", bytes.NewReader(batchOf("anon-shutdown", 3, "x")))
		req.Header.Set("X-Write-Key", "it")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- answer{0, err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answered <- answer{resp.StatusCode, string(b)}
	}()
	time.Sleep(200 * time.Millisecond) // the request now waits for its acknowledgement
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()

	a := <-answered
	if a.code != 200 || !strings.Contains(a.body, `"accepted":3`) {
		t.Fatalf("request in flight at shutdown: %d %s, want 200", a.code, a.body)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if got := drain(t, env.Client(), env.Topic(schemas.TopicEvents), 3); len(got) != 3 {
		t.Fatalf("%d events in Pulsar after shutdown, want 3", len(got))
	}
}
