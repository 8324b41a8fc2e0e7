package bench

import (
	"strings"
	"testing"
)

// goOutput is `go test -bench` output as make bench tees it: two packages, a
// benchmark run three times, a sub-benchmark, b.Log lines, and a result line that a
// child process's output split after the benchmark's name.
const goOutput = `goos: linux
goarch: amd64
pkg: github.com/clicktrail/clicktrail/processor
cpu: Intel(R) Xeon(R) Processor
BenchmarkSessionize-2   	 1000000	      8130 ns/op	    123000 events/s	     512 B/op	       7 allocs/op
BenchmarkSessionize-2   	 1000000	      8000 ns/op	    125000 events/s	     512 B/op	       7 allocs/op
BenchmarkSessionize-2   	 1000000	      9000 ns/op	    111000 events/s	     512 B/op	       7 allocs/op
BenchmarkBacklog-2      	       1	13280000000 ns/op	     37650 baseline-events/s	     15060 processor-events/cpu-s	     15060 processor-events/s	         0.40 ratio
--- BENCH: BenchmarkBacklog-2
    bench_test.go:215: backlog of 200000 events: consume-and-ack 5.31s; processor 13.28s
PASS
ok  	github.com/clicktrail/clicktrail/processor	40.1s
goos: linux
goarch: amd64
pkg: github.com/clicktrail/clicktrail/archiver
cpu: Intel(R) Xeon(R) Processor
BenchmarkBacklog-2      	{"level":"WARN","msg":"upload retried"}
{"level":"WARN","msg":"upload retried again"}
       1	60000000000 ns/op	     40000 archiver-events/cpu-s	       120.5 archiver-peak-RSS-MiB	     30000 archiver-events/s	     50000 baseline-events/s	         9.9 json-B/event	         0.60 ratio	         1.2 parquet-B/event
PASS
pkg: github.com/clicktrail/clicktrail/deploy/bench
BenchmarkEndToEnd/throughput-2 	       1	2326588494 ns/op	     10501 accepted-events/s	      2023 baseline-events/s
Benchmarks: not a result line 1 2 x
`

func TestParseBenchmarksReadsEveryResultByPackage(t *testing.T) {
	var bs Benchmarks
	if err := bs.ParseBenchmarks(strings.NewReader(goOutput)); err != nil {
		t.Fatal(err)
	}
	if bs.CPU != "Intel(R) Xeon(R) Processor" {
		t.Errorf("cpu %q", bs.CPU)
	}
	tests := []struct {
		name, pkg, bench, unit string
		want                   float64
		runs                   int
	}{
		{"the median of three runs", "processor", "BenchmarkSessionize", "events/s", 123000, 3},
		{"a custom metric of one run", "processor", "BenchmarkBacklog", "ratio", 0.40, 1},
		{"the same benchmark name in another package", "archiver", "BenchmarkBacklog", "ratio", 0.60, 1},
		{"a result split by a child's output", "archiver", "BenchmarkBacklog", "parquet-B/event", 1.2, 1},
		{"a sub-benchmark", "deploy/bench", "BenchmarkEndToEnd/throughput", "accepted-events/s", 10501, 1},
		{"a full package path", "github.com/clicktrail/clicktrail/processor", "BenchmarkSessionize", "B/op", 512, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := bs.Lookup(tt.pkg, tt.bench, tt.unit)
			if !ok {
				t.Fatalf("no %s %s %s among %v", tt.pkg, tt.bench, tt.unit, bs.All())
			}
			if f.Median() != tt.want || len(f.Values) != tt.runs {
				t.Errorf("median %v of %d runs, want %v of %d", f.Median(), len(f.Values), tt.want, tt.runs)
			}
		})
	}
	if _, ok := bs.Lookup("collector", "BenchmarkBacklog", "ratio"); ok {
		t.Errorf("found a benchmark of a package that did not run")
	}
	if got := len(bs.All()); got != 4+5+8+3 {
		t.Errorf("%d figures, want 20: %v", got, bs.All())
	}
}

func TestMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo(t *testing.T) {
	if got := (Figure{Values: []float64{4, 1, 3, 2}}).Median(); got != 2.5 {
		t.Errorf("median %v, want 2.5", got)
	}
}

func TestTrimProcsDropsOnlyTheGOMAXPROCSSuffix(t *testing.T) {
	for in, want := range map[string]string{
		"BenchmarkBacklog-2":             "BenchmarkBacklog",
		"BenchmarkBacklog":               "BenchmarkBacklog",
		"BenchmarkEndToEnd/latency-16":   "BenchmarkEndToEnd/latency",
		"BenchmarkX/size-1000-2":         "BenchmarkX/size-1000",
		"BenchmarkEndToEnd/through-put-": "BenchmarkEndToEnd/through-put-",
	} {
		if got := trimProcs(in); got != want {
			t.Errorf("trimProcs(%q) = %q, want %q", in, got, want)
		}
	}
}
