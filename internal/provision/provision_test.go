package provision_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/clicktrail/clicktrail/internal/provision"
	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/internal/testenv"
	"github.com/clicktrail/clicktrail/schemas"
)

func TestConfigValidateNamesTheSetting(t *testing.T) {
	tests := []struct {
		name string
		cfg  provision.Config
		want string
	}{
		{"zero partitions", provision.Config{Partitions: -1}, "invalid partitions"},
		{"backlog quota not below retention", provision.Config{RetentionSizeMB: 10, BacklogQuotaMB: 10}, "invalid backlog quota"},
		{"namespace without tenant", provision.Config{Namespaces: []sources.Namespace{{Namespace: "x"}}}, "tenant and namespace are required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.WithDefaults().Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if err := (provision.Config{}).WithDefaults().Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

// TestProvisioningTwiceLeavesTheSameTopicsAndSubscriptions runs provisioning again on
// the namespace testenv provisioned, and checks what the pipeline relies on.
func TestProvisioningTwiceLeavesTheSameTopicsAndSubscriptions(t *testing.T) {
	env := testenv.New(t, testenv.Partitions(3))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := provision.Run(ctx, env.Provision, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("second provisioning: %v", err)
	}

	events, _ := utils.GetTopicName(env.Topic(schemas.TopicEvents))
	meta, err := env.Admin().Topics().GetMetadataWithContext(ctx, *events)
	if err != nil {
		t.Fatal(err)
	}
	if meta.Partitions != 3 {
		t.Errorf("events has %d partitions, want 3", meta.Partitions)
	}
	subs, err := env.Admin().Subscriptions().ListWithContext(ctx, *events)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{schemas.SubscriptionProcessor, schemas.SubscriptionArchiver} {
		if !slices.Contains(subs, want) {
			t.Errorf("events subscriptions %v lack %q", subs, want)
		}
	}
	for _, name := range []string{schemas.TopicInvalid, schemas.TopicSessions} {
		tn, _ := utils.GetTopicName(env.Topic(name))
		subs, err := env.Admin().Subscriptions().ListWithContext(ctx, *tn)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(subs, schemas.SubscriptionArchiver) {
			t.Errorf("%s subscriptions %v lack %q", name, subs, schemas.SubscriptionArchiver)
		}
	}
	ns := env.Tenant + "/" + env.Namespace
	ret, err := env.Admin().Namespaces().GetRetentionWithContext(ctx, ns)
	if err != nil {
		t.Fatal(err)
	}
	if ret.RetentionTimeInMinutes != env.Provision.RetentionMinutes {
		t.Errorf("retention %d min, want %d", ret.RetentionTimeInMinutes, env.Provision.RetentionMinutes)
	}
	exists, err := env.S3().BucketExists(ctx, env.Provision.Bucket)
	if err != nil || !exists {
		t.Errorf("bucket %s exists = %v (%v)", env.Provision.Bucket, exists, err)
	}
}
