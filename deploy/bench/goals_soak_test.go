package bench

import (
	"strings"
	"testing"
)

// soakOutput is BenchmarkSoak's output (a run of 20,000 events, its figures rounded;
// the adversarial-recent run's added by hand), one result line as go test prints it.
const soakOutput = `goos: linux
goarch: amd64
pkg: github.com/clicktrail/clicktrail/deploy/hostile
cpu: AMD EPYC
BenchmarkSoak-2   	       1	57213136143 ns/op	     20000 adversarial-recent-accepted	     20000 adversarial-recent-archived	      2500 adversarial-recent-commits	       180.0 adversarial-recent-archiver-peak-MiB	         1.630 adversarial-recent-archiver-peak-ratio	        73.00 adversarial-recent-collector-peak-MiB	         1.059 adversarial-recent-collector-peak-ratio	      4000 adversarial-recent-events/s	         0 adversarial-recent-exits	         0 adversarial-recent-outside	     20000 adversarial-recent-processed	      2821 adversarial-recent-store-buckets	      5000 adversarial-recent-values-capped	        21.70 adversarial-recent-processor-peak-MiB	         1.447 adversarial-recent-processor-peak-ratio	     20000 adversarial-accepted	     20000 adversarial-archived	       126.1 adversarial-archiver-peak-MiB	        71.83 adversarial-collector-peak-MiB	      4000 adversarial-events/s	         0 adversarial-exits	     20000 adversarial-outside	     20000 adversarial-processed	        31.06 adversarial-processor-peak-MiB	         1.143 archiver-peak-ratio	         0 baseline-legit-non200	        14.19 baseline-legit-p99-ms	         1.042 collector-peak-ratio	         0 legit-non200	         4.673 legit-p50-ms	        46.26 legit-p99-ms	      3000 legit-requests	       100.0 legit-requests/s	     20000 ordinary-accepted	     20000 ordinary-archived	       110.4 ordinary-archiver-peak-MiB	        68.95 ordinary-collector-peak-MiB	      4000 ordinary-events/s	         0 ordinary-exits	         0 ordinary-outside	     20000 ordinary-processed	        15.00 ordinary-processor-peak-MiB	         2.071 processor-peak-ratio	       168.4 slow-collector-peak-MiB	      2000 slow-connections	      1990 slow-mean-held	      1998 slow-min-held	     20000 soak-events
PASS
`

func TestTheSoakIsJudgedAgainstItsOrdinaryRun(t *testing.T) {
	var bs Benchmarks
	if err := bs.ParseBenchmarks(strings.NewReader(soakOutput)); err != nil {
		t.Fatal(err)
	}
	rows := Rows(Inputs{Bench: bs})
	tests := []struct {
		part, figure                    string
		value, baseline, ratio, verdict string
	}{
		{"collector", "adversarial soak, 20,000 events", "72 MiB", "69 MiB ordinary run", "1.04×", Met},
		{"processor", "adversarial soak, 20,000 events", "31 MiB", "15 MiB ordinary run", "2.07×", NotMet},
		{"archiver", "adversarial soak, 20,000 events", "126 MiB", "110 MiB ordinary run", "1.14×", Met},
		{"end-to-end", "adversarial soak: events accepted",
			"ordinary 20,000 / 20,000 / 20,000; adversarial 20,000 / 20,000 / 20,000 (20,000 outside the processor's window)", "—", "—", Met},
		{"collector", "adversarial soak inside the processor's window, 20,000 events", "73 MiB", "69 MiB ordinary run", "1.06×", Met},
		{"processor", "adversarial soak inside the processor's window, 20,000 events", "22 MiB", "15 MiB ordinary run", "1.45×", Met},
		{"archiver", "adversarial soak inside the processor's window, 20,000 events", "180 MiB", "110 MiB ordinary run", "1.63×", NotMet},
		{"end-to-end", "adversarial soak inside the processor's window: events accepted",
			"20,000 / 20,000 / 20,000; 0 outside the processor's window; 0 exits; the processor cut 5,000 values, held 2,821 buckets, wrote 2,500 commits",
			"—", "—", Met},
		{"collector", "p99 latency of 100 legitimate requests/s of 20 events while 2,000 slow",
			"46.3 ms (p50 4.7 ms); 0 of 3,000 not 200; at least 1,998 slow connections held (mean 1,990)", "14.2 ms without them", "3.3×", Met},
		{"collector", "peak RSS while 2,000 slow connections", "168 MiB", "—", "—", Met},
	}
	for _, tt := range tests {
		t.Run(tt.part+" "+tt.figure, func(t *testing.T) {
			r := rowOf(t, rows, tt.part, tt.figure)
			if r.Value != tt.value || r.Baseline != tt.baseline || r.Ratio != tt.ratio || r.Verdict != tt.verdict {
				t.Errorf("got value %q, baseline %q, ratio %q, verdict %q\nwant value %q, baseline %q, ratio %q, verdict %q",
					r.Value, r.Baseline, r.Ratio, r.Verdict, tt.value, tt.baseline, tt.ratio, tt.verdict)
			}
		})
	}
}

func TestASoakThatLostEventsOrHeldTooFewConnectionsMissesItsGoals(t *testing.T) {
	out := strings.Replace(soakOutput, "20000 adversarial-archived", "19980 adversarial-archived", 1)
	out = strings.Replace(out, "1990 slow-mean-held", "1500 slow-mean-held", 1)
	var bs Benchmarks
	if err := bs.ParseBenchmarks(strings.NewReader(out)); err != nil {
		t.Fatal(err)
	}
	rows := Rows(Inputs{Bench: bs})
	if r := rowOf(t, rows, "end-to-end", "adversarial soak: events accepted"); r.Verdict != NotMet {
		t.Errorf("20 events not archived: %q %s", r.Value, r.Verdict)
	}
	if r := rowOf(t, rows, "collector", "p99 latency of 100 legitimate"); r.Verdict != NotMet {
		t.Errorf("1,500 slow connections held on average: %q %s", r.Value, r.Verdict)
	}
}

func TestAnAdversarialRecentRunWithEventsOutsideTheWindowOrAnExitMissesItsGoal(t *testing.T) {
	for _, tt := range []struct{ name, from, to string }{
		{"an event outside the window", "0 adversarial-recent-outside", "1 adversarial-recent-outside"},
		{"an exit", "0 adversarial-recent-exits", "1 adversarial-recent-exits"},
		{"an event not counted", "20000 adversarial-recent-processed", "19999 adversarial-recent-processed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var bs Benchmarks
			if err := bs.ParseBenchmarks(strings.NewReader(strings.Replace(soakOutput, tt.from, tt.to, 1))); err != nil {
				t.Fatal(err)
			}
			if r := rowOf(t, Rows(Inputs{Bench: bs}), "end-to-end", "adversarial soak inside the processor's window: events"); r.Verdict != NotMet {
				t.Errorf("%s: %q %s", tt.name, r.Value, r.Verdict)
			}
		})
	}
}

func TestASoakWithoutTheAdversarialRecentRunShowsItsRowsAsNotRun(t *testing.T) {
	var kept []string
	for _, f := range strings.Split(soakOutput, "\t") {
		if !strings.Contains(f, "adversarial-recent-") {
			kept = append(kept, f)
		}
	}
	var bs Benchmarks
	if err := bs.ParseBenchmarks(strings.NewReader(strings.Join(kept, "\t"))); err != nil {
		t.Fatal(err)
	}
	rows := Rows(Inputs{Bench: bs})
	for _, part := range []string{"collector", "processor", "archiver", "end-to-end"} {
		if r := rowOf(t, rows, part, "adversarial soak inside the processor's window"); r.Verdict != NotRun {
			t.Errorf("%s: %q %s, want not run", part, r.Value, r.Verdict)
		}
	}
	if r := rowOf(t, rows, "processor", "adversarial soak, 20,000 events"); r.Verdict != NotMet || r.Value != "31 MiB" {
		t.Errorf("the adversarial run's processor row: %q %s", r.Value, r.Verdict)
	}
}
