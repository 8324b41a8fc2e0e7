package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// LoadRun is one loadgen report of deploy/local/bench-collector.sh (<name>.json), with
// the target's peak resident memory (<name>.rss_kb).
type LoadRun struct {
	Name              string
	EventsPerSecond   float64        `json:"events_per_second"`
	RequestsPerSecond float64        `json:"requests_per_second"`
	TargetRate        float64        `json:"target_rate"`
	P50ms             float64        `json:"p50_ms"`
	P99ms             float64        `json:"p99_ms"`
	RefusedP99ms      float64        `json:"refused_p99_ms"`
	Status            map[string]int `json:"status"`
	Seconds           float64        `json:"seconds"`
	// Rounds holds every round's events/s and p99 ("events_per_second", "p99_ms") when
	// this run is the median of several (MedianOf names the figure it is the median
	// of); empty for a single run.
	Rounds   map[string][]float64 `json:"rounds"`
	MedianOf string               `json:"median_of"`
	// PeakRSSKiB is the target's VmHWM (0 when not recorded).
	PeakRSSKiB int64 `json:"-"`
	// CPU is where the machine's CPU went during the run (<name>.cpu), nil when not
	// recorded.
	CPU *CPUSplit `json:"-"`
}

// CPUSplit is the CPU used during a run, in cores (2 is all of a 2-core machine).
type CPUSplit struct{ Target, Broker, Machine float64 }

// clockTicks is Linux's USER_HZ, the unit of /proc's CPU times.
const clockTicks = 100

// readCPU reads a <name>.cpu file of bench-collector.sh: two snapshots "target-ticks
// broker-ticks machine-busy-ticks machine-all-ticks unix-seconds", before and after.
func readCPU(path string) *CPUSplit {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var snaps [][]float64
	for line := range strings.Lines(string(b)) {
		var v []float64
		for _, f := range strings.Fields(line) {
			x, err := strconv.ParseFloat(f, 64)
			if err != nil {
				return nil
			}
			v = append(v, x)
		}
		if len(v) >= 5 {
			snaps = append(snaps, v)
		}
	}
	if len(snaps) < 2 || snaps[1][4] <= snaps[0][4] {
		return nil
	}
	a, z := snaps[0], snaps[1]
	secs := z[4] - a[4]
	cores := func(i int) float64 { return (z[i] - a[i]) / clockTicks / secs }
	return &CPUSplit{Target: cores(0), Broker: cores(1), Machine: cores(2)}
}

// MicrosPerEvent is the target's CPU time per accepted event, in microseconds: unlike
// events/s, it hardly moves when other work shares the machine.
func (r LoadRun) MicrosPerEvent() (float64, bool) {
	if r.CPU == nil || r.EventsPerSecond <= 0 {
		return 0, false
	}
	return r.CPU.Target * 1e6 / r.EventsPerSecond, true
}

// ofRounds is s followed by "(median of N rounds: a, b, c)" when the run is the
// median of several rounds of figure key, each round's value shown by show.
func (r LoadRun) ofRounds(s, key string, show func(float64) string) string {
	v := r.Rounds[key]
	if len(v) < 2 || r.MedianOf != key {
		return s
	}
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = show(x)
	}
	return fmt.Sprintf("%s (median of %d rounds: %s)", s, len(v), strings.Join(parts, ", "))
}

// OnlyOK reports whether every request was answered 200.
func (r LoadRun) OnlyOK() bool {
	for code, n := range r.Status {
		if code != "200" && n > 0 {
			return false
		}
	}
	return r.Status["200"] > 0
}

// StatusText is the status counts, "200×1234, 503×5".
func (r LoadRun) StatusText() string {
	codes := make([]string, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	var parts []string
	for _, c := range codes {
		name := c
		if c == "0" {
			name = "no answer"
		}
		parts = append(parts, name+"×"+group(int64(r.Status[c])))
	}
	return strings.Join(parts, ", ")
}

// CollectorRuns are the collector benchmark's runs by name: decode, collector, naive,
// collector-<rate>rps, overload, recovery.
type CollectorRuns struct {
	Runs map[string]LoadRun
	// Skipped names the reports that could not be read (a run cut short leaves an
	// empty one), with the reason.
	Skipped []string
	// OverloadRSSKiB is the collector's VmRSS sampled every second under overload.
	OverloadRSSKiB []int64
}

// Rated lists the fixed-rate runs (collector-<rate>rps) by rising rate.
func (c CollectorRuns) Rated() []LoadRun {
	var out []LoadRun
	for name, r := range c.Runs {
		if rate, ok := rpsOf(name); ok {
			if r.TargetRate == 0 {
				r.TargetRate = rate
			}
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b LoadRun) int { return int(a.TargetRate - b.TargetRate) })
	return out
}

func rpsOf(name string) (float64, bool) {
	v, ok := strings.CutPrefix(name, "collector-")
	if !ok {
		return 0, false
	}
	v, ok = strings.CutSuffix(v, "rps")
	if !ok {
		return 0, false
	}
	r, err := strconv.ParseFloat(v, 64)
	return r, err == nil
}

// LoadCollectorRuns reads the collector benchmark's outputs in dir. Files that are
// missing are left out, reports that do not parse are listed in Skipped; only a
// failure to read the folder is an error.
func LoadCollectorRuns(dir string) (CollectorRuns, error) {
	c := CollectorRuns{Runs: map[string]LoadRun{}}
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return c, err
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		if !isCollectorRun(name) {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return c, err
		}
		var r LoadRun
		if err := json.Unmarshal(b, &r); err != nil {
			c.Skipped = append(c.Skipped, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		r.Name = name
		if r.PeakRSSKiB, err = readKiB(filepath.Join(dir, name+".rss_kb")); err != nil {
			return c, err
		}
		r.CPU = readCPU(filepath.Join(dir, name+".cpu"))
		c.Runs[name] = r
	}
	b, err := os.ReadFile(filepath.Join(dir, "overload.rss"))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return c, err
	default:
		for _, f := range strings.Fields(string(b)) {
			if v, err := strconv.ParseInt(f, 10, 64); err == nil {
				c.OverloadRSSKiB = append(c.OverloadRSSKiB, v)
			}
		}
	}
	return c, nil
}

func isCollectorRun(name string) bool {
	switch name {
	case "decode", "collector", "naive", "overload", "recovery":
		return true
	}
	_, ok := rpsOf(name)
	return ok
}

func readKiB(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return v, nil
}

// SDKSize finds the line `npm run test:size` prints ("size: 3046 bytes min+gzip
// (7412 minified), budget 3072") in text, and returns the min+gzip bytes.
func SDKSize(text string) (int64, bool) {
	for line := range strings.Lines(text) {
		_, rest, ok := strings.Cut(line, "size: ")
		if !ok {
			continue
		}
		num, _, ok := strings.Cut(rest, " bytes min+gzip")
		if !ok {
			continue
		}
		if v, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64); err == nil {
			return v, true
		}
	}
	return 0, false
}
