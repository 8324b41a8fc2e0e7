// Package compat checks that the tracking clients people already run work with
// Clicktrail unchanged: Segment's analytics.js (@segment/analytics-next, in its default
// and batching modes) and RudderStack's JavaScript SDK (over XHR and beacon) in
// Debian's Chromium, driven by playwright-core, and Segment's and RudderStack's Python
// and Node libraries. The official packages are installed from npm and PyPI into
// .cache/compat on first use (a failed install fails the test with its output), each
// client is set up with the README's settings as written (section "Use the SDK you
// already have"), and every event it had accepted is checked column by column in
// Parquet (read with DuckDB) and in the processor's aggregates.
//
// A tap between the clients and the collector relays every request unchanged and
// keeps what each client sent: the rows are checked against that, and against the
// calls the client was asked to make (see Scenario).
package compat
