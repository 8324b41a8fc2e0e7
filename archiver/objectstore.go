package archiver

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"

	"github.com/clicktrail/clicktrail/internal/s3x"
)

// ObjectStore receives finished files.
type ObjectStore interface {
	// PutFile uploads the file at path as key, replacing any object of that name.
	PutFile(ctx context.Context, key, path string) error
}

// ObjectStoreFunc adapts a function to ObjectStore.
type ObjectStoreFunc func(ctx context.Context, key, path string) error

// PutFile calls f.
func (f ObjectStoreFunc) PutFile(ctx context.Context, key, path string) error {
	return f(ctx, key, path)
}

// minioStore uploads with minio-go, from the file on disk: large files go up in parts,
// never whole in memory.
type minioStore struct {
	client *minio.Client
	bucket string
}

func newMinioStore(cfg *Config) (*minioStore, error) {
	c, err := s3x.NewClient(cfg.S3Endpoint, cfg.S3AccessKey, cfg.S3SecretKey, cfg.S3UseTLS)
	if err != nil {
		return nil, err
	}
	return &minioStore{client: c, bucket: cfg.Bucket}, nil
}

func (s *minioStore) PutFile(ctx context.Context, key, path string) error {
	_, err := s.client.FPutObject(ctx, s.bucket, key, path, minio.PutObjectOptions{
		ContentType: "application/vnd.apache.parquet",
		PartSize:    16 << 20,
	})
	if err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	return nil
}

// ready reports whether the bucket answers.
func (s *minioStore) ready(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("bucket %s does not exist: run provisioning", s.bucket)
	}
	return nil
}
