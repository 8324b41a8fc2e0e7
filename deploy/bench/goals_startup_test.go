package bench

import (
	"strings"
	"testing"
)

// startupOutput is BenchmarkStartAfterHistory's output of a run with its default
// history.
const startupOutput = `pkg: github.com/clicktrail/clicktrail/processor
BenchmarkStartAfterHistory
    startup_bench_test.go:68: history of 300000 events through 2 instances in 15s (20357 events/s)
BenchmarkStartAfterHistory-2   	       1	18529994492 ns/op	         2.843 aggregates-MiB	         0 commits-read	    300000 history-events	     20357 history-events/s	     70000 open-sessions	         0.5893 processing-s	         0.1014 ready-s	        16.00 shards-loaded	     70000 snapshot-records	        14.69 state-MiB
PASS
`

func TestTheStartUpIsJudgedOnlyAfterTenMillionEvents(t *testing.T) {
	for _, tt := range []struct {
		name, from, to string
		value, verdict string
	}{
		{"a history of 300,000 events", "", "",
			"0.6 s (ready 0.1 s) after 300,000 events, 70,000 open sessions: fewer than the goal's", NotRun},
		{"10 million events, processing in 0.6 s", "300000 history-events", "10000000 history-events",
			"0.6 s (ready 0.1 s) after 10,000,000 events, 70,000 open sessions", Met},
		{"10 million events, processing in 12 s", "300000 history-events	     20357 history-events/s	     70000 open-sessions	         0.5893 processing-s", "10000000 history-events	     20357 history-events/s	     70000 open-sessions	         12.2 processing-s",
			"12.2 s (ready 0.1 s) after 10,000,000 events, 70,000 open sessions", NotMet},
		{"the benchmark failed", "processing-s", "other-s", NotRun, NotRun},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var bs Benchmarks
			if err := bs.ParseBenchmarks(strings.NewReader(strings.Replace(startupOutput, tt.from, tt.to, 1))); err != nil {
				t.Fatal(err)
			}
			r := rowOf(t, Rows(Inputs{Bench: bs}), "processor", "a new instance after a long history")
			if r.Value != tt.value || r.Verdict != tt.verdict || r.Goal != "≤ 10 s after ≥ 10,000,000 events of history" {
				t.Errorf("got %q, %q (goal %q); want %q, %q", r.Value, r.Verdict, r.Goal, tt.value, tt.verdict)
			}
		})
	}
}
