// Package s3x holds the object-store settings every Clicktrail program shares: the
// development S3 server of deploy/local, and how a client for one is built.
package s3x

import (
	"fmt"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The development S3 server of deploy/local (deploy/local/s3.sh) and its bucket.
const (
	DefaultEndpoint  = "127.0.0.1:9000"
	DefaultAccessKey = "clicktrail"
	DefaultSecretKey = "clicktrail-dev-secret"
	DefaultBucket    = "clicktrail"
)

// NewClient builds a minio-go client for the S3 server at endpoint (host:port). It
// does not connect: the first request does.
func NewClient(endpoint, accessKey, secretKey string, useTLS bool) (*minio.Client, error) {
	c, err := minio.New(endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(accessKey, secretKey, ""),
		Secure: useTLS,
	})
	if err != nil {
		return nil, fmt.Errorf("object store client %s: %w", endpoint, err)
	}
	return c, nil
}
