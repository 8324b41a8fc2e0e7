package compat

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
)

// Row is one row of the events table as DuckDB reads it: column → value, timestamps
// as milliseconds since the epoch (UTC), booleans as booleans, text as text.
type Row map[string]any

// readScript reads every column of the events files under a folder with DuckDB and
// writes the rows as JSON lines, timestamps as epoch milliseconds.
const readScript = `
import duckdb, sys
root, out = sys.argv[1], sys.argv[2]
con = duckdb.connect()
src = f"read_parquet('{root}/events/**/*.parquet', hive_partitioning = false, union_by_name = true)"
cols = [(r[0], r[1]) for r in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()]
sel = ", ".join(f'epoch_ms("{n}") AS "{n}"' if t.startswith("TIMESTAMP") else f'"{n}"' for n, t in cols)
con.execute(f"COPY (SELECT {sel} FROM {src}) TO '{out}' (FORMAT json)")
`

// ReadLake downloads the events table under prefix into dir and reads every row with
// DuckDB (python: chaos.DuckDBPython).
func ReadLake(ctx context.Context, s3 *minio.Client, bucket, prefix, dir, python string) ([]Row, int, error) {
	files := 0
	for obj := range s3.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix + "events/", Recursive: true}) {
		if obj.Err != nil {
			return nil, 0, fmt.Errorf("list the events table: %w", obj.Err)
		}
		if !strings.HasSuffix(obj.Key, ".parquet") {
			continue
		}
		local := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(obj.Key, prefix)))
		if err := s3.FGetObject(ctx, bucket, obj.Key, local, minio.GetObjectOptions{}); err != nil {
			return nil, 0, fmt.Errorf("download %s: %w", obj.Key, err)
		}
		files++
	}
	if files == 0 {
		return nil, 0, nil
	}
	out := filepath.Join(dir, "rows.jsonl")
	if res, err := exec.CommandContext(ctx, python, "-c", readScript, dir, out).CombinedOutput(); err != nil {
		return nil, 0, fmt.Errorf("duckdb: %w\n%s", err, res)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, 0, err
	}
	var rows []Row
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var r Row
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		if err := dec.Decode(&r); err != nil {
			return nil, 0, fmt.Errorf("read what duckdb wrote: %w", err)
		}
		rows = append(rows, r)
	}
	return rows, files, nil
}

// Text is a text column's value, "" for NULL.
func (r Row) Text(col string) string {
	s, _ := r[col].(string)
	return s
}

// Millis is a timestamp column's value in milliseconds, 0 for NULL.
func (r Row) Millis(col string) int64 {
	n, _ := r[col].(json.Number)
	v, _ := n.Int64()
	return v
}
