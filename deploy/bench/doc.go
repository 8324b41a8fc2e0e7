// Package bench gathers what `make bench` measures into one report, and holds the
// end-to-end benchmark of the whole pipeline.
//
// The report (cmd/benchreport) reads the outputs the bench steps tee into .cache/bench:
// Go benchmark output in the standard format (every *.txt file; the package of each
// result comes from its "pkg:" line), the JSON reports and memory samples that
// deploy/local/bench-collector.sh writes, and the SDK's size line from
// `npm run test:size`. It prints one markdown table with each figure, the baseline
// measured in the same run, their ratio, and the goal the issues set, met or not.
// Where a benchmark ran several times (-count) it takes the median, as benchstat does.
// A step that did not run shows as "not run". The adversarial soak's figures (issue
// 14) come from deploy/hostile's BenchmarkSoak, teed into soak.txt.
//
// BenchmarkEndToEnd (e2e_bench_test.go) runs the collector, the processor and the
// archiver as child processes against the real Pulsar and S3 server, on a namespace of
// their own, and measures the pipeline's throughput and latency against a raw Pulsar
// producer and consumer on the same broker. It runs only with -bench.
package bench
