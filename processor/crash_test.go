package processor

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// buildProcessor builds the processor command into a temporary folder.
func buildProcessor(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "processor")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/processor").CombinedOutput()
	if err != nil {
		t.Fatalf("build processor: %v\n%s", err, out)
	}
	return bin
}

// child is a processor running as a child process; log is the file of its output.
type child struct {
	cmd       *exec.Cmd
	addr, log string
}

func startChild(t testing.TB, bin string, cfg Config, name string) *child {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin,
		"--processor.addr", addr, "--pulsar.url", cfg.PulsarURL, "--sources", cfg.SourcesFile,
		"--processor.idle-timeout", cfg.IdleTimeout.String(),
		"--processor.checkpoint-interval", cfg.CheckpointInterval.String(),
		"--processor.snapshot-interval", cfg.SnapshotInterval.String(), "--log.level", cfg.LogLevel)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, addr: addr, log: logf.Name()}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", name, b)
		}
	})
	waitReady(t, func() string { return addr })
	return c
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
}

// Two processor processes share the stream; one is killed with SIGKILL twice in the
// middle of it and started again. Sessions and aggregates equal the reference, as
// for an uninterrupted run.
func TestAProcessorKilledMidStreamLosesAndDoublesNothing(t *testing.T) {
	env := testenv.New(t)
	cfg := testConfig(t, env)
	bin := buildProcessor(t)
	a := startChild(t, bin, cfg, "a")
	b := startChild(t, bin, cfg, "b")

	base := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Minute)
	rounds := visitorStream(3, 2000, env.Tenant, base)
	restarts := 0
	var killed chan struct{}
	produce(t, env.Client(), env.Topic(schemas.TopicEvents), rounds, 300*time.Millisecond, func(i int) {
		switch i {
		case 1, 4:
			// Killed while it processes this round: some events are in its state
			// records, some only in memory, none acknowledged yet.
			killed = make(chan struct{})
			go func() {
				defer close(killed)
				time.Sleep(time.Duration(20+15*i) * time.Millisecond)
				a.kill(t)
			}()
		case 3, 6:
			<-killed
			restarts++
			a = startChild(t, bin, cfg, fmt.Sprintf("a%d", restarts))
		}
	})
	want, _ := reference(rounds)
	got := readSessions(t, env.Client(), env.Topic(schemas.TopicSessions), len(want), 60*time.Second)
	from, to := base.Add(-time.Hour), time.Now().Add(time.Minute)
	st := waitForStats(t, b.addr, env.Tenant, from, to, int64(len(want)), 30*time.Second)
	compareWithReference(t, rounds, got, st)
	t.Logf("events redelivered after the kills and skipped by position: %s", metricValue(t, b.addr, `clicktrail_processor_events_total{outcome="replayed"`))
	if other := waitForStats(t, a.addr, env.Tenant, from, to, int64(len(want)), 10*time.Second); other.Totals != st.Totals {
		t.Errorf("the restarted instance serves other totals:\n b %+v\n a %+v", st.Totals, other.Totals)
	}
}

// metricValue returns the value of the first /metrics line starting with prefix.
func metricValue(t testing.TB, addr, prefix string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, prefix) {
			return line[strings.LastIndexByte(line, ' ')+1:]
		}
	}
	return "0"
}
