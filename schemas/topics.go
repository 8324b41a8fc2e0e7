package schemas

import "fmt"

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

// Topic returns the full name of a topic: persistent://tenant/namespace/name. It does
// not check the names; CheckNamespace does, once, where a source is configured.
func Topic(tenant, namespace, name string) string {
	return "persistent://" + tenant + "/" + namespace + "/" + name
}

// ValidName reports whether s may name a Pulsar tenant or namespace: one or more
// letters, digits and _ = : . - (Pulsar's own rule is [-=:.\w]*), and not "." or ".."
// (which would read as a path).
func ValidName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '_', c == '=', c == ':', c == '.', c == '-':
		default:
			return false
		}
	}
	return true
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
