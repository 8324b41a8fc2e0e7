package hostile

import "fmt"

// SourcesYAML is the suite's sources file: its own source (a rate limit no case
// reaches, one allowed browser origin) and a source with a small rate limit, both in
// the test's namespace.
func SourcesYAML(tenant, namespace string) string {
	return fmt.Sprintf(`sources:
  - id: hostile
    writeKey: %s
    readKey: %s
    tenant: %s
    namespace: %s
    origins: [%q]
    rateLimit:
      eventsPerSecond: 100000
      burst: 100000
    timezone: UTC
  - id: hostile-limited
    writeKey: %s
    tenant: %s
    namespace: %s
    rateLimit:
      eventsPerSecond: 0.01
      burst: 1
    timezone: UTC
`, suiteWriteKey, suiteReadKey, tenant, namespace, allowedOrigin, limitedWriteKey, tenant, namespace)
}

// The suite's source's keys, for the test's wiring.
const (
	WriteKey = suiteWriteKey
	ReadKey  = suiteReadKey
)
