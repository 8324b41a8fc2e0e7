// Package provision creates, idempotently, everything the pipeline expects to find
// before it starts: for each source's tenant and namespace, the Pulsar tenant,
// namespace policies, topics and durable subscriptions, and the object-store bucket.
//
// Running it twice is harmless; `make run` (through deploy/provision/cmd/provision)
// and the integration-test harness (internal/testenv) both call it. The services never
// do, so they do not link Pulsar's admin client.
package provision

import (
	"errors"
	"fmt"
	"net/url"

	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/s3x"
	"github.com/clicktrail/clicktrail/internal/sources"
)

// Config says what to provision and where. Zero values take the documented defaults
// through WithDefaults.
type Config struct {
	// PulsarAdminURL is the broker's admin (HTTP) endpoint. Default http://127.0.0.1:8080.
	PulsarAdminURL string
	// PulsarURL is the broker's binary endpoint, used to create subscriptions with their
	// consumer type. Default pulsar://127.0.0.1:6650.
	PulsarURL string
	// Cluster is the Pulsar cluster tenants are allowed on. Default "standalone".
	Cluster string
	// Partitions is the partition count of the events topic. Default 4.
	Partitions int
	// RetentionMinutes keeps acknowledged messages this long, so a subscriber created
	// later (or a replay) still finds them. Default 7 days.
	RetentionMinutes int
	// RetentionSizeMB bounds retained data per topic. Default 20480 (20 GiB).
	RetentionSizeMB int64
	// BacklogQuotaMB bounds the unacknowledged backlog per topic; past it producers are
	// held (never silently evicted). Below RetentionSizeMB. Default 10240 (10 GiB).
	BacklogQuotaMB int64

	// S3Endpoint is the object store's host:port. Default s3x.DefaultEndpoint.
	S3Endpoint string
	// S3AccessKey and S3SecretKey are the object store's credentials.
	// Defaults: the development credentials of deploy/local (s3x).
	S3AccessKey string
	S3SecretKey string
	// S3UseTLS talks HTTPS to the object store. Default false.
	S3UseTLS bool
	// Bucket is the archive bucket. Default "clicktrail".
	Bucket string

	// Namespaces lists what to create in Pulsar (sources.Sources.Namespaces).
	Namespaces []sources.Namespace
}

// DefaultPulsarAdminURL is the admin endpoint of deploy/local's broker.
const DefaultPulsarAdminURL = "http://127.0.0.1:8080"

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.PulsarAdminURL == "" {
		c.PulsarAdminURL = DefaultPulsarAdminURL
	}
	if c.PulsarURL == "" {
		c.PulsarURL = pulsarx.DefaultURL
	}
	if c.Cluster == "" {
		c.Cluster = "standalone"
	}
	if c.Partitions == 0 {
		c.Partitions = 4
	}
	if c.RetentionMinutes == 0 {
		c.RetentionMinutes = 7 * 24 * 60
	}
	if c.RetentionSizeMB == 0 {
		c.RetentionSizeMB = 20 * 1024
	}
	if c.BacklogQuotaMB == 0 {
		c.BacklogQuotaMB = 10 * 1024
	}
	if c.S3Endpoint == "" {
		c.S3Endpoint = s3x.DefaultEndpoint
	}
	if c.S3AccessKey == "" {
		c.S3AccessKey = s3x.DefaultAccessKey
	}
	if c.S3SecretKey == "" {
		c.S3SecretKey = s3x.DefaultSecretKey
	}
	if c.Bucket == "" {
		c.Bucket = s3x.DefaultBucket
	}
	return c
}

// Validate checks c before anything is created; errors name the setting.
func (c Config) Validate() error {
	var errs []error
	if _, err := url.Parse(c.PulsarAdminURL); err != nil {
		errs = append(errs, fmt.Errorf("invalid pulsar admin url %q: %w", c.PulsarAdminURL, err))
	}
	if c.Partitions < 1 || c.Partitions > 256 {
		errs = append(errs, fmt.Errorf("invalid partitions %d: must be 1..256", c.Partitions))
	}
	if c.RetentionMinutes < 0 || c.RetentionSizeMB < 0 || c.BacklogQuotaMB < 0 {
		errs = append(errs, errors.New("invalid retention or backlog quota: must not be negative"))
	}
	if c.RetentionSizeMB > 0 && c.BacklogQuotaMB >= c.RetentionSizeMB {
		// Pulsar refuses a backlog quota that is not below the retention size.
		errs = append(errs, fmt.Errorf("invalid backlog quota %d MB: must be below the retention size %d MB", c.BacklogQuotaMB, c.RetentionSizeMB))
	}
	for _, ns := range c.Namespaces {
		if ns.Tenant == "" || ns.Namespace == "" {
			errs = append(errs, fmt.Errorf("invalid namespace %q/%q: tenant and namespace are required", ns.Tenant, ns.Namespace))
		}
	}
	return errors.Join(errs...)
}
