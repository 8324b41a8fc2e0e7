package provision

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/admin/config"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/rest"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/sources"
	"github.com/clicktrail/clicktrail/schemas"
)

// subscriptionSpec is one durable subscription the pipeline reads through.
type subscriptionSpec struct {
	topic string
	name  string
	typ   pulsar.SubscriptionType
}

// subscriptions lists, per namespace, who reads what: the processor shares the events
// by key, the archiver reads every topic with one active consumer per partition.
var subscriptions = [...]subscriptionSpec{
	{schemas.TopicEvents, schemas.SubscriptionProcessor, pulsar.KeyShared},
	{schemas.TopicEvents, schemas.SubscriptionArchiver, pulsar.Failover},
	{schemas.TopicInvalid, schemas.SubscriptionArchiver, pulsar.Failover},
	{schemas.TopicSessions, schemas.SubscriptionArchiver, pulsar.Failover},
}

// Pulsar creates the tenants, namespaces, policies, topics and subscriptions of cfg.
// Every step tolerates what already exists, so it can run on every start.
func Pulsar(ctx context.Context, cfg Config, log *slog.Logger) error {
	admin, err := pulsaradmin.NewClient(&config.Config{WebServiceURL: cfg.PulsarAdminURL})
	if err != nil {
		return fmt.Errorf("pulsar admin client: %w", err)
	}
	client, err := pulsarx.NewClient(cfg.PulsarURL, log)
	if err != nil {
		return err
	}
	defer client.Close()

	for _, ns := range cfg.Namespaces {
		if err := provisionNamespace(ctx, admin, client, cfg, ns, log); err != nil {
			return fmt.Errorf("provision %s/%s: %w", ns.Tenant, ns.Namespace, err)
		}
	}
	return nil
}

func provisionNamespace(ctx context.Context, admin pulsaradmin.Client, client pulsar.Client, cfg Config, ns sources.Namespace, log *slog.Logger) error {
	err := admin.Tenants().CreateWithContext(ctx, utils.TenantData{Name: ns.Tenant, AllowedClusters: []string{cfg.Cluster}})
	if ignoreConflict(err) != nil {
		return fmt.Errorf("create tenant: %w", err)
	}
	name := ns.Tenant + "/" + ns.Namespace
	if err := ignoreConflict(admin.Namespaces().CreateNamespaceWithContext(ctx, name)); err != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	// Retention keeps messages after every subscription acked them (and before one
	// exists); the backlog quota holds producers instead of evicting unread data;
	// broker de-duplication drops a retried send from a named producer.
	if err := admin.Namespaces().SetRetentionWithContext(ctx, name, utils.RetentionPolicies{
		RetentionTimeInMinutes: cfg.RetentionMinutes,
		RetentionSizeInMB:      cfg.RetentionSizeMB,
	}); err != nil {
		return fmt.Errorf("set retention: %w", err)
	}
	quota := utils.NewBacklogQuota(cfg.BacklogQuotaMB*1024*1024, -1, utils.ProducerRequestHold)
	if err := admin.Namespaces().SetBacklogQuotaWithContext(ctx, name, quota, utils.DestinationStorage); err != nil {
		return fmt.Errorf("set backlog quota: %w", err)
	}
	if err := admin.Namespaces().SetDeduplicationStatusWithContext(ctx, name, true); err != nil {
		return fmt.Errorf("enable deduplication: %w", err)
	}

	if err := ensurePartitioned(ctx, admin, schemas.Topic(ns.Tenant, ns.Namespace, schemas.TopicEvents), cfg.Partitions, log); err != nil {
		return err
	}
	for _, t := range []string{schemas.TopicInvalid, schemas.TopicSessions, schemas.TopicAggregates, schemas.TopicSessionState} {
		topic, err := utils.GetTopicName(schemas.Topic(ns.Tenant, ns.Namespace, t))
		if err != nil {
			return err
		}
		if err := ignoreConflict(admin.Topics().CreateWithContext(ctx, *topic, 0)); err != nil {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	for _, s := range subscriptions {
		topic := schemas.Topic(ns.Tenant, ns.Namespace, s.topic)
		if err := ensureSubscription(client, topic, s.name, s.typ); err != nil {
			return err
		}
	}
	log.Info("provisioned pulsar namespace", "tenant", ns.Tenant, "namespace", ns.Namespace, "partitions", cfg.Partitions)
	return nil
}

// ensurePartitioned creates a partitioned topic, or grows an existing one to the
// wanted partition count (Pulsar cannot shrink one).
func ensurePartitioned(ctx context.Context, admin pulsaradmin.Client, full string, partitions int, log *slog.Logger) error {
	topic, err := utils.GetTopicName(full)
	if err != nil {
		return err
	}
	err = admin.Topics().CreateWithContext(ctx, *topic, partitions)
	if err == nil {
		return nil
	}
	if ignoreConflict(err) != nil {
		return fmt.Errorf("create partitioned topic %s: %w", full, err)
	}
	meta, err := admin.Topics().GetMetadataWithContext(ctx, *topic)
	if err != nil {
		return fmt.Errorf("read partitions of %s: %w", full, err)
	}
	switch {
	case meta.Partitions == 0:
		return fmt.Errorf("topic %s exists but is not partitioned: delete it and provision again", full)
	case meta.Partitions < partitions:
		if err := admin.Topics().UpdateWithContext(ctx, *topic, partitions); err != nil {
			return fmt.Errorf("grow %s to %d partitions: %w", full, partitions, err)
		}
		log.Info("grew partitioned topic", "topic", full, "from", meta.Partitions, "to", partitions)
	case meta.Partitions > partitions:
		log.Warn("topic has more partitions than configured; pulsar cannot shrink it", "topic", full, "partitions", meta.Partitions, "configured", partitions)
	}
	return nil
}

// ensureSubscription creates a durable subscription at the earliest position by
// attaching (and closing) a consumer of the type the pipeline will use, so nothing
// published before the service first starts is missed.
func ensureSubscription(client pulsar.Client, topic, name string, typ pulsar.SubscriptionType) error {
	c, err := client.Subscribe(pulsar.ConsumerOptions{
		Topic:                       topic,
		SubscriptionName:            name,
		Type:                        typ,
		SubscriptionInitialPosition: pulsar.SubscriptionPositionEarliest,
	})
	if err != nil {
		return fmt.Errorf("create subscription %s on %s: %w", name, topic, err)
	}
	c.Close()
	return nil
}

// ignoreConflict treats "already exists" (HTTP 409) as success.
func ignoreConflict(err error) error {
	var re rest.Error
	if errors.As(err, &re) && re.Code == http.StatusConflict {
		return nil
	}
	var rp *rest.Error
	if errors.As(err, &rp) && rp.Code == http.StatusConflict {
		return nil
	}
	return err
}
