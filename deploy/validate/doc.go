// Package validate checks, offline and with the real parsers, what deploy/ ships for
// containers and clusters: the Dockerfile (BuildKit's parser, and its go build lines
// run as written), the Compose file (the Compose specification's loader), the
// Kubernetes manifests (kustomize's krusty, decoded strictly into the Kubernetes API
// types), the KEDA ScaledObjects and ServiceMonitor (strictly, into local mirrors of
// the fields used), the Pulsar Helm values, the Prometheus scrape configurations and
// the Grafana dashboard (PromQL parsed by Prometheus's parser, every metric checked
// against the ones the services register).
//
// There is no Docker engine or cluster here: these checks are what can be known
// without one. The package holds only tests; `go test ./deploy/validate` runs them.
// It is a module of its own (joined by the repository's go.work), so that the
// parsers it uses are requirements of its go.mod, not of the product's.
package validate
