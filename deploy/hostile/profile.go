package hostile

import (
	"fmt"
	"os"
	"time"
)

// ProfileEnv names the environment variable that picks the profile.
const ProfileEnv = "CLICKTRAIL_HOSTILE_PROFILE"

// Profile is how hard the suite pushes.
type Profile struct {
	Name string
	// SlowConnections are held open, trickling, while an ordinary request must still
	// get its 200 (more than the collector's 256 in-flight slots in both profiles).
	SlowConnections int
	// BigEvents is how many events of about 30 KB are sent for the archiver's memory.
	BigEvents int
	// RollAge is the archiver's: the 30 KB events of one roll period are buffered
	// together, so a longer roll weighs more on its memory.
	RollAge time.Duration
	// ArchiverRSS bounds the archiver's peak resident memory, in MiB. Measured on the
	// two-core machine: with row groups flushed by buffered bytes, 235 MiB (short) and
	// 259 MiB (long); before, with row groups of up to 50,000 rows held until the roll,
	// 334 MiB (short) and 837 MiB (long).
	ArchiverRSS float64
	// IdleTimeout is the processor's: a quiet visitor's session closes after this long.
	IdleTimeout time.Duration
	// CheckpointInterval is the processor's [default 500ms]. Longer, it gathers the
	// 280 events of the oversized-commit attack into one checkpoint however slowly a
	// busy machine takes them in, as a fast one does with the default.
	CheckpointInterval time.Duration
	// Settle bounds the wait, after the corpus, for the marker and the stage-specific
	// results to reach the lake and the aggregates.
	Settle time.Duration
	// Long runs the cases that take a minute or more (the keep-alive idle timeout).
	Long bool
}

// Bounds on each service's peak resident memory over the run, in MiB. The
// collector's is the issue's; the processor's is generous for the suite's volumes
// (before the fixes it died instead); the archiver's is the profile's
// (Profile.ArchiverRSS).
const (
	collectorRSSBound = 200
	processorRSSBound = 400
)

var profiles = map[string]Profile{
	// Inside `make test`: about a minute and a half with the services built.
	"short": {Name: "short", SlowConnections: 300, BigEvents: 1500, RollAge: 10 * time.Second, ArchiverRSS: 300,
		IdleTimeout: 10 * time.Second, CheckpointInterval: 5 * time.Second, Settle: 90 * time.Second},
	// `make hostile`: the volumes.
	"long": {Name: "long", SlowConnections: 2000, BigEvents: 6000, RollAge: 60 * time.Second, ArchiverRSS: 400,
		IdleTimeout: 20 * time.Second, CheckpointInterval: 5 * time.Second, Settle: 5 * time.Minute, Long: true},
}

// ProfileFromEnv returns the profile CLICKTRAIL_HOSTILE_PROFILE names (short when unset).
func ProfileFromEnv() (Profile, error) {
	name := os.Getenv(ProfileEnv)
	if name == "" {
		name = "short"
	}
	p, ok := profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("invalid %s=%q: want short or long", ProfileEnv, name)
	}
	return p, nil
}
