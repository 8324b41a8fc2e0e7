// Command provision creates the Pulsar tenants, namespaces, topics and subscriptions and
// the object-store bucket that Clicktrail expects. It is idempotent.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/clicktrail/clicktrail/internal/obs"
	"github.com/clicktrail/clicktrail/internal/provision"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/s3x"
	"github.com/clicktrail/clicktrail/internal/sources"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "provision:", err)
		os.Exit(1)
	}
}

func run() error {
	env := func(name, def string) string {
		if v := os.Getenv(name); v != "" {
			return v
		}
		return def
	}
	partitions, err := strconv.Atoi(env("CLICKTRAIL_EVENTS_PARTITIONS", "4"))
	if err != nil {
		return fmt.Errorf("invalid CLICKTRAIL_EVENTS_PARTITIONS: %w", err)
	}
	var cfg provision.Config
	fs := flag.NewFlagSet("provision", flag.ContinueOnError)
	sourcesFile := fs.String("sources", env("CLICKTRAIL_SOURCES", "deploy/local/sources.yaml"), "sources file listing each source's tenant and namespace (CLICKTRAIL_SOURCES)")
	fs.StringVar(&cfg.PulsarAdminURL, "pulsar.admin-url", env("CLICKTRAIL_PULSAR_ADMIN_URL", provision.DefaultPulsarAdminURL), "Pulsar admin URL (CLICKTRAIL_PULSAR_ADMIN_URL)")
	fs.StringVar(&cfg.PulsarURL, "pulsar.url", env("CLICKTRAIL_PULSAR_URL", pulsarx.DefaultURL), "Pulsar service URL (CLICKTRAIL_PULSAR_URL)")
	fs.IntVar(&cfg.Partitions, "events.partitions", partitions, "partitions of the events topic (CLICKTRAIL_EVENTS_PARTITIONS)")
	fs.StringVar(&cfg.S3Endpoint, "s3.endpoint", env("CLICKTRAIL_S3_ENDPOINT", s3x.DefaultEndpoint), "object store host:port (CLICKTRAIL_S3_ENDPOINT)")
	fs.StringVar(&cfg.S3AccessKey, "s3.access-key", env("CLICKTRAIL_S3_ACCESS_KEY", s3x.DefaultAccessKey), "object store access key (CLICKTRAIL_S3_ACCESS_KEY)")
	fs.StringVar(&cfg.S3SecretKey, "s3.secret-key", env("CLICKTRAIL_S3_SECRET_KEY", s3x.DefaultSecretKey), "object store secret key (CLICKTRAIL_S3_SECRET_KEY)")
	fs.StringVar(&cfg.Cluster, "pulsar.cluster", env("CLICKTRAIL_PULSAR_CLUSTER", "standalone"), "Pulsar cluster the tenants are allowed on (CLICKTRAIL_PULSAR_CLUSTER)")
	fs.BoolVar(&cfg.S3UseTLS, "s3.tls", env("CLICKTRAIL_S3_TLS", "false") == "true", "use HTTPS to the object store (CLICKTRAIL_S3_TLS=true)")
	fs.StringVar(&cfg.Bucket, "s3.bucket", env("CLICKTRAIL_S3_BUCKET", s3x.DefaultBucket), "archive bucket (CLICKTRAIL_S3_BUCKET)")
	fs.IntVar(&cfg.RetentionMinutes, "retention.minutes", 0, "keep acknowledged messages this long (default 7 days)")
	fs.Int64Var(&cfg.RetentionSizeMB, "retention.size-mb", 0, "retained data per topic (default 20480)")
	fs.Int64Var(&cfg.BacklogQuotaMB, "backlog-quota-mb", 0, "unacknowledged backlog per topic before producers are held (default 10240)")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	log, err := obs.NewLogger(os.Stderr, "info", "text")
	if err != nil {
		return err
	}
	ss, err := sources.Load(*sourcesFile)
	if err != nil {
		return err
	}
	cfg.Namespaces = ss.Namespaces()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return provision.Run(ctx, cfg, log)
}
