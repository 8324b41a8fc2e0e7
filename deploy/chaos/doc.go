// Package chaos is the fault suite: it runs the collector, the processor and the
// archiver as child processes against a Pulsar broker and an S3 server of its own, sends
// simulated visitors' traffic through the collector over HTTP (retrying as the SDK
// does, with the same messageIds), and in turn
//
//  1. SIGKILLs the collector and starts it again,
//  2. SIGKILLs the processor and starts it again,
//  3. SIGKILLs the archiver and starts it again,
//  4. stops the broker, waits, and starts it again,
//  5. stops the S3 server for a while (60 s in the long profile) and starts it again.
//
// After each fault it waits, by polling, until the pipeline has recovered: every
// service ready, the collector accepting again, the processor serving and the lake
// holding every event accepted before the component came back. An accepted event the
// lake lacks although the archiver acknowledged every copy of it (the cursor's
// mark-delete position is past it) is reported as lost at once rather than waited
// for. When the load has stopped and everything caught up, it checks what a user
// would check:
//
//   - no accepted event is missing from the Parquet events table and none is there
//     twice (read with DuckDB, as an analyst would, and with parquet-go as a second
//     reader);
//   - the processor's aggregates (GET /api/v1/stats) and its closed sessions equal a
//     reference computed here from the accepted events alone: events by type and
//     name, pageviews by path, referrers and utm sources, sessions, bounces, unique
//     visitors, minute by minute.
//
// The cluster profile (CLICKTRAIL_CHAOS_PROFILE=cluster, `make chaos-cluster`) runs the
// same pipeline and checks against a Pulsar cluster of its own (deploy/local/cluster.sh:
// ZooKeeper, three bookies, two brokers; the services get both brokers' URLs) and, in
// turn, SIGKILLs the broker that owns the events topic's first partition, stops it
// gracefully, unloads that partition's bundle, SIGKILLs a bookie (each taken away for
// 10 s, then started again), and adds a partition to the events topic. Besides the
// checks above, each fault must let processing resume within 10 s of its start, and a
// SIGKILLed broker may cost at most 1 % of the requests and 5 s of answer time at the
// 99th percentile (ClusterGoals).
//
// The harness is in this package's files; the test is TestChaos in chaos_test.go.
// CLICKTRAIL_CHAOS_PROFILE=short (the default, part of `make test`), long
// (`make chaos`) or cluster (`make chaos-cluster`) sets the load and the outages (see
// Profile).
package chaos
