package collector_test

import (
	"sync"
	"testing"
	"time"

	analytics "gopkg.in/segmentio/analytics-go.v3"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

type callback struct {
	mu        sync.Mutex
	successes int
	failures  []error
}

func (c *callback) Success(analytics.Message) { c.mu.Lock(); c.successes++; c.mu.Unlock() }
func (c *callback) Failure(_ analytics.Message, err error) {
	c.mu.Lock()
	c.failures = append(c.failures, err)
	c.mu.Unlock()
}

// TestSegmentsOwnGoLibraryDeliversToTheCollector points Segment's official Go client
// at the collector, unchanged but for the endpoint, and reads what reached Pulsar.
func TestSegmentsOwnGoLibraryDeliversToTheCollector(t *testing.T) {
	env := testenv.New(t)
	base := startCollector(t, env.Provision.PulsarURL, env.Tenant, env.Namespace, nil)
	cb := &callback{}
	client, err := analytics.NewWithConfig("it", analytics.Config{Endpoint: base, Interval: 50 * time.Millisecond, BatchSize: 10, Callback: cb})
	if err != nil {
		t.Fatal(err)
	}
	msgs := []analytics.Message{
		analytics.Track{UserId: "u-42", Event: "Order Completed", Properties: analytics.NewProperties().SetRevenue(42)},
		analytics.Page{UserId: "u-42", Name: "Checkout"},
		analytics.Identify{UserId: "u-42", Traits: analytics.NewTraits().SetEmail("ada@example.com")},
		analytics.Group{UserId: "u-42", GroupId: "acme"},
		analytics.Alias{UserId: "u-42", PreviousId: "anon-9"},
	}
	for _, m := range msgs {
		if err := client.Enqueue(m); err != nil {
			t.Fatal(err)
		}
	}
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	if cb.successes != len(msgs) || len(cb.failures) > 0 {
		t.Fatalf("library reports %d successes and failures %v", cb.successes, cb.failures)
	}
	got := drain(t, env.Client(), env.Topic(schemas.TopicEvents), len(msgs))
	if len(got) != len(msgs) {
		t.Fatalf("%d events reached Pulsar, want %d", len(got), len(msgs))
	}
	for _, m := range got {
		if m.Key() != "u-42" {
			t.Errorf("key %q, want u-42", m.Key())
		}
	}
}
