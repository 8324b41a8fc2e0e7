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
// The harness is in this package's files; the test is TestChaos in chaos_test.go.
// CLICKTRAIL_CHAOS_PROFILE=short (the default, part of `make test`) or long
// (`make chaos`) sets the load and the outages (see Profile).
package chaos
