package bench

import (
	"bufio"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Benchmarks holds the figures of Go benchmark output: every value a (package,
// benchmark, unit) took, one per run.
type Benchmarks struct {
	// CPU is the first "cpu:" line's model name.
	CPU    string
	values map[benchKey][]float64
	order  []benchKey
}

type benchKey struct{ pkg, name, unit string }

// Figure is one unit of one benchmark over its runs.
type Figure struct {
	Pkg, Name, Unit string
	// Values are the runs' values in the order they were read.
	Values []float64
}

// Median is the median of the runs (the mean of the middle two for an even count).
func (f Figure) Median() float64 { return median(f.Values) }

// ParseBenchmarks adds the results of Go benchmark output (`go test -bench`, the
// standard format) read from r. Package names come from "pkg:" lines; the -GOMAXPROCS
// suffix is dropped from benchmark names. Lines that are not results are skipped, and
// a result line that something else's output split after the benchmark's name (a
// child process writing to the same terminal, say) is joined back to that name.
func (bs *Benchmarks) ParseBenchmarks(r io.Reader) error {
	if bs.values == nil {
		bs.values = map[benchKey][]float64{}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	pkg, pending := "", ""
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg, pending = strings.TrimSpace(v), ""
			continue
		}
		if v, ok := strings.CutPrefix(line, "cpu: "); ok && bs.CPU == "" {
			bs.CPU = strings.TrimSpace(v)
			continue
		}
		fields := strings.Fields(line)
		name := ""
		switch {
		case len(fields) > 0 && isBenchmarkName(fields[0]):
			name, fields = fields[0], fields[1:]
			pending = name // in case its figures come on a later line
		case pending != "":
			name = pending
		default:
			continue
		}
		metrics, ok := parseMetrics(fields)
		if !ok {
			continue
		}
		pending = ""
		name = trimProcs(name)
		for _, m := range metrics {
			k := benchKey{pkg, name, m.unit}
			if _, seen := bs.values[k]; !seen {
				bs.order = append(bs.order, k)
			}
			bs.values[k] = append(bs.values[k], m.value)
		}
	}
	return sc.Err()
}

type metric struct {
	value float64
	unit  string
}

// parseMetrics reads "<iterations> <value> <unit> <value> <unit> ...".
func parseMetrics(fields []string) ([]metric, bool) {
	if len(fields) < 3 || len(fields)%2 == 0 {
		return nil, false
	}
	if _, err := strconv.ParseInt(fields[0], 10, 64); err != nil {
		return nil, false
	}
	var out []metric
	for i := 1; i+1 < len(fields); i += 2 {
		v, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return nil, false
		}
		out = append(out, metric{v, fields[i+1]})
	}
	return out, true
}

func isBenchmarkName(s string) bool {
	rest, ok := strings.CutPrefix(s, "Benchmark")
	// BenchmarkX, not "Benchmarks:" or a sentence starting with the word.
	return ok && rest != "" && !strings.ContainsAny(rest, ":,")
}

// trimProcs drops the -N suffix go test appends for GOMAXPROCS.
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

// Lookup returns the figure of a benchmark's unit; pkg may be given as its last path
// elements ("processor" matches "github.com/clicktrail/clicktrail/processor").
func (bs *Benchmarks) Lookup(pkg, name, unit string) (Figure, bool) {
	for _, k := range bs.order {
		if k.name == name && k.unit == unit && pkgMatches(k.pkg, pkg) {
			return Figure{k.pkg, k.name, k.unit, bs.values[k]}, true
		}
	}
	return Figure{}, false
}

// All returns every figure, in the order first seen.
func (bs *Benchmarks) All() []Figure {
	out := make([]Figure, 0, len(bs.order))
	for _, k := range bs.order {
		out = append(out, Figure{k.pkg, k.name, k.unit, bs.values[k]})
	}
	return out
}

func pkgMatches(full, want string) bool {
	return want == "" || full == want || strings.HasSuffix(full, "/"+want)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}
