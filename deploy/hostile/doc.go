// Package hostile is the hostile-input suite (issue 14): it runs the collector, the
// processor and the archiver as child processes on the shared local Pulsar and MinIO
// (a namespace and bucket prefix of its own, from internal/testenv), sends them a
// corpus of hostile requests, each with the answer the contract
// (notes/contract.md) gives it, and then checks what a user would check:
//
//   - each case got its answer: the HTTP status, the accepted count and the indexes and
//     reasons of the rejected events, within its time bound;
//   - what the collector accepted is in the events table of the lake exactly once, and
//     what it stored is what the contract says (timestamps, truncated headers, text
//     repaired to valid UTF-8);
//   - after the corpus, a marker batch arrives exactly once in Parquet and is counted
//     in the processor's aggregates; no service exited; DuckDB reads SELECT * of every
//     Parquet file written under the suite's prefix; the services' memory (RSS) stayed
//     under the stated bounds; the stage-specific attacks (the oversized commit, the
//     "(other)" bucket, sessions an hour apart, 30 KB events) left the bounds the
//     contract sets.
//
// The corpus is in the corpus_*.go files, one per kind of attack, each a table of
// cases named by a sentence. The test is TestHostile; it prints a table of every case
// (expected, actual, latency, the collector's RSS). CLICKTRAIL_HOSTILE_PROFILE=short
// (the default, part of `make test`) or long (`make hostile`) sets the volumes (see
// Profile).
//
// BenchmarkSoak is the adversarial soak (soak*.go, `make bench`): the same
// services, run afresh with a million ordinary events, then a million events of
// distinct values and timestamps over centuries, then a million of distinct values
// (some of 1 to 2 KB) and timestamps within the processor's retention window, each
// service's peak memory compared with the ordinary run's; and legitimate requests'
// latency while 2,000 slow connections are held (see SoakTraffic, RunSoak, RunSlow).
package hostile
