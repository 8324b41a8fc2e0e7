package provision

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/minio/minio-go/v7"

	"github.com/clicktrail/clicktrail/internal/s3x"
)

// NewS3Client returns a minio-go client for cfg's object store.
func NewS3Client(cfg Config) (*minio.Client, error) {
	return s3x.NewClient(cfg.S3Endpoint, cfg.S3AccessKey, cfg.S3SecretKey, cfg.S3UseTLS)
}

// Bucket creates the archive bucket unless it exists.
func Bucket(ctx context.Context, cfg Config, log *slog.Logger) error {
	c, err := NewS3Client(cfg)
	if err != nil {
		return err
	}
	exists, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return fmt.Errorf("check bucket %s on %s: %w", cfg.Bucket, cfg.S3Endpoint, err)
	}
	if !exists {
		if err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{}); err != nil {
			return fmt.Errorf("create bucket %s: %w", cfg.Bucket, err)
		}
	}
	log.Info("provisioned bucket", "bucket", cfg.Bucket, "created", !exists)
	return nil
}

// Run provisions Pulsar and the bucket.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := Pulsar(ctx, cfg, log); err != nil {
		return err
	}
	return Bucket(ctx, cfg, log)
}
