package processor

import (
	"context"
	"encoding/json"
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
	"github.com/clicktrail/clicktrail/processor/protocol"
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
// reference, whichever instance is asked; and each holds the state of half the shards,
// those of the hash range the broker gives it.
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
	for name, in := range map[string]*instance{"a": a, "b": b} {
		if n := metricValue(t, in.addr(), "clicktrail_processor_state_shards"); n != "8" {
			t.Errorf("%s holds %s shards of the session state, want 8 of 16 (its half of the hash range)", name, n)
		}
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

// A key whose session is open moves to another instance (its owner leaves): the new
// owner loads the key's shard, continues the same session, and the session closes
// once, with every event.
func TestAKeyMovingWhileItsSessionIsOpenKeepsTheSession(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	a := startInstance(t, cfg, "a")
	base := time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)
	event := func(i int) *schemas.Event {
		e := &schemas.Event{Type: schemas.TypePage, AnonymousID: "mover", MessageID: fmt.Sprintf("mover-%d", i), Tenant: env.Tenant, Source: "test"}
		e.Ctx.Page.Path = fmt.Sprintf("/step/%d", i)
		e.Timestamp, e.ReceivedAt = schemas.NewTime(base.Add(time.Duration(i)*time.Minute)), schemas.NewTime(base.Add(time.Duration(i)*time.Minute))
		e.Context, _ = json.Marshal(e.Ctx)
		return e
	}
	produce(t, env.Client(), env.Topic(schemas.TopicEvents), [][]*schemas.Event{{event(0), event(1)}}, 0, nil)
	for deadline := time.Now().Add(30 * time.Second); metricValue(t, a.addr(), "clicktrail_processor_events_acknowledged_total") != "2"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a did not acknowledge the first two events")
		}
	}
	if open := metricValue(t, a.addr(), "clicktrail_processor_open_sessions"); open != "1" {
		t.Fatalf("a holds %s open sessions, want the mover's", open)
	}
	b := startInstance(t, cfg, "b")
	a.close(t) // the mover's key goes to b, its session open
	produce(t, env.Client(), env.Topic(schemas.TopicEvents), [][]*schemas.Event{{event(2), event(3)}}, 0, nil)
	got := readSessions(t, env.Client(), env.Topic(schemas.TopicSessions), 1, 60*time.Second)
	if len(got) != 1 {
		t.Fatalf("%d sessions closed, want 1", len(got))
	}
	for _, s := range got {
		if s.EventCount != 4 || s.EntryPage != "/step/0" || s.ExitPage != "/step/3" || s.SessionID != protocol.SessionID("mover", "mover-0") {
			t.Errorf("the session %+v, want 4 events from /step/0 to /step/3 under the first event's session id", s)
		}
	}
	if n := metricValue(t, b.addr(), "clicktrail_processor_state_shards"); n == "0" {
		t.Errorf("b holds no shard")
	}
}
