package hostile

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// The adversarial soak (issue 14's benchmark, BenchmarkSoak) runs the pipeline three
// times, on a namespace and with services of its own each time: an ordinary run (events
// as sites send them: a few hundred page paths, a handful of browsers, stamped now), an
// adversarial run of as many events, where every event has a page path, an event name,
// a referrer host, a UTM source, a User-Agent (browser token) and a timestamp of its
// own, the timestamps spread evenly over years 0001 to now, and an adversarial-recent
// run: the same values of their own, an eighth of them with random page paths and
// referrers of 1 to 2 KB, stamped within the last 47 hours, inside the processor's
// retention window, so that the processor aggregates and sessionizes every one (the
// adversarial run's, all but the last few, fall outside it) and reaches its bounds on
// values, distinct values per minute and commit size. All are sent at the same steady
// rate, in batches of the same size, and each service's peak resident memory is
// compared with the ordinary run's. A slow-connection phase follows on the adversarial
// run's pipeline: legitimate requests at a fixed rate, alone and then while thousands
// of connections trickle their bodies, and their latency.

// Environment variables of the soak.
const (
	SoakEventsEnv   = "CLICKTRAIL_SOAK_EVENTS"    // events per run
	SoakRateEnv     = "CLICKTRAIL_SOAK_RATE"      // events per second sent
	SoakSlowEnv     = "CLICKTRAIL_SOAK_SLOW"      // slow connections held
	SoakLegitEnv    = "CLICKTRAIL_SOAK_LEGIT"     // legitimate requests per second
	SoakDurationEnv = "CLICKTRAIL_SOAK_SLOW_TIME" // legitimate requests' measured window
)

// SoakConfig is the soak's load; defaults in brackets, each from its variable.
type SoakConfig struct {
	// Events per run [20,000; `make bench` sets 1,000,000], rounded down to whole
	// batches.
	Events int
	// Rate of events a second sent in each run [5,000]: steady, about a third of what
	// the collector took on the two-core machine (13,800 events/s when asked for
	// 15,000), so that the runs measure memory, not overload (the collector's bench
	// measures that) and the processor and the archiver keep up.
	Rate float64
	// InFlight bounds the soak's requests in flight [32].
	InFlight int
	// Visitors the batches are spread over [10,000], each batch one visitor's: the
	// same in both runs, so that only the values and the timestamps differ.
	Visitors int
	// Slow connections held open, trickling their bodies, in the slow phase [2,000].
	Slow int
	// LegitRate is the legitimate requests a second (20 events each) [100], sent for
	// Baseline alone [10s] and for Measured [30s] while the slow connections are held.
	LegitRate          float64
	Baseline, Measured time.Duration
}

// SoakBatch is the events of one request, the SDK's batch.
const SoakBatch = 20

// SoakConfigFromEnv reads the soak's variables over the defaults.
func SoakConfigFromEnv() (SoakConfig, error) {
	c := SoakConfig{Events: 20_000, Rate: 5000, InFlight: 32, Visitors: 10_000, Slow: 2000,
		LegitRate: 100, Baseline: 10 * time.Second, Measured: 30 * time.Second}
	var errs []error
	integer := func(env string, dst *int) {
		if v := os.Getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				errs = append(errs, fmt.Errorf("invalid %s=%q: want a positive number", env, v))
				return
			}
			*dst = n
		}
	}
	real := func(env string, dst *float64) {
		if v := os.Getenv(env); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f <= 0 {
				errs = append(errs, fmt.Errorf("invalid %s=%q: want a positive number", env, v))
				return
			}
			*dst = f
		}
	}
	integer(SoakEventsEnv, &c.Events)
	real(SoakRateEnv, &c.Rate)
	integer(SoakSlowEnv, &c.Slow)
	real(SoakLegitEnv, &c.LegitRate)
	if v := os.Getenv(SoakDurationEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf("invalid %s=%q: want a positive duration like 30s", SoakDurationEnv, v))
		}
		c.Measured = d
	}
	c.Events = max(SoakBatch, c.Events/SoakBatch*SoakBatch)
	return c, errors.Join(errs...)
}

// Batches is the requests of one run.
func (c SoakConfig) Batches() int { return c.Events / SoakBatch }
