package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/parquet-go/parquet-go"

	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

// readTable reads every row of one archive table (events, sessions, invalid) of the
// test's bucket prefix with parquet-go: cheap enough to poll while the pipeline drains.
func readTable[T any](t *testing.T, env *testenv.Env, table string) []T {
	t.Helper()
	ctx := context.Background()
	var rows []T
	for obj := range env.S3().ListObjects(ctx, env.Provision.Bucket, minio.ListObjectsOptions{Prefix: env.Prefix + table + "/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("list %s: %v", table, obj.Err)
		}
		o, err := env.S3().GetObject(ctx, env.Provision.Bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("get %s: %v", obj.Key, err)
		}
		b, err := io.ReadAll(o)
		o.Close()
		if err != nil {
			t.Fatalf("read %s: %v", obj.Key, err)
		}
		r := parquet.NewGenericReader[T](bytes.NewReader(b))
		part := make([]T, r.NumRows())
		n, err := r.Read(part)
		if err != nil && err != io.EOF {
			t.Fatalf("parquet %s: %v", obj.Key, err)
		}
		rows = append(rows, part[:n]...)
	}
	return rows
}

// lake is what an analyst's DuckDB reads from the archive: the events and sessions
// tables, and their per-minute sums.
type lake struct {
	// IDs counts the rows of each messageId in the events table.
	IDs map[string]int `json:"ids"`
	// Events are the rows of the events table, Sessions those of the sessions table.
	Events   []lakeEvent   `json:"events"`
	Sessions []lakeSession `json:"sessions"`
	// EventMinutes sums the events by the minute (Unix seconds) of their corrected
	// timestamp; EndMinutes the sessions by the minute of their last event.
	EventMinutes map[int64]lakeEventMinute `json:"eventMinutes"`
	EndMinutes   map[int64]lakeEndMinute   `json:"endMinutes"`
}

type lakeEvent struct {
	MessageID   string `json:"message_id"`
	UserKey     string `json:"user_key"`
	AnonymousID string `json:"anonymous_id"`
	UserID      string `json:"user_id"`
	Type        string `json:"type"`
	Event       string `json:"event"`
	PagePath    string `json:"page_path"`
	UTMCampaign string `json:"utm_campaign"`
	TimestampMs int64  `json:"ts_ms"`
}

type lakeSession struct {
	SessionID  string `json:"session_id"`
	UserKey    string `json:"user_key"`
	StartedMs  int64  `json:"started_ms"`
	EndedMs    int64  `json:"ended_ms"`
	DurationMs int64  `json:"duration_ms"`
	IsBounce   bool   `json:"is_bounce"`
}

type lakeEventMinute struct {
	Events    int64 `json:"events"`
	Pageviews int64 `json:"pageviews"`
	Visitors  int64 `json:"visitors"`
}

type lakeEndMinute struct {
	Ended      int64 `json:"ended"`
	Bounces    int64 `json:"bounces"`
	DurationMs int64 `json:"duration_ms"`
}

// lakeQuery runs in DuckDB over the downloaded files, with Hive partitions, as the
// README's analyst query does.
const lakeQuery = `
import duckdb, json, sys
root = sys.argv[1]
ev = f"read_parquet('{root}/events/**/*.parquet', hive_partitioning = true)"
se = f"read_parquet('{root}/sessions/**/*.parquet', hive_partitioning = true)"
def rows(q):
    rel = duckdb.sql(q)
    return [dict(zip(rel.columns, r)) for r in rel.fetchall()]
out = {
    "ids": dict(duckdb.sql(f"SELECT message_id, count(*) FROM {ev} GROUP BY message_id").fetchall()),
    "events": rows(f"""SELECT message_id, user_key, anonymous_id, user_id, type, event, page_path, utm_campaign,
        epoch_ms("timestamp") AS ts_ms FROM {ev}"""),
    "sessions": rows(f"""SELECT session_id, user_key, epoch_ms(started_at) AS started_ms, epoch_ms(ended_at) AS ended_ms,
        duration_ms, is_bounce FROM {se}"""),
    "eventMinutes": {str(r["m"]): r for r in rows(f"""SELECT epoch_ms("timestamp") // 60000 * 60 AS m, count(*) AS events,
        count(*) FILTER (WHERE type IN ('page', 'screen')) AS pageviews, count(DISTINCT user_key) AS visitors
        FROM {ev} GROUP BY m""")},
    "endMinutes": {str(r["m"]): r for r in rows(f"""SELECT epoch_ms(ended_at) // 60000 * 60 AS m, count(*) AS ended,
        count(*) FILTER (WHERE is_bounce) AS bounces, sum(duration_ms)::BIGINT AS duration_ms
        FROM {se} GROUP BY m""")},
}
print(json.dumps(out))
`

// readLake downloads the test's events and sessions tables and reads them with DuckDB
// (deploy/local/duckdb.sh gives the Python that has it).
func readLake(t *testing.T, env *testenv.Env, python string) lake {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	for _, table := range []string{"events", "sessions"} {
		for obj := range env.S3().ListObjects(ctx, env.Provision.Bucket, minio.ListObjectsOptions{Prefix: env.Prefix + table + "/", Recursive: true}) {
			if obj.Err != nil {
				t.Fatalf("list %s: %v", table, obj.Err)
			}
			if err := env.S3().FGetObject(ctx, env.Provision.Bucket, obj.Key, filepath.Join(dir, strings.TrimPrefix(obj.Key, env.Prefix)), minio.GetObjectOptions{}); err != nil {
				t.Fatalf("download %s: %v", obj.Key, err)
			}
		}
	}
	cmd := exec.Command(python, "-c", lakeQuery, dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, stderr.String())
	}
	var l lake
	if err := json.Unmarshal(out, &l); err != nil {
		t.Fatalf("duckdb printed %.500s: %v", out, err)
	}
	return l
}

// duckDB returns the Python that has DuckDB, installing it on first use.
func duckDB(t *testing.T) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(testenv.Root(t), "deploy", "local", "duckdb.sh"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("deploy/local/duckdb.sh: %v\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// eventIDs counts the rows of each messageId in rows.
func eventIDs(rows []schemas.EventRow) map[string]int {
	ids := map[string]int{}
	for _, r := range rows {
		ids[r.MessageID]++
	}
	return ids
}
