package archiver_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// TestSIGKILLWhileUploadingNeitherLosesNorDoublesARow kills the archiver process
// repeatedly while events stream in and files roll every 200 ms, restarts it each
// time, and checks that the lake ends with every event exactly once.
func TestSIGKILLWhileUploadingNeitherLosesNorDoublesARow(t *testing.T) {
	env := testenv.New(t, testenv.Partitions(2))
	bin := filepath.Join(t.TempDir(), "archiver")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/archiver").CombinedOutput(); err != nil {
		t.Fatalf("build archiver: %v\n%s", err, out)
	}
	sources := filepath.Join(t.TempDir(), "sources.yaml")
	if err := os.WriteFile(sources, []byte(fmt.Sprintf("sources:\n  - id: archiver-test\n    writeKey: archiver-test\n    tenant: %s\n    namespace: %s\n", env.Tenant, env.Namespace)), 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "--archiver.addr", "127.0.0.1:0", "--sources", sources, "--pulsar.url", env.Provision.PulsarURL,
			"--archiver.key-prefix", env.Prefix, "--archiver.roll-age", "200ms", "--archiver.tmp-dir", tmp, "--log.level", "warn")
		cmd.Env = append(os.Environ(), "CLICKTRAIL_S3_ENDPOINT="+env.Provision.S3Endpoint)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}

	// Events stream in throughout: 20 every 25 ms, 8,000 in all (about 10 s).
	const total = 8000
	producer, err := env.Client().CreateProducer(pulsar.ProducerOptions{Topic: env.Topic(schemas.TopicEvents), BatcherBuilderType: pulsar.KeyBasedBatchBuilder})
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range total {
			user := fmt.Sprintf("anon-%d", i%57)
			producer.SendAsync(context.Background(), &pulsar.ProducerMessage{Key: user, Payload: storedEvent(i, user)}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err != nil {
					t.Errorf("send: %v", err)
				}
			})
			if i%20 == 19 {
				time.Sleep(25 * time.Millisecond)
			}
		}
		_ = producer.Flush()
	}()

	stored := 0
	for kill := range 6 {
		cmd := start()
		// Long enough to subscribe and store a few files, cut at varying moments.
		time.Sleep(time.Duration(1300+kill*170) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		_, keys := readTable[schemas.EventRow](t, env, "events")
		if kill == 5 && len(keys) == stored {
			t.Fatalf("no file stored during the killed runs: the kills did not interrupt uploads")
		}
		stored = len(keys)
	}
	wg.Wait()

	// A last run drains the rest and stops cleanly.
	cmd := start()
	deadline := time.Now().Add(90 * time.Second)
	var rows []schemas.EventRow
	for time.Now().Before(deadline) {
		if rows, _ = readTable[schemas.EventRow](t, env, "events"); len(rows) >= total {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("archiver after SIGTERM: %v", err)
	}
	rows, keys := readTable[schemas.EventRow](t, env, "events")
	ids := map[string]int{}
	for _, r := range rows {
		ids[r.MessageID]++
	}
	dups := 0
	for _, n := range ids {
		dups += n - 1
	}
	t.Logf("%d rows in %d files after 6 kills (%d files stored before the last run)", len(rows), len(keys), stored)
	if len(ids) != total || len(rows) != total {
		t.Fatalf("after 6 SIGKILLs: %d rows, %d distinct message ids (%d duplicates); want %d of each", len(rows), len(ids), dups, total)
	}
}
