package processor

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"
	"github.com/minio/minio-go/v7"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/processor/protocol"
	"github.com/clicktrail/clicktrail/schemas"
)

// historyUnacked bounds the events published and not yet acknowledged while the history
// is built: the broker holds no more than that for the instances, however long the
// history.
const historyUnacked = 200_000

// BenchmarkStartAfterHistory is issue 16's start-up goal: a new instance ready and
// processing within 10 s whatever the history retained, measured after at least 10
// million events. CLICKTRAIL_BENCH_HISTORY events of backlogEvents (default 300,000;
// `make bench` sends 10,000,000) pass through CLICKTRAIL_BENCH_HISTORY_INSTANCES
// processor processes (default 2) that run already, published no faster than they
// acknowledge (at most historyUnacked ahead), with snapshots every minute as in
// production, and an idle timeout of a minute, so that the open sessions stay bounded
// (the visitors of about the last minute: a visitor's events come within seconds). No
// archiver runs, so its subscriptions are dropped (see dropArchiverSubscriptions).
// Then the instances stop (SIGINT: each writes the snapshots of its shards and of the
// aggregates; with CLICKTRAIL_BENCH_HISTORY_STOP=kill, SIGKILL as soon as the last
// event is published, up to historyUnacked events not yet acknowledged: the new instance
// then starts from snapshots up to a minute old, reads the commits written since, and
// is handed the events left), a new instance starts alone on that history, and it reports the time
// from its start to ready, and to having acknowledged 2,000 more events of visitors of
// every shard, with what it loaded; and the history: the events per second of its
// build, the open sessions at its end, and what the topics and the object store hold.
func BenchmarkStartAfterHistory(b *testing.B) {
	n := envInt(b, "CLICKTRAIL_BENCH_HISTORY", 300_000)
	count := envInt(b, "CLICKTRAIL_BENCH_HISTORY_INSTANCES", 2)
	kill := os.Getenv("CLICKTRAIL_BENCH_HISTORY_STOP") == "kill"
	bin := buildProcessor(b)
	for range b.N {
		env := testenv.New(b)
		dropArchiverSubscriptions(b, env)
		snapPrefix := "_processor/" + env.Tenant + "/" + env.Namespace + "/"
		cfg := testConfig(b, env)
		cfg.IdleTimeout = time.Minute
		cfg.CheckpointInterval = DefaultConfig().CheckpointInterval
		cfg.SnapshotInterval = DefaultConfig().SnapshotInterval
		cfg.LogLevel = "info" // the new instance's "shards loaded" lines
		var children []*child
		for i := range count {
			children = append(children, startChild(b, bin, cfg, fmt.Sprintf("h%d", i)))
		}
		h := newHistory(b, children, n)
		publishBacklog(b, env, n, h.pace)
		for !kill && !h.acked(n) {
			time.Sleep(200 * time.Millisecond)
		}
		built := time.Since(h.start)
		open := h.sum("clicktrail_processor_open_sessions")
		h.peakOpen = max(h.peakOpen, open)
		var peaks []string
		for _, c := range children {
			peaks = append(peaks, fmt.Sprintf("%.0f", peakRSSMiB(b, c.cmd.Process.Pid)))
		}
		b.Logf("history of %d events through %d instances in %v (%.0f events/s): %d open sessions at the end (at most %d seen), %d snapshots written, peak RSS MiB %s",
			n, count, built.Round(time.Second), float64(n)/built.Seconds(), open, h.peakOpen,
			h.sum(`clicktrail_processor_snapshots_total{result="written"}`), strings.Join(peaks, ", "))
		for i, c := range children {
			if kill {
				_ = c.cmd.Process.Signal(syscall.SIGKILL)
				_ = c.cmd.Wait()
				continue
			}
			_ = c.cmd.Process.Signal(os.Interrupt)
			if err := c.cmd.Wait(); err != nil {
				b.Fatalf("history instance h%d stopped with %v: its final checkpoint or snapshots may be missing", i, err)
			}
		}

		// What the history left: topics and snapshots.
		state := topicStats(b, env, schemas.TopicSessionState, false)
		aggs := topicStats(b, env, schemas.TopicAggregates, false)
		events := topicStats(b, env, schemas.TopicEvents, true)
		shardSnaps, snapBytes := 0, int64(0)
		var aggSnap bool
		for obj := range env.S3().ListObjects(context.Background(), env.Provision.Bucket, minio.ListObjectsOptions{Prefix: snapPrefix, Recursive: true}) {
			if obj.Err != nil {
				b.Fatalf("list the snapshots: %v", obj.Err)
			}
			switch {
			case strings.HasPrefix(obj.Key, snapPrefix+"state/"):
				shardSnaps++
			case obj.Key == snapshotName(env.Tenant+"/"+env.Namespace):
				aggSnap = true
			}
			snapBytes += obj.Size
		}
		if shardSnaps != protocol.StateShards || !aggSnap {
			b.Fatalf("the object store holds %d of %d shard snapshots and the aggregates' snapshot: %v", shardSnaps, protocol.StateShards, aggSnap)
		}
		b.Logf("retained: session-state %.1f MiB in %d messages, aggregates %.1f MiB in %d messages, events %.1f MiB in %d messages; snapshots %.1f MiB (%d shards and the aggregates)",
			mibOf(state.StorageSize), state.MsgCounterIn, mibOf(aggs.StorageSize), aggs.MsgCounterIn, mibOf(events.StorageSize), events.MsgCounterIn,
			mibOf(snapBytes), shardSnaps)

		// A new instance on this history, alone.
		fresh, ready, processing := startFresh(b, bin, cfg, env)
		loaded := shardsLoaded(b, fresh.log)
		how := "stopped"
		if kill {
			how = "killed"
		}
		b.Logf("a new instance after %d events of history, its instances %s: ready in %v, 2,000 more events acknowledged %v after its start; shards %s, open sessions %s; %d shards loaded in %d loads (%v in all) from %d snapshot records and %d commits read; peak RSS %.0f MiB",
			n, how, ready.Round(time.Millisecond), processing.Round(time.Millisecond),
			metricValue(b, fresh.addr, "clicktrail_processor_state_shards"), metricValue(b, fresh.addr, "clicktrail_processor_open_sessions"),
			loaded.Shards, loaded.Loads, loaded.Took.Round(time.Millisecond), loaded.SnapshotRecords, loaded.CommitsRead, peakRSSMiB(b, fresh.cmd.Process.Pid))
		_ = fresh.cmd.Process.Signal(os.Interrupt)
		_ = fresh.cmd.Wait()

		b.ReportMetric(float64(n), "history-events")
		b.ReportMetric(float64(n)/built.Seconds(), "history-events/s")
		b.ReportMetric(float64(open), "open-sessions")
		b.ReportMetric(mibOf(state.StorageSize), "state-MiB")
		b.ReportMetric(mibOf(aggs.StorageSize), "aggregates-MiB")
		b.ReportMetric(ready.Seconds(), "ready-s")
		b.ReportMetric(processing.Seconds(), "processing-s")
		b.ReportMetric(float64(loaded.Shards), "shards-loaded")
		b.ReportMetric(float64(loaded.SnapshotRecords), "snapshot-records")
		b.ReportMetric(float64(loaded.CommitsRead), "commits-read")
	}
}

// history follows the instances that build the history: what they acknowledged, with a
// line of progress every 30 s.
type history struct {
	b        testing.TB
	children []*child
	n        int
	start    time.Time
	sent     int
	peakOpen int

	logged      time.Time // the last progress line, and the count acknowledged then
	loggedAcked int
	moved       time.Time // the last time the count acknowledged grew, and that count
	lastAcked   int
}

func newHistory(b testing.TB, children []*child, n int) *history {
	now := time.Now()
	return &history{b: b, children: children, n: n, start: now, logged: now, moved: now}
}

// pace holds the publisher back while more than historyUnacked of the events it sent
// are not acknowledged.
func (h *history) pace(sent int) {
	h.sent = sent
	if sent%5000 != 0 {
		return
	}
	for !h.acked(sent - historyUnacked) {
		time.Sleep(100 * time.Millisecond)
	}
}

// acked reports whether the instances acknowledged want events. It logs the progress
// every 30 s, and fails b when nothing was acknowledged for 5 minutes.
func (h *history) acked(want int) bool {
	acked := h.sum("clicktrail_processor_events_acknowledged_total")
	now := time.Now()
	if acked > h.lastAcked {
		h.lastAcked, h.moved = acked, now
	}
	if now.Sub(h.moved) > 5*time.Minute {
		h.b.Fatalf("history: nothing acknowledged for 5 minutes (%d of %d sent acknowledged)", acked, h.sent)
	}
	if now.Sub(h.logged) >= 30*time.Second {
		open := h.sum("clicktrail_processor_open_sessions")
		h.peakOpen = max(h.peakOpen, open)
		h.b.Logf("history: %d of %d events published, %d acknowledged (%.0f/s in the last %v, %.0f/s since the start), %d open sessions, %v elapsed",
			h.sent, h.n, acked, float64(acked-h.loggedAcked)/now.Sub(h.logged).Seconds(), now.Sub(h.logged).Round(time.Second),
			float64(acked)/now.Sub(h.start).Seconds(), open, now.Sub(h.start).Round(time.Second))
		h.logged, h.loggedAcked = now, acked
	}
	return acked >= want
}

// sum adds up a metric (the first line starting with prefix) over the instances.
func (h *history) sum(prefix string) int {
	n := 0
	for _, c := range h.children {
		v, _ := strconv.ParseFloat(metricValue(h.b, c.addr, prefix), 64)
		n += int(v)
	}
	return n
}

// loadFigures adds up an instance's "shards loaded" log lines.
type loadFigures struct {
	Loads, Shards, SnapshotRecords, CommitsRead int
	Took                                        time.Duration
}

// shardsLoaded reads the "shards loaded" lines of a child's JSON log.
func shardsLoaded(b testing.TB, path string) loadFigures {
	b.Helper()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out loadFigures
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Msg             string `json:"msg"`
			Shards          int    `json:"shards"`
			SnapshotRecords int    `json:"snapshot_records"`
			CommitsRead     int    `json:"commits_read"`
			Took            string `json:"took"`
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil || line.Msg != "shards loaded" {
			continue
		}
		took, _ := time.ParseDuration(line.Took)
		out.Loads++
		out.Shards += line.Shards
		out.SnapshotRecords += line.SnapshotRecords
		out.CommitsRead += line.CommitsRead
		out.Took += took
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("read %s: %v", path, err)
	}
	return out
}

// topicStats returns the broker's statistics of one of env's topics (its partitions'
// added up when partitioned).
func topicStats(b testing.TB, env *testenv.Env, name string, partitioned bool) utils.TopicStats {
	b.Helper()
	tn, err := utils.GetTopicName(env.Topic(name))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if partitioned {
		st, err := env.Admin().Topics().GetPartitionedStatsWithContext(ctx, *tn, true)
		if err != nil {
			b.Fatalf("stats of %s: %v", name, err)
		}
		var sum utils.TopicStats
		for _, p := range st.Partitions {
			sum.StorageSize += p.StorageSize
			sum.MsgCounterIn += p.MsgCounterIn
		}
		return sum
	}
	st, err := env.Admin().Topics().GetStatsWithContext(ctx, *tn)
	if err != nil {
		b.Fatalf("stats of %s: %v", name, err)
	}
	return st
}

// dropArchiverSubscriptions deletes the archiver's subscriptions to env's events and
// sessions topics, which the namespace is provisioned with. No archiver runs in the
// processor's benchmarks: its subscriptions would keep every event and session, and
// once one holds the namespace's backlog quota (1 GiB a topic for tests, a million or
// two events of a partition) the broker holds the publishers back until their sends
// time out.
func dropArchiverSubscriptions(b testing.TB, env *testenv.Env) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, topic := range []string{schemas.TopicEvents, schemas.TopicSessions} {
		tn, err := utils.GetTopicName(env.Topic(topic))
		if err != nil {
			b.Fatal(err)
		}
		if err := env.Admin().Subscriptions().DeleteWithContext(ctx, *tn, schemas.SubscriptionArchiver); err != nil {
			b.Fatalf("delete the archiver's subscription to %s: %v", topic, err)
		}
	}
}

func mibOf(bytes int64) float64 { return float64(bytes) / (1 << 20) }
