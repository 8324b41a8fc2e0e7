package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/internal/provision"
	"github.com/clicktrail/clicktrail/internal/sources"
)

// ClusterName is the Pulsar cluster deploy/local/cluster.sh initialises.
const ClusterName = "clicktrail-local"

// PrivateCluster is a Pulsar cluster (ZooKeeper, three bookies, two brokers) that one
// test owns, started by deploy/local/cluster.sh (as `make cluster` does) on ports and in
// a run folder of its own, so the test can kill, stop and restart its nodes.
type PrivateCluster struct {
	// URL names both brokers, as the services are given it.
	URL string
	// AdminURLs are the brokers' admin endpoints, broker-1's first.
	AdminURLs []string
	// Brokers are the brokers' service URLs (pulsar://127.0.0.1:port), broker-1's first.
	Brokers []string
	env     []string
	root    string
}

// NewPrivateCluster starts a cluster for t (about 30 s), provisions namespace ns on it,
// and stops it when t ends.
func NewPrivateCluster(t testing.TB, ns sources.Namespace) *PrivateCluster {
	t.Helper()
	ports := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strconv.Itoa(freePort(t))
		}
		return out
	}
	brokers, admins := ports(2), ports(2)
	c := &PrivateCluster{
		URL:  "pulsar://127.0.0.1:" + brokers[0] + ",127.0.0.1:" + brokers[1],
		root: Root(t),
		env: []string{
			"CLICKTRAIL_RUN_DIR=" + t.TempDir(),
			"CLICKTRAIL_CLUSTER_ZK_PORT=" + strconv.Itoa(freePort(t)),
			"CLICKTRAIL_CLUSTER_BOOKIE_PORTS=" + strings.Join(ports(3), " "),
			"CLICKTRAIL_CLUSTER_BOOKIE_HTTP_PORTS=" + strings.Join(ports(3), " "),
			"CLICKTRAIL_CLUSTER_BROKER_PORTS=" + strings.Join(brokers, " "),
			"CLICKTRAIL_CLUSTER_ADMIN_PORTS=" + strings.Join(admins, " "),
		},
	}
	for i := range brokers {
		c.Brokers = append(c.Brokers, "pulsar://127.0.0.1:"+brokers[i])
		c.AdminURLs = append(c.AdminURLs, "http://127.0.0.1:"+admins[i])
	}
	t.Cleanup(func() { _ = c.script("stop") })
	if err := c.script("start"); err != nil {
		t.Fatalf("testenv: start private cluster: %v", err)
	}
	cfg := provision.Config{PulsarAdminURL: c.AdminURLs[0], PulsarURL: c.URL, Cluster: ClusterName,
		Namespaces: []sources.Namespace{ns}, RetentionMinutes: 60, RetentionSizeMB: 256, BacklogQuotaMB: 128}.WithDefaults()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := provision.Pulsar(ctx, cfg, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("testenv: provision private cluster: %v", err)
	}
	return c
}

// Start starts every node that does not run (after a kill or a stop), and waits until
// each is ready.
func (c *PrivateCluster) Start(node string) error { return c.script("start", node) }

// Stop stops a node gracefully (SIGTERM: a broker hands its topics to the other one).
func (c *PrivateCluster) Stop(node string) error { return c.script("stop", node) }

// Kill SIGKILLs a node.
func (c *PrivateCluster) Kill(node string) error { return c.script("kill", node) }

// BrokerNode returns the node name (broker-1, broker-2) of a broker's service URL.
func (c *PrivateCluster) BrokerNode(url string) (string, error) {
	for i, b := range c.Brokers {
		if strings.TrimSuffix(url, "/") == b {
			return "broker-" + strconv.Itoa(i+1), nil
		}
	}
	return "", fmt.Errorf("%s is none of the cluster's brokers %v", url, c.Brokers)
}

func (c *PrivateCluster) script(args ...string) error {
	return runScript(c.root, "cluster.sh", c.env, args...)
}
