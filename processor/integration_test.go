package processor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/internal/obs"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// instance is a processor running in this test process.
type instance struct {
	p    *Processor
	reg  *prometheus.Registry
	stop context.CancelFunc
	done chan error
}

func startInstance(t testing.TB, cfg Config, name string) *instance {
	t.Helper()
	cfg.Instance = name + "-" + fmt.Sprint(time.Now().UnixNano()%100000)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("instance", name)
	}
	reg := obs.NewRegistry()
	p, err := New(cfg, log, reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{p: p, reg: reg, stop: cancel, done: make(chan error, 1)}
	go func() { in.done <- p.Run(ctx) }()
	t.Cleanup(func() { in.close(t) })
	waitReady(t, func() string {
		if a := p.Addr(); a != nil {
			return a.String()
		}
		return ""
	})
	return in
}

// close stops the instance gracefully: final checkpoint, then acknowledgements.
func (in *instance) close(t testing.TB) {
	in.stop()
	select {
	case err := <-in.done:
		if err != nil {
			t.Errorf("processor stopped with: %v", err)
		}
		in.done <- nil // a second close returns at once
	case <-time.After(30 * time.Second):
		t.Errorf("processor did not stop within 30s")
	}
}

func (in *instance) addr() string { return in.p.Addr().String() }

// waitReady polls /readyz of the address addr returns until it answers 200.
func waitReady(t testing.TB, addr func() string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if a := addr(); a != "" {
			resp, err := http.Get("http://" + a + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("processor not ready within 60s")
}

// Two instances share the stream from the start; sessions and aggregates equal the
// reference, whichever instance is asked.
func TestTwoInstancesMatchTheReference(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	a, b := startInstance(t, cfg, "a"), startInstance(t, cfg, "b")

	base := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Minute)
	rounds := visitorStream(1, 600, env.Tenant, base)
	produce(t, env.Client(), env.Topic(schemas.TopicEvents), rounds, 100*time.Millisecond, nil)

	want, _ := reference(rounds)
	got := readSessions(t, env.Client(), env.Topic(schemas.TopicSessions), len(want), 60*time.Second)
	from, to := base.Add(-time.Hour), time.Now().Add(time.Minute)
	st := waitForStats(t, a.addr(), env.Tenant, from, to, int64(len(want)), 30*time.Second)
	compareWithReference(t, rounds, got, st)
	if other := fetchStats(t, b.addr(), env.Tenant, from, to); other.Totals != st.Totals {
		t.Errorf("the instances serve different totals:\n a %+v\n b %+v", st.Totals, other.Totals)
	}
}

// An instance joins in the middle of the stream and another leaves (graceful stop)
// later: keys move both times, and still no event is lost or counted twice.
func TestInstancesJoiningAndLeavingMidStreamMatchTheReference(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	a := startInstance(t, cfg, "a")
	var b, c *instance

	base := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Minute)
	rounds := visitorStream(2, 600, env.Tenant, base)
	produce(t, env.Client(), env.Topic(schemas.TopicEvents), rounds, 300*time.Millisecond, func(i int) {
		switch i {
		case 2:
			b = startInstance(t, cfg, "b") // joins: a's keys split with b
		case 4:
			c = startInstance(t, cfg, "c")
		case 6:
			a.close(t) // leaves: its keys move to b and c
		}
	})
	want, _ := reference(rounds)
	got := readSessions(t, env.Client(), env.Topic(schemas.TopicSessions), len(want), 60*time.Second)
	from, to := base.Add(-time.Hour), time.Now().Add(time.Minute)
	st := waitForStats(t, b.addr(), env.Tenant, from, to, int64(len(want)), 30*time.Second)
	compareWithReference(t, rounds, got, st)
	if other := fetchStats(t, c.addr(), env.Tenant, from, to); other.Totals != st.Totals {
		t.Errorf("the instances serve different totals:\n b %+v\n c %+v", st.Totals, other.Totals)
	}
}
