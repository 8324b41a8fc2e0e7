package chaos

import (
	"fmt"
	"os"
	"time"
)

// ProfileEnv names the environment variable that picks the profile.
const ProfileEnv = "CLICKTRAIL_CHAOS_PROFILE"

// Profile is how hard and how long the suite pushes.
type Profile struct {
	Name string
	// Cluster runs the suite against a Pulsar cluster (ZooKeeper, three bookies, two
	// brokers) and injects the cluster's faults instead of the standalone broker's
	// (see the package documentation).
	Cluster bool
	// Rate is new visits per second; a visit sends about ten events over a few pages.
	Rate float64
	// ThinkTime is the mean pause between two pages of a visit.
	ThinkTime time.Duration
	// Warmup is the load before the first fault, Gap the load between two faults
	// (after the pipeline recovered from the first).
	Warmup, Gap time.Duration
	// BrokerDown and S3Down are how long the broker (or, in a cluster, a broker or a
	// bookie) and the S3 server stay stopped.
	BrokerDown, S3Down time.Duration
	// IdleTimeout is the processor's: a quiet key's session closes after this long by
	// the processor's clock. It must exceed the longest pause a fault imposes on a
	// visit (the broker's restart: its stop, the pause and its start take 20 to 75 s
	// on a busy two-core machine), or a visit would count as two sessions. The
	// suite's final wait is about this long, as every session has to close.
	IdleTimeout time.Duration
	// RollAge is the archiver's: files close and are stored this often.
	RollAge time.Duration
	// Recovery bounds the wait for the pipeline to recover after a fault, and Settle
	// the wait for it to catch up after the load.
	Recovery, Settle time.Duration
}

// Profiles by name.
var profiles = map[string]Profile{
	// About 80 events/s, 10 s without the S3 server: inside `make test`, at most ~4 minutes.
	"short": {
		Name: "short", Rate: 8, ThinkTime: time.Second, Warmup: 8 * time.Second, Gap: 3 * time.Second,
		BrokerDown: 3 * time.Second, S3Down: 10 * time.Second, IdleTimeout: 90 * time.Second,
		RollAge: 2 * time.Second, Recovery: 3 * time.Minute, Settle: 4 * time.Minute,
	},
	// About 300 events/s, 60 s without the S3 server, longer runs between faults.
	"long": {
		Name: "long", Rate: 30, ThinkTime: 2 * time.Second, Warmup: 30 * time.Second, Gap: 30 * time.Second,
		BrokerDown: 10 * time.Second, S3Down: 60 * time.Second, IdleTimeout: 3 * time.Minute,
		RollAge: 2 * time.Second, Recovery: 5 * time.Minute, Settle: 8 * time.Minute,
	},
	// The cluster's faults (a broker SIGKILLed and stopped, a bundle unloaded, a bookie
	// SIGKILLed, a partition added), under about 100 events/s (`make chaos-cluster`).
	"cluster": {
		Name: "cluster", Cluster: true, Rate: 10, ThinkTime: time.Second, Warmup: 15 * time.Second, Gap: 10 * time.Second,
		BrokerDown: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		RollAge: 2 * time.Second, Recovery: 3 * time.Minute, Settle: 4 * time.Minute,
	},
}

// ProfileFromEnv returns the profile CLICKTRAIL_CHAOS_PROFILE names (short when unset).
func ProfileFromEnv() (Profile, error) {
	name := os.Getenv(ProfileEnv)
	if name == "" {
		name = "short"
	}
	p, ok := profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("invalid %s=%q: want short, long or cluster", ProfileEnv, name)
	}
	return p, nil
}
