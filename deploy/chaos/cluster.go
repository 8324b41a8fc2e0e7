package chaos

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/apache/pulsar-client-go/pulsaradmin"
	"github.com/apache/pulsar-client-go/pulsaradmin/pkg/utils"

	"github.com/clicktrail/clicktrail/schemas"
)

// Cluster is a Pulsar cluster whose nodes (broker-1, broker-2, bookie-1, ...) the suite
// kills, stops and starts again (testenv.PrivateCluster).
type Cluster interface {
	Kill(node string) error
	Stop(node string) error
	Start(node string) error
	// BrokerNode names the node of a broker's service URL.
	BrokerNode(url string) (string, error)
}

// BrokerDown SIGKILLs (kill) or stops (SIGTERM: the broker hands its topics over
// first) the broker that owns the events topic's first partition when the fault
// begins, so that the fault always moves topics the services use; waits down; and
// starts it again.
func BrokerDown(c Cluster, adminURLs []string, eventsTopic string, kill bool, down time.Duration) Fault {
	how := "stop"
	if kill {
		how = "SIGKILL"
	}
	return Fault{Name: fmt.Sprintf("%s broker %s", how, down), Inject: func(ctx context.Context) error {
		topic := eventsTopic + "-partition-0"
		node, err := owner(ctx, c, adminURLs, topic)
		if err != nil {
			return err
		}
		return nodeDown(ctx, c, adminURLs, topic, node, kill, down)
	}}
}

// BookieDown SIGKILLs a bookie, waits down, and starts it again.
func BookieDown(c Cluster, node string, down time.Duration) Fault {
	return Fault{Name: fmt.Sprintf("SIGKILL bookie %s", down), Inject: func(ctx context.Context) error {
		return nodeDown(ctx, c, nil, "", node, true, down)
	}}
}

// nodeDown takes node away, waits down and starts it again. A broker's topics must
// have moved to the other broker by then: clients that stayed with the dead owner
// would wait for its return.
func nodeDown(ctx context.Context, c Cluster, adminURLs []string, topic, node string, kill bool, down time.Duration) error {
	take, how := c.Stop, "stop"
	if kill {
		take, how = c.Kill, "SIGKILL"
	}
	if err := take(node); err != nil {
		return fmt.Errorf("%s %s: %w", how, node, err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(down):
	}
	if topic != "" {
		now, err := owner(ctx, c, adminURLs, topic)
		if err != nil {
			return fmt.Errorf("%s was down for %s: %w", node, down, err)
		}
		if now == node {
			return fmt.Errorf("%s was down for %s, and still owns %s", node, down, topic)
		}
	}
	if err := c.Start(node); err != nil {
		return fmt.Errorf("start %s again: %w", node, err)
	}
	return nil
}

// owner returns the node of the broker that owns topic now.
func owner(ctx context.Context, c Cluster, adminURLs []string, topic string) (string, error) {
	tn, err := utils.GetTopicName(topic)
	if err != nil {
		return "", err
	}
	var url string
	err = withAdmin(adminURLs, func(admin pulsaradmin.Client) error {
		ld, err := admin.Topics().LookupWithContext(ctx, *tn)
		url = ld.BrokerURL
		return err
	})
	if err != nil {
		return "", fmt.Errorf("look up the owner of %s: %w", topic, err)
	}
	return c.BrokerNode(url)
}

// UnloadBundle unloads the namespace bundle that holds the events topic's first
// partition: its owner closes the bundle's topics, and they are assigned again (to
// either broker), as the load balancer does when it moves load.
func UnloadBundle(adminURLs []string, eventsTopic string) Fault {
	return Fault{Name: "unload a bundle of events", Inject: func(ctx context.Context) error {
		tn, err := utils.GetTopicName(eventsTopic + "-partition-0")
		if err != nil {
			return err
		}
		return withAdmin(adminURLs, func(admin pulsaradmin.Client) error {
			bundle, err := admin.Topics().GetBundleRangeWithContext(ctx, *tn)
			if err != nil {
				return fmt.Errorf("bundle of %s: %w", tn, err)
			}
			if err := admin.Namespaces().UnloadNamespaceBundleWithContext(ctx, tn.GetTenant()+"/"+tn.GetNamespace(), bundle); err != nil {
				return fmt.Errorf("unload bundle %s of %s: %w", bundle, tn, err)
			}
			return nil
		})
	}}
}

// AddPartition adds a partition to the events topic while the load runs. The pipeline
// has recovered once the collector publishes to the new partition and both the
// processor's and the archiver's subscriptions have a consumer on it (and, as after
// every fault, every event accepted before is processed and stored).
func AddPartition(adminURLs []string, eventsTopic string) Fault {
	var added int // the new partition's index
	f := Fault{Name: "add a partition to events"}
	f.Inject = func(ctx context.Context) error {
		tn, err := utils.GetTopicName(eventsTopic)
		if err != nil {
			return err
		}
		n, err := Partitions(ctx, adminURLs, eventsTopic)
		if err != nil {
			return err
		}
		added = n
		return withAdmin(adminURLs, func(admin pulsaradmin.Client) error {
			if err := admin.Topics().UpdateWithContext(ctx, *tn, n+1); err != nil {
				return fmt.Errorf("update %s to %d partitions: %w", eventsTopic, n+1, err)
			}
			return nil
		})
	}
	f.Pending = func(ctx context.Context) string {
		pn := fmt.Sprintf("%s-partition-%d", eventsTopic, added)
		tn, err := utils.GetTopicName(pn)
		if err != nil {
			return err.Error()
		}
		var st utils.TopicStats
		err = withAdmin(adminURLs, func(admin pulsaradmin.Client) error {
			st, err = admin.Topics().GetStatsWithContext(ctx, *tn)
			return err
		})
		switch {
		case err != nil:
			return err.Error()
		case len(st.Publishers) == 0 || st.MsgCounterIn == 0:
			return "the collector publishes nothing to the new partition " + pn
		}
		for _, sub := range []string{schemas.SubscriptionProcessor, schemas.SubscriptionArchiver} {
			if len(st.Subscriptions[sub].Consumers) == 0 {
				return fmt.Sprintf("subscription %s has no consumer on the new partition %s", sub, pn)
			}
		}
		return ""
	}
	return f
}

// The cluster profile's goals: processing resumes within resumeGoal of every fault's
// start; while a broker is SIGKILLed, the collector refuses at most refusedGoal of the
// requests and answers 99 % of them within p99Goal.
const (
	resumeGoal  = 10 * time.Second
	refusedGoal = 0.01
	p99Goal     = 5 * time.Second
)

// ClusterGoals returns one error for each goal an outcome misses.
func ClusterGoals(outcomes []Outcome) []error {
	var errs []error
	for _, o := range outcomes {
		if o.Recovered.IsZero() {
			continue // reported already
		}
		if d := o.Resumed.Sub(o.Start); d > resumeGoal {
			errs = append(errs, fmt.Errorf("%s: processing resumed %.1fs after the fault's start (goal: within %s)", o.Fault, d.Seconds(), resumeGoal))
		}
		if !strings.HasPrefix(o.Fault, "SIGKILL broker") {
			continue
		}
		if o.Requests == 0 || float64(o.Refused) > refusedGoal*float64(o.Requests) {
			errs = append(errs, fmt.Errorf("%s: the collector refused %d of %d requests (goal: at most %.0f%%)", o.Fault, o.Refused, o.Requests, 100*refusedGoal))
		}
		if o.P99 >= p99Goal {
			errs = append(errs, fmt.Errorf("%s: p99 answer time %.2fs (goal: under %s)", o.Fault, o.P99.Seconds(), p99Goal))
		}
	}
	return errs
}
