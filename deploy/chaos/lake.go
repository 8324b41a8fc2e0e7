package chaos

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/parquet-go/parquet-go"

	"github.com/clicktrail/clicktrail/schemas"
)

// Lake is a local copy of the archive's events table, kept up to date from the
// object store, read with parquet-go (Sync) and with DuckDB (Query).
type Lake struct {
	s3             *minio.Client
	bucket, prefix string
	dir            string
	files          map[string]lakeFile // object key → what it held when downloaded
}

type lakeFile struct {
	etag string
	ids  []string
}

// NewLake reads the events table under prefix in bucket; dir holds the copy.
func NewLake(endpoint, accessKey, secretKey, bucket, prefix, dir string) (*Lake, error) {
	s3, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(accessKey, secretKey, "")})
	if err != nil {
		return nil, fmt.Errorf("object store client: %w", err)
	}
	return &Lake{s3: s3, bucket: bucket, prefix: prefix, dir: dir, files: map[string]lakeFile{}}, nil
}

// Sync downloads the files that are new or were rewritten since the last Sync (a
// replay after a crash rewrites a file under the same name), deletes the local copy
// of files that are gone, and returns how many rows each messageId has, as
// parquet-go reads them.
func (l *Lake) Sync(ctx context.Context) (map[string]int, error) {
	seen := map[string]bool{}
	for obj := range l.s3.ListObjects(ctx, l.bucket, minio.ListObjectsOptions{Prefix: l.prefix + "events/", Recursive: true}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("list the events table: %w", obj.Err)
		}
		seen[obj.Key] = true
		if f, ok := l.files[obj.Key]; ok && f.etag == obj.ETag {
			continue
		}
		local := l.local(obj.Key)
		if err := l.s3.FGetObject(ctx, l.bucket, obj.Key, local, minio.GetObjectOptions{}); err != nil {
			return nil, fmt.Errorf("download %s: %w", obj.Key, err)
		}
		ids, err := readIDs(local)
		if err != nil {
			return nil, fmt.Errorf("read %s with parquet-go: %w", obj.Key, err)
		}
		l.files[obj.Key] = lakeFile{etag: obj.ETag, ids: ids}
	}
	for key := range l.files {
		if !seen[key] {
			delete(l.files, key)
			_ = os.Remove(l.local(key))
		}
	}
	counts := map[string]int{}
	for _, f := range l.files {
		for _, id := range f.ids {
			counts[id]++
		}
	}
	return counts, nil
}

// Files is the number of event files in the copy.
func (l *Lake) Files() int { return len(l.files) }

// File is a stored file: its object key and its rows' messageIds in order.
type File struct {
	Key string
	IDs []string
}

// FilesOf returns the files of one partition of the events topic as of the last Sync,
// sorted by the message they start at (their name's end: -<partition>-<ledger>-<entry>-<batch>.parquet).
func (l *Lake) FilesOf(partition int32) []File {
	var out []File
	for key, f := range l.files {
		if p, ok := startOf(key); ok && p.Partition == partition {
			out = append(out, File{Key: key, IDs: f.ids})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := startOf(out[i].Key)
		b, _ := startOf(out[j].Key)
		return a.before(b)
	})
	return out
}

// startOf reads the partition and start position from a file's name.
func startOf(key string) (Position, bool) {
	name := strings.TrimSuffix(key[strings.LastIndexByte(key, '/')+1:], ".parquet")
	f := strings.Split(name, "-")
	if len(f) < 4 {
		return Position{}, false
	}
	n := make([]int64, 4)
	for i := range n {
		v, err := strconv.ParseInt(f[len(f)-4+i], 10, 64)
		if err != nil {
			return Position{}, false
		}
		n[i] = v
	}
	return Position{Partition: int32(n[0]), Ledger: n[1], Entry: n[2], Batch: int32(n[3])}, true
}

func (l *Lake) local(key string) string {
	return filepath.Join(l.dir, filepath.FromSlash(strings.TrimPrefix(key, l.prefix)))
}

func readIDs(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := parquet.NewGenericReader[schemas.EventRow](f)
	defer r.Close()
	var ids []string
	buf := make([]schemas.EventRow, 1024)
	for {
		n, err := r.Read(buf)
		for _, row := range buf[:n] {
			ids = append(ids, row.MessageID)
		}
		if err == io.EOF {
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Row is one row of the events table, the columns the checks use.
type Row struct {
	MessageID string
	// Timestamp is the corrected event time, the one the processor sessionizes and
	// aggregates by (millisecond precision in Parquet).
	Timestamp time.Time
	Type      string
	Path      string
	UserKey   string
}

// Query reads every row of the local copy with DuckDB (python is a Python with the
// duckdb module: deploy/local/duckdb.sh prints one).
func (l *Lake) Query(ctx context.Context, python string) ([]Row, error) {
	if len(l.files) == 0 {
		return nil, nil
	}
	out := filepath.Join(l.dir, "rows.csv")
	script := `
import duckdb, sys
src, out = sys.argv[1] + "/events/**/*.parquet", sys.argv[2]
duckdb.sql(f"""COPY (SELECT message_id, epoch_ms(timestamp), type, page_path, user_key
  FROM read_parquet('{src}', hive_partitioning = true)) TO '{out}' (FORMAT csv, HEADER false)""")
`
	if res, err := exec.CommandContext(ctx, python, "-c", script, l.dir, out).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("duckdb: %w\n%s", err, res)
	}
	f, err := os.Open(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read what duckdb wrote: %w", err)
	}
	rows := make([]Row, 0, len(recs))
	for _, r := range recs {
		if len(r) != 5 {
			return nil, fmt.Errorf("duckdb wrote %d columns, want 5: %q", len(r), r)
		}
		ms, err := strconv.ParseInt(r[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("duckdb wrote timestamp %q: %w", r[1], err)
		}
		rows = append(rows, Row{MessageID: r[0], Timestamp: time.UnixMilli(ms).UTC(), Type: r[2], Path: r[3], UserKey: r[4]})
	}
	return rows, nil
}

// DuckDBPython runs deploy/local/duckdb.sh (which installs DuckDB into .cache/venv on
// first use) and returns the Python it prints.
func DuckDBPython(ctx context.Context, root string) (string, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(root, "deploy", "local", "duckdb.sh")).Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		return "", fmt.Errorf("deploy/local/duckdb.sh: %w %s", err, msg)
	}
	return strings.TrimSpace(string(out)), nil
}
