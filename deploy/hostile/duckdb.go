package hostile

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// Analysis is what DuckDB reads of the mirror, as an analyst would.
type Analysis struct {
	// Files maps each file (relative to the prefix) to DuckDB's error reading every
	// column of every row of it (SELECT *), "" when it read it.
	Files map[string]string `json:"files"`
	// Events and Invalid are the rows of the suite's events (their messageId starts
	// with the run's id) in the events and invalid tables.
	Events  []EventRow   `json:"events"`
	Invalid []InvalidRow `json:"invalid"`
}

// EventRow is what the checks read of a row of the events table.
type EventRow struct {
	MessageID      string `json:"message_id"`
	TimestampMs    int64  `json:"timestamp_ms"`
	OriginalMs     int64  `json:"original_ms"`
	UserAgentBytes int    `json:"user_agent_bytes"`
	File           string `json:"file"`
	// TextRead says DuckDB read the row's text columns (ids, names, page, user agent,
	// properties, traits, context); Repaired that one of them holds U+FFFD.
	TextRead bool `json:"text_read"`
	Repaired bool `json:"repaired"`
}

// Timestamp is the stored (corrected) event time.
func (r EventRow) Timestamp() time.Time { return time.UnixMilli(r.TimestampMs).UTC() }

// InvalidRow is what the checks read of a row of the invalid table.
type InvalidRow struct {
	MessageID      string `json:"message_id"`
	Reason         string `json:"reason"`
	UserAgentBytes int    `json:"user_agent_bytes"`
	RequestID      string `json:"request_id"` // its first 200 bytes
	RequestIDBytes int    `json:"request_id_bytes"`
	File           string `json:"file"`
	TextRead       bool   `json:"text_read"`
	Repaired       bool   `json:"repaired"`
}

// analyzeScript reads every Parquet file under a folder with DuckDB, one at a time,
// so that one unreadable file does not hide the others.
const analyzeScript = `
import duckdb, glob, json, os, sys
root, run, out = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
res = {"files": {}, "events": [], "invalid": []}
def src(path):
    return "read_parquet('" + path.replace("'", "''") + "', hive_partitioning = false)"
def rows(sql, args):
    try:
        return con.execute(sql, args).fetchall()
    except Exception:
        return None
FFFD = "\ufffd"
for path in sorted(glob.glob(os.path.join(root, "**", "*.parquet"), recursive=True)):
    rel = os.path.relpath(path, root)
    table = rel.split(os.sep)[0]
    try:
        con.execute(f"COPY (SELECT * FROM {src(path)}) TO '/dev/null' (FORMAT csv)")
        res["files"][rel] = ""
    except Exception as e:
        res["files"][rel] = (str(e).strip().splitlines() or ["error"])[0][:300]
    if table == "events":
        base = rows(f"""SELECT message_id, epoch_ms(timestamp), epoch_ms(original_timestamp), strlen(user_agent)
            FROM {src(path)} WHERE starts_with(message_id, ?)""", [run]) or []
        text = rows(f"""SELECT message_id, contains(concat_ws('', message_id, anonymous_id, user_id, event, name, page_path, page_url,
            page_title, referrer, user_agent, utm_source, utm_campaign, library_name, properties, traits, context), '{FFFD}')
            FROM {src(path)} WHERE starts_with(message_id, ?)""", [run])
        flags = {r[0]: r[1] for r in text} if text is not None else {}
        for r in base:
            res["events"].append({"message_id": r[0], "timestamp_ms": r[1], "original_ms": r[2], "user_agent_bytes": r[3],
                "file": rel, "text_read": r[0] in flags, "repaired": bool(flags.get(r[0]))})
    elif table == "invalid":
        base = rows(f"""SELECT message_id, reason, strlen(user_agent), left(request_id, 200), strlen(request_id)
            FROM {src(path)} WHERE starts_with(message_id, ?)""", [run]) or []
        text = rows(f"""SELECT message_id, contains(concat_ws('', reason, field, message_id, user_key, request_id, user_agent, raw), '{FFFD}')
            FROM {src(path)} WHERE starts_with(message_id, ?)""", [run])
        flags = {r[0]: r[1] for r in text} if text is not None else {}
        for r in base:
            res["invalid"].append({"message_id": r[0], "reason": r[1], "user_agent_bytes": r[2], "request_id": r[3],
                "request_id_bytes": r[4], "file": rel, "text_read": r[0] in flags, "repaired": bool(flags.get(r[0]))})
with open(out, "w") as f:
    json.dump(res, f)
`

// Analyze reads the mirror with DuckDB (python is a Python with the duckdb module:
// chaos.DuckDBPython), keeping the rows whose messageId starts with run.
func (mr *Mirror) Analyze(ctx context.Context, python, run string) (*Analysis, error) {
	out := filepath.Join(filepath.Dir(mr.Dir), "analysis.json")
	if res, err := exec.CommandContext(ctx, python, "-c", analyzeScript, mr.Dir, run, out).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("duckdb: %w\n%s", err, res)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	var a Analysis
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("read what duckdb wrote: %w", err)
	}
	return &a, nil
}

// Unreadable lists the files DuckDB could not read whole, with its error.
func (a *Analysis) Unreadable() []string {
	var out []string
	for f, e := range a.Files {
		if e != "" {
			out = append(out, f+": "+e)
		}
	}
	sort.Strings(out)
	return out
}
