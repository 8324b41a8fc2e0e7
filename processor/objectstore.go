package processor

import (
	"context"
	"fmt"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/clicktrail/clicktrail/internal/s3x"
	"github.com/clicktrail/clicktrail/processor/protocol"
)

// s3Snapshots keeps snapshots in a bucket of an S3-compatible object store.
type s3Snapshots struct {
	client *minio.Client
	bucket string
}

func newS3Snapshots(cfg *Config) (*s3Snapshots, error) {
	c, err := s3x.NewClient(cfg.S3Endpoint, cfg.S3AccessKey, cfg.S3SecretKey, cfg.S3UseTLS)
	if err != nil {
		return nil, err
	}
	return &s3Snapshots{client: c, bucket: cfg.Bucket}, nil
}

func (s *s3Snapshots) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat()
	}
	if err != nil {
		if obj != nil {
			obj.Close()
		}
		switch minio.ToErrorResponse(err).Code {
		case "NoSuchKey", "NoSuchBucket":
			return nil, protocol.ErrNoSnapshot
		}
		return nil, fmt.Errorf("get %s from bucket %s: %w", name, s.bucket, err)
	}
	return obj, nil
}

func (s *s3Snapshots) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	_, err := s.client.PutObject(ctx, s.bucket, name, r, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("put %s in bucket %s: %w", name, s.bucket, err)
	}
	return nil
}
