package hostile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/parquet-go/parquet-go"

	"github.com/clicktrail/clicktrail/schemas"
)

// Mirror is a local copy of every object the archiver wrote under the suite's
// prefix (the events, invalid and sessions tables), kept up to date by Sync and read
// with parquet-go; Analyze reads it with DuckDB.
type Mirror struct {
	s3             *minio.Client
	bucket, prefix string
	// Dir holds the copy: the object keys without the prefix.
	Dir   string
	files map[string]*mirrored // object key → what it held when downloaded
}

type mirrored struct {
	etag     string
	ids      []string             // events: messageIds in order
	sessions []schemas.SessionRow // sessions
	err      error                // parquet-go could not read it
}

// NewMirror copies the objects under prefix in bucket into dir.
func NewMirror(s3 *minio.Client, bucket, prefix, dir string) *Mirror {
	return &Mirror{s3: s3, bucket: bucket, prefix: prefix, Dir: dir, files: map[string]*mirrored{}}
}

// Sync downloads the objects that are new or were rewritten since the last Sync and
// reads the events' messageIds and the sessions with parquet-go.
func (mr *Mirror) Sync(ctx context.Context) error {
	for obj := range mr.s3.ListObjects(ctx, mr.bucket, minio.ListObjectsOptions{Prefix: mr.prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("list %s: %w", mr.prefix, obj.Err)
		}
		if !strings.HasSuffix(obj.Key, ".parquet") {
			continue
		}
		if f, ok := mr.files[obj.Key]; ok && f.etag == obj.ETag {
			continue
		}
		local := filepath.Join(mr.Dir, filepath.FromSlash(strings.TrimPrefix(obj.Key, mr.prefix)))
		if err := mr.s3.FGetObject(ctx, mr.bucket, obj.Key, local, minio.GetObjectOptions{}); err != nil {
			return fmt.Errorf("download %s: %w", obj.Key, err)
		}
		f := &mirrored{etag: obj.ETag}
		switch tableOfKey(mr.rel(obj.Key)) {
		case "events":
			f.err = readRows(local, func(r *schemas.EventRow) { f.ids = append(f.ids, r.MessageID) })
		case "sessions":
			f.err = readRows(local, func(r *schemas.SessionRow) { f.sessions = append(f.sessions, *r) })
		}
		mr.files[obj.Key] = f
	}
	return nil
}

func (mr *Mirror) rel(key string) string { return strings.TrimPrefix(key, mr.prefix) }

// tableOfKey is the table of an object key relative to the prefix: its first folder.
func tableOfKey(rel string) string {
	table, _, _ := strings.Cut(rel, "/")
	return table
}

// EventCounts counts each messageId's rows in the events table, as parquet-go reads them.
func (mr *Mirror) EventCounts() map[string]int {
	counts := map[string]int{}
	for _, f := range mr.files {
		for _, id := range f.ids {
			counts[id]++
		}
	}
	return counts
}

// SessionFile is a stored file of the sessions table and the sessions it holds.
type SessionFile struct {
	Key      string // relative to the prefix: sessions/tenant=…/dt=…/hour=…/….parquet
	Sessions []schemas.SessionRow
}

// SessionFiles returns the sessions table's files, sorted by key.
func (mr *Mirror) SessionFiles() []SessionFile {
	var out []SessionFile
	for key, f := range mr.files {
		if tableOfKey(mr.rel(key)) == "sessions" {
			out = append(out, SessionFile{Key: mr.rel(key), Sessions: f.sessions})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// Unreadable lists the files parquet-go could not read, with the error.
func (mr *Mirror) Unreadable() []string {
	var out []string
	for key, f := range mr.files {
		if f.err != nil {
			out = append(out, mr.rel(key)+": "+f.err.Error())
		}
	}
	sort.Strings(out)
	return out
}

// Files is the number of files in the copy.
func (mr *Mirror) Files() int { return len(mr.files) }

func readRows[T any](path string, each func(*T)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := parquet.NewGenericReader[T](f)
	defer r.Close()
	buf := make([]T, 256)
	for {
		n, err := r.Read(buf)
		for i := range buf[:n] {
			each(&buf[i])
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
