package schemas

import (
	"fmt"
	"regexp"
)

// Topic names inside a source's namespace.
const (
	// TopicEvents is the partitioned topic of accepted events, keyed by user key.
	TopicEvents = "events"
	// TopicInvalid holds rejected events with the reason (InvalidEvent).
	TopicInvalid = "events-invalid"
	// TopicSessions holds closed sessions from the processor, keyed by user key.
	TopicSessions = "sessions"
	// TopicAggregates holds the processors' partial per-minute aggregates.
	TopicAggregates = "aggregates"
)

// Durable subscription names.
const (
	// SubscriptionProcessor is the processor's Key_Shared subscription on events.
	SubscriptionProcessor = "processor"
	// SubscriptionArchiver is the archiver's Failover subscription on every topic it stores.
	SubscriptionArchiver = "archiver"
)

// namePattern is what Pulsar allows in tenant and namespace names.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_=:.\-]+$`)

// ValidName reports whether s may name a Pulsar tenant or namespace.
func ValidName(s string) bool { return namePattern.MatchString(s) }

// Topic returns the full name of a topic: persistent://tenant/namespace/name.
func Topic(tenant, namespace, name string) string {
	return "persistent://" + tenant + "/" + namespace + "/" + name
}

// CheckNamespace returns an error when tenant or namespace is not a valid Pulsar name.
func CheckNamespace(tenant, namespace string) error {
	if !ValidName(tenant) {
		return fmt.Errorf("invalid tenant %q: use letters, digits and _=:.-", tenant)
	}
	if !ValidName(namespace) {
		return fmt.Errorf("invalid namespace %q: use letters, digits and _=:.-", namespace)
	}
	return nil
}
