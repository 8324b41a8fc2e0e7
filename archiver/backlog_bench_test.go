package archiver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/minio/minio-go/v7"
	"github.com/parquet-go/parquet-go"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// benchPayload is a realistic stored event: one of n/5 visitors, one of a few pages.
func benchPayload(i, visitors int) (key string, payload []byte) {
	pages := []string{"/", "/pricing", "/docs/getting-started", "/blog/launch", "/signup"}
	page := pages[i%len(pages)]
	user := fmt.Sprintf("anon-%08d", i%visitors)
	at := time.Now().UTC().Add(-time.Hour).Add(time.Duration(i) * time.Millisecond)
	e := schemas.Event{
		Type: "page", Name: strings.Trim(page, "/"), MessageID: fmt.Sprintf("6d0f5c3e-1b2a-4e8f-a7c9-%012d", i), AnonymousID: user,
		Timestamp: schemas.NewTime(at.Add(-40 * time.Millisecond)), SentAt: schemas.NewTime(at.Add(-20 * time.Millisecond)), ReceivedAt: schemas.NewTime(at),
		Context:    json.RawMessage(`{"page":{"url":"https://www.example.com` + page + `?utm_source=newsletter&utm_medium=email&utm_campaign=autumn","path":"` + page + `","title":"Example","referrer":"https://news.example.org/top"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36","locale":"en-US","timezone":"America/New_York","screen":{"width":1920,"height":1080,"density":1},"library":{"name":"clicktrail-sdk","version":"0.1.0"},"campaign":{"source":"newsletter","medium":"email","name":"autumn"},"sessionId":` + strconv.Itoa(1732520000+i%visitors) + `}`),
		Properties: json.RawMessage(`{"path":"` + page + `","search":"","width":` + strconv.Itoa(1024+i%900) + `}`), Tenant: "clicktrail", Source: "web",
		Enrichment: &schemas.Enrichment{IP: fmt.Sprintf("203.0.%d.0", i%200), Browser: "Chrome", BrowserVersion: "126.0.0.0", OS: "Windows", OSVersion: "10.0", DeviceType: "desktop"},
	}
	payload, _ = json.Marshal(e)
	return user, payload
}

// BenchmarkBacklog drains a backlog of CLICKTRAIL_BENCH_EVENTS events (default 200,000)
// from the real Pulsar (4 partitions) twice: once with a Failover consumer that only
// receives and acknowledges (the baseline), once with the archiver binary as a child
// process with 128 MiB files and a 1-hour roll age, stopped with SIGTERM once it has
// written every row (the stop stores and acknowledges the open files; that time
// counts). It reports both rates and their ratio, the archiver's CPU time and peak
// resident memory, and the stored Parquet bytes per event against the JSON the
// collector published.
func BenchmarkBacklog(b *testing.B) {
	n := 200_000
	if v := os.Getenv("CLICKTRAIL_BENCH_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("CLICKTRAIL_BENCH_EVENTS=%q is not a positive number", v)
		}
	}
	bin := filepath.Join(b.TempDir(), "archiver")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/archiver").CombinedOutput(); err != nil {
		b.Fatalf("build archiver: %v\n%s", err, out)
	}
	for range b.N {
		env := testenv.New(b, testenv.Partitions(4))
		ctx := context.Background()

		prod, err := env.Client().CreateProducer(pulsar.ProducerOptions{
			Topic: env.Topic(schemas.TopicEvents), CompressionType: pulsar.LZ4, BatcherBuilderType: pulsar.KeyBasedBatchBuilder,
			MaxPendingMessages: 5000,
		})
		if err != nil {
			b.Fatal(err)
		}
		jsonBytes := 0
		for i := range n {
			key, payload := benchPayload(i, max(n/5, 1))
			jsonBytes += len(payload)
			prod.SendAsync(ctx, &pulsar.ProducerMessage{Key: key, Payload: payload}, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
				if err != nil {
					b.Errorf("publish: %v", err)
				}
			})
		}
		if err := prod.FlushWithCtx(ctx); err != nil {
			b.Fatal(err)
		}
		prod.Close()

		// Baseline: receive and acknowledge only, Failover as the archiver.
		cons, err := env.Client().Subscribe(pulsar.ConsumerOptions{
			Topic: env.Topic(schemas.TopicEvents), SubscriptionName: "baseline", Type: pulsar.Failover,
			SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest, ReceiverQueueSize: 2000,
		})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		for range n {
			msg := <-cons.Chan()
			_ = cons.Ack(msg)
		}
		baseline := time.Since(start)
		cons.Close()

		// The archiver, as a process of its own, from the same backlog.
		sources := filepath.Join(b.TempDir(), "sources.yaml")
		if err := os.WriteFile(sources, []byte(fmt.Sprintf("sources:\n  - id: archiver-test\n    writeKey: archiver-test\n    tenant: %s\n    namespace: %s\n", env.Tenant, env.Namespace)), 0o600); err != nil {
			b.Fatal(err)
		}
		addr := testenv.FreeAddr(b)
		cmd := exec.Command(bin, "--archiver.addr", addr, "--sources", sources, "--pulsar.url", env.Provision.PulsarURL,
			"--archiver.key-prefix", env.Prefix, "--archiver.roll-size", strconv.Itoa(128<<20), "--archiver.roll-age", "1h",
			"--archiver.tmp-dir", b.TempDir(), "--log.level", "warn")
		cmd.Env = append(os.Environ(), "CLICKTRAIL_S3_ENDPOINT="+env.Provision.S3Endpoint)
		cmd.Stderr = os.Stderr
		start = time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		peak := watchPeakRSS(cmd.Process.Pid)
		for rowsWritten(addr) < n {
			if time.Since(start) > 15*time.Minute {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				b.Fatalf("the archiver wrote %d of %d rows in 15 minutes", rowsWritten(addr), n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			b.Fatalf("archiver after SIGTERM: %v", err)
		}
		archived := time.Since(start)
		peakKiB := peak()
		cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()

		// What a reader finds: every row stored, nothing left to acknowledge.
		rows, files, stored := storedEvents(b, env)
		if rows != int64(n) {
			b.Fatalf("the events table holds %d rows, want %d", rows, n)
		}
		tn, _ := utils.GetTopicName(env.Topic(schemas.TopicEvents))
		stats, err := env.Admin().Topics().GetPartitionedStatsWithContext(ctx, *tn, false)
		if err != nil {
			b.Fatal(err)
		}
		if backlog := stats.Subscriptions[schemas.SubscriptionArchiver].MsgBacklog; backlog != 0 {
			b.Fatalf("archiver subscription backlog %d after a clean stop", backlog)
		}

		b.ReportMetric(float64(n)/baseline.Seconds(), "baseline-events/s")
		b.ReportMetric(float64(n)/archived.Seconds(), "archiver-events/s")
		b.ReportMetric(baseline.Seconds()/archived.Seconds(), "ratio")
		b.ReportMetric(float64(n)/cpu.Seconds(), "archiver-events/cpu-s")
		b.ReportMetric(float64(peakKiB)/1024, "archiver-peak-RSS-MiB")
		b.ReportMetric(float64(stored)/float64(n), "parquet-B/event")
		b.ReportMetric(float64(jsonBytes)/float64(n), "json-B/event")
		b.Logf("backlog of %d events: consume-and-ack %v; archiver %v wall (process start to exit, including connecting and the final flush), %v CPU, %d files, %d Parquet bytes (%.1f%% of %d JSON bytes), peak RSS %d KiB",
			n, baseline, archived, cpu, files, stored, 100*float64(stored)/float64(jsonBytes), jsonBytes, peakKiB)
	}
}

// watchPeakRSS samples the process's VmHWM (its peak resident memory since exec) every
// 20 ms until it exits; the returned function gives the last sample. (The rusage of a
// child is no use here: its maxrss includes the parent's, which the child shared until
// exec.)
func watchPeakRSS(pid int) (peakKiB func() int64) {
	var last atomic.Int64
	go func() {
		path := fmt.Sprintf("/proc/%d/status", pid)
		for {
			b, err := os.ReadFile(path)
			if err != nil {
				return
			}
			_, rest, ok := strings.Cut(string(b), "VmHWM:")
			if !ok {
				return // a zombie: no memory any more
			}
			if kib, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64); err == nil {
				last.Store(kib)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return last.Load
}

// rowsWritten reads clicktrail_archiver_rows_total{table="events"} from the archiver's
// /metrics (0 while it does not answer yet).
func rowsWritten(addr string) int {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), `clicktrail_archiver_rows_total{table="events"} `); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int(f)
		}
	}
	return 0
}

// storedEvents counts the rows (from each file's footer), files and bytes of the
// events table.
func storedEvents(b *testing.B, env *testenv.Env) (rows int64, files int, bytes int64) {
	ctx := context.Background()
	for obj := range env.S3().ListObjects(ctx, env.Provision.Bucket, minio.ListObjectsOptions{Prefix: env.Prefix + "events/", Recursive: true}) {
		if obj.Err != nil {
			b.Fatal(obj.Err)
		}
		o, err := env.S3().GetObject(ctx, env.Provision.Bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		f, err := parquet.OpenFile(o, obj.Size)
		if err != nil {
			b.Fatalf("open %s: %v", obj.Key, err)
		}
		rows += f.NumRows()
		files++
		bytes += obj.Size
		o.Close()
	}
	return rows, files, bytes
}
