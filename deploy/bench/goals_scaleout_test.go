package bench

import (
	"strings"
	"testing"
)

// scaleOutOutput is BenchmarkScaleOut's output of a run on a broker that still spread
// Key_Shared keys by a consistent-hashing ring: every instance held every shard.
const scaleOutOutput = `pkg: github.com/clicktrail/clicktrail/processor
BenchmarkScaleOut
BenchmarkScaleOut-2   	       1	307526945260 ns/op	     19579 x1-events/s	       483.1 x1-peak-MiB	         1.321 x1-processing-s	         0.1033 x1-ready-s	     18688 x2-events/s	       488.2 x2-peak-MiB	         0.8457 x2-processing-s	         0.1022 x2-ready-s	     14059 x4-events/s	       666.0 x4-peak-MiB	         0.8718 x4-processing-s	         0.1016 x4-ready-s
PASS
`

func TestTheScaleOutIsJudgedAgainstOneInstance(t *testing.T) {
	for _, tt := range []struct {
		name, from, to        string
		value, ratio, verdict string
	}{
		{"every instance holding every shard", "", "", "666 MiB", "1.38", NotMet},
		{"each its share", "666.0 x4-peak-MiB", "160.0 x4-peak-MiB", "160 MiB", "0.33", Met},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var bs Benchmarks
			if err := bs.ParseBenchmarks(strings.NewReader(strings.Replace(scaleOutOutput, tt.from, tt.to, 1))); err != nil {
				t.Fatal(err)
			}
			rows := Rows(Inputs{Bench: bs})
			r := rowOf(t, rows, "processor", "peak RSS per instance with 4 instances")
			if r.Value != tt.value || r.Ratio != tt.ratio || r.Verdict != tt.verdict || r.Baseline != "483 MiB alone" {
				t.Errorf("got %q, %q, %q, %q; want %q, %q, %q, 483 MiB alone", r.Value, r.Baseline, r.Ratio, r.Verdict, tt.value, tt.ratio, tt.verdict)
			}
			if r := rowOf(t, rows, "processor", "a new instance on the benchmark's history"); r.Value != "1.3 s" || r.Verdict != Met {
				t.Errorf("start to processing: %q %s, want 1.3 s met", r.Value, r.Verdict)
			}
		})
	}
}
