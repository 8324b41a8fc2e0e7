package archiver

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/clicktrail/clicktrail/internal/testenv"
)

// TestAFileOfSeveralPartsIsStoredWholeAndReplacedByItsReplay sends a file of two and a
// half parts to the real S3 server (the multipart path every file past 16 MiB takes),
// then again under the same name, as a replay after a crash does.
func TestAFileOfSeveralPartsIsStoredWholeAndReplacedByItsReplay(t *testing.T) {
	env := testenv.New(t)
	cfg := DefaultConfig()
	cfg.S3Endpoint, cfg.S3AccessKey, cfg.S3SecretKey, cfg.Bucket = env.Provision.S3Endpoint, env.Provision.S3AccessKey, env.Provision.S3SecretKey, env.Provision.Bucket
	store, err := newMinioStore(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	data := make([]byte, 40<<20)
	_, _ = rand.Read(data)
	path := filepath.Join(t.TempDir(), "big.parquet")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	key := env.Prefix + "events/big.parquet"
	for range 2 {
		if err := store.PutFile(ctx, key, path); err != nil {
			t.Fatal(err)
		}
	}

	var keys []string
	for obj := range env.S3().ListObjects(ctx, cfg.Bucket, minio.ListObjectsOptions{Prefix: env.Prefix, Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		keys = append(keys, obj.Key)
	}
	if len(keys) != 1 || keys[0] != key {
		t.Fatalf("objects %q, want only %s", keys, key)
	}
	for u := range env.S3().ListIncompleteUploads(ctx, cfg.Bucket, env.Prefix, true) {
		t.Errorf("an upload is left unfinished: %s (%v)", u.Key, u.Err)
	}
	obj, err := env.S3().GetObject(ctx, cfg.Bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	got, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes that differ from the %d sent", len(got), len(data))
	}
	info, err := obj.Stat()
	if err != nil {
		t.Fatal(err)
	}
	if info.ContentType != "application/vnd.apache.parquet" {
		t.Errorf("content type %q, want application/vnd.apache.parquet", info.ContentType)
	}
}
