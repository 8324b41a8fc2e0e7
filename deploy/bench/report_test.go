package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFiles writes name → content into a new folder.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// collectorFiles are what deploy/local/bench-collector.sh leaves in .cache/bench.
var collectorFiles = map[string]string{
	"decode.json":              `{"events_per_second": 46375, "requests_per_second": 2318, "p50_ms": 8.8, "p99_ms": 67.5, "status": {"200": 34781}}`,
	"decode.rss_kb":            "48128\n",
	"collector.json":           `{"events_per_second": 28577, "requests_per_second": 1428, "p50_ms": 21.3, "p99_ms": 49.9, "status": {"200": 21433}, "rounds": {"events_per_second": [27000, 28577, 30100], "p99_ms": [50, 49.9, 48]}, "median_of": "events_per_second"}`,
	"collector-2.json":         `{"events_per_second": 28577, "requests_per_second": 1428, "p50_ms": 21.3, "p99_ms": 49.9, "status": {"200": 21433}}`,
	"collector.rss_kb":         "89088\n",
	"collector.cpu":            "100 50 1000 2000 1700000000.0\n180 70 1300 2200 1700000010.0\n",
	"naive.json":               `{"events_per_second": 6125, "requests_per_second": 306, "p50_ms": 87.3, "p99_ms": 395, "status": {"200": 4594}}`,
	"collector-250rps.json":    `{"events_per_second": 5000, "requests_per_second": 250, "target_rate": 250, "p50_ms": 4.1, "p99_ms": 12.5, "status": {"200": 3750}}`,
	"collector-1000rps.json":   `{"events_per_second": 16270, "requests_per_second": 813, "target_rate": 1000, "p50_ms": 10, "p99_ms": 487.9, "status": {"200": 12203}, "rounds": {"events_per_second": [16270, 16000, 15000], "p99_ms": [487.9, 12.5, 600]}, "median_of": "p99_ms"}`,
	"collector-1000rps-1.json": `{"events_per_second": 1, "requests_per_second": 1, "target_rate": 1000, "p50_ms": 1, "p99_ms": 1, "status": {"200": 1}}`,
	"collector-1000rps.rss_kb": "151552\n",
	"overload.json":            `{"events_per_second": 24499, "requests_per_second": 3122, "p50_ms": 700, "p99_ms": 2150, "refused_p99_ms": 363, "status": {"200": 24499, "503": 38343}}`,
	"overload.rss_kb":          "221184\n",
	"overload.rss":             "40000\n150000\n160000\n170000\n180000\n190000\n195000\n200000\n221184\n",
	"recovery.json":            `{"events_per_second": 30044, "requests_per_second": 1502, "p50_ms": 20, "p99_ms": 45, "status": {"200": 22533}}`,
	"collector.log":            "not read\n",
	"go.txt":                   goOutput,
	"sdk-size.txt":             "> @clicktrail/sdk@0.1.0 test:size\n# size: 3046 bytes min+gzip (5975 minified), budget 3072\n",
}

func rowOf(t *testing.T, rows []Row, part, figurePrefix string) Row {
	t.Helper()
	for _, r := range rows {
		if r.Part == part && strings.HasPrefix(r.Figure, figurePrefix) {
			return r
		}
	}
	t.Fatalf("no row %s / %s…", part, figurePrefix)
	return Row{}
}

func TestTheGoalsAreJudgedOnTheSameRunsBaselines(t *testing.T) {
	in, err := LoadInputs(writeFiles(t, collectorFiles), "")
	if err != nil {
		t.Fatal(err)
	}
	rows := Rows(in)
	tests := []struct {
		part, figure                    string
		value, baseline, ratio, verdict string
	}{
		{"collector", "events/s, 200 after", "28,577 (median of 3 rounds: 27,000, 28,577, 30,100)", "46,375 decode-only", "0.62", Met},
		{"collector", "events/s vs a naive", "28,577", "6,125 naive", "4.7×", NotMet},
		{"collector", "p99 latency at 1,000", "487.9 ms (median of 3 rounds: 487.9 ms, 12.5 ms, 600.0 ms) (p50 10.0 ms) at 813 req/s; 200×12,203; p99 ≤ 20 ms up to 250 req/s", "—", "—", NotMet},
		{"collector", "peak RSS at full load", "148 MiB", "47 MiB decode-only", "—", Met},
		{"collector", "10× overload: resident memory", "216 MiB last third", "156 MiB first third", "1.38", NotMet},
		{"collector", "10× overload: peak RSS", "216 MiB", "—", "—", NotMet},
		{"collector", "10× overload: answers", "200×24,499, 503×38,343 at 3,122 req/s; refusals p99 363.0 ms", "—", "—", Met},
		{"collector", "events/s right after", "30,044", "28,577 before", "1.05", Met},
		{"archiver", "backlog drained", "30,000", "50,000 consume-and-ack", "0.60", Met},
		{"archiver", "events per CPU-second", "40,000", "—", "—", NotMet},
		{"archiver", "Parquet bytes per event", "1.20 B", "9.90 B of JSON", "12.1%", Met},
		{"archiver", "peak RSS", "120 MiB", "—", "—", Met},
		{"processor", "backlog drained", "15,060", "37,650 consume-and-ack", "0.40", NotMet},
		{"processor", "event to dashboard latency", NotRun, "", "", NotRun},
		{"processor", "heap per open session", NotRun, "", "", NotRun},
		{"sdk-js", "script-tag build", "3,046 B", "—", "—", Met},
		{"end-to-end", "events/s until every request", "10,501", "2,023 raw Pulsar round trip", "5.19", ""},
		{"end-to-end", "events/s until every row", NotRun, "", "", NotRun},
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

func TestAMedianIsSaidToBeOne(t *testing.T) {
	var bs Benchmarks
	out := "pkg: github.com/clicktrail/clicktrail/processor\n"
	for _, v := range []string{"900", "800", "850"} {
		out += "BenchmarkMemoryPerOpenSession-2 1 5000000000 ns/op " + v + " bytes/session\n"
	}
	if err := bs.ParseBenchmarks(strings.NewReader(out)); err != nil {
		t.Fatal(err)
	}
	r := rowOf(t, Rows(Inputs{Bench: bs}), "processor", "heap per open session")
	if r.Value != "850 B (median of 3)" || r.Verdict != Met {
		t.Errorf("got %q %s", r.Value, r.Verdict)
	}
}

func TestTheProcessorsLatencyIsFoundByItsPercentileInAnyUnit(t *testing.T) {
	for _, tt := range []struct{ units, want string }{
		{"1500 p99-ms 400 p50-ms", "1,500 ms (p50 400.0 ms)"},
		{"2.5 latency-p99-s 0.3 latency-p50-s 0.05 baseline-p99-s", "2,500 ms (p50 300.0 ms)"},
	} {
		var bs Benchmarks
		line := "pkg: github.com/clicktrail/clicktrail/processor\nBenchmarkLatency/5000-2 1 20000000000 ns/op " + tt.units + "\n"
		if err := bs.ParseBenchmarks(strings.NewReader(line)); err != nil {
			t.Fatal(err)
		}
		r := rowOf(t, Rows(Inputs{Bench: bs}), "processor", "event to dashboard latency")
		if r.Value != tt.want {
			t.Errorf("%s: got %q, want %q", tt.units, r.Value, tt.want)
		}
	}
}

func TestNothingMeasuredIsNotRunEverywhere(t *testing.T) {
	in, err := LoadInputs(filepath.Join(t.TempDir(), "missing"), filepath.Join(t.TempDir(), "no-sdk.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Rows(in) {
		if r.Value != NotRun || r.Verdict != NotRun {
			t.Errorf("%s %s: %q %q, want not run", r.Part, r.Figure, r.Value, r.Verdict)
		}
	}
	var out strings.Builder
	if err := Report(&out, in, "make bench", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Of 30 goals: 0 met, 0 not met, 30 not run.") {
		t.Errorf("report:\n%s", out.String())
	}
}

func TestTheSDKSizeFallsBackToGzippingTheBuild(t *testing.T) {
	dir := writeFiles(t, map[string]string{"clicktrail.min.js": strings.Repeat("var a=1;", 100) + "\n"})
	in, err := LoadInputs(t.TempDir(), filepath.Join(dir, "clicktrail.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	if in.SDKBytes == 0 || in.SDKBytes > 100 || !strings.Contains(in.SDKFrom, "gzip") {
		t.Errorf("SDK %d bytes from %q", in.SDKBytes, in.SDKFrom)
	}
}

func TestTheReportIsOneMarkdownDocument(t *testing.T) {
	in, err := LoadInputs(writeFiles(t, collectorFiles), "")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := Report(&out, in, "make bench", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{
		"Generated 2026-11-25 12:00 UTC by `make bench` on Intel(R) Xeon(R) Processor.",
		"| collector | events/s vs a naive handler with a synchronous Send per event | 28,577 | 6,125 naive | 4.7× | ≥ 5× | **not met** |",
		"| collector-250rps | 250 | 5,000 | 0.11 | 4.1 ms | 12.5 ms | — | — | — | 200×3,750 |",
		"| collector | 1,428 | 28,577 | 0.62 | 21.3 ms | 49.9 ms | 87 MiB | 0.08 / 0.02 / 0.30 | 3 | 200×21,433 |",
		"| processor | BenchmarkSessionize | events/s | 123,000 | 3 | 111,000 – 125,000 |",
		"- SDK size from npm run test:size (sdk-size.txt)",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("the report lacks %q:\n%s", want, s)
		}
	}
}

func TestCollectorRunsAreOrderedByRateAndACutShortOneIsSkipped(t *testing.T) {
	c, err := LoadCollectorRuns(writeFiles(t, map[string]string{
		"collector-1000rps.json": `{"requests_per_second": 900}`,
		"collector-250rps.json":  `{"requests_per_second": 250}`,
		"collector-750rps.json":  `{"requests_per_second": 700}`,
		"report.json":            `not a load run`,
		"overload.json":          ``,
	}))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range c.Rated() {
		got = append(got, r.Name)
	}
	if strings.Join(got, " ") != "collector-250rps collector-750rps collector-1000rps" {
		t.Errorf("order %v", got)
	}
	if _, ok := c.Runs["overload"]; ok || len(c.Skipped) != 1 || !strings.Contains(c.Skipped[0], "overload.json") {
		t.Errorf("an empty report (a run cut short) is read as %+v, skipped %v", c.Runs["overload"], c.Skipped)
	}
}
