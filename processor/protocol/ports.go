package protocol

import (
	"context"
	"errors"
	"io"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/schemas"
)

// What a Machine reads and writes, as small interfaces: the service implements them
// with Pulsar's topics and the object store, the tests with slices in memory.

// Pos is a position in the session-state log (a Pulsar message id in the service).
type Pos interface {
	// After reports whether the position lies after o in the log.
	After(o Pos) bool
	// Bytes encodes the position for a snapshot; Log.Parse reads it back.
	Bytes() []byte
}

// Entry is one message of the session-state log: a commit, or a marker.
type Entry struct {
	Pos    Pos // where the log holds it: set on the entries read, not on those written
	Writer string
	// Seq is a commit's number (0 on a marker), Shard its shard (-1: none, written by
	// an older version), Marker a marker's number ("" on a commit).
	Seq     uint64
	Shard   int
	Marker  string
	Payload []byte // a commit, encoded (see codec.go)
}

// Log is the session-state log as one instance uses it: a producer, a reader that
// follows it, and readers opened to load shards.
type Log interface {
	// Append sends a commit without waiting for it: stored is called once the log
	// holds it, or with the error that lost it.
	Append(ctx context.Context, e Entry, stored func(error))
	// Write sends a marker and returns once the log holds it.
	Write(ctx context.Context, e Entry) error
	// Next returns the next entry of the following reader, waiting for one.
	Next(ctx context.Context) (Entry, error)
	// HasNext reports whether the log holds an entry the following reader has not read.
	HasNext() bool
	// ReadFrom opens another reader: from the beginning of the log when from is nil,
	// else at or after from.
	ReadFrom(from Pos) (Reader, error)
	// Parse reads a position written by Pos.Bytes.
	Parse(b []byte) (Pos, error)
}

// Reader reads a log from a position.
type Reader interface {
	Next(ctx context.Context) (Entry, error)
	Close()
}

// EventID is the handle of an event of the events topic (a Pulsar message id in the
// service), handed back to Acker.Ack.
type EventID any

// Acker acknowledges events: they are not delivered again.
type Acker interface {
	Ack(ids []EventID) error
}

// Out is where closed sessions and aggregates go.
type Out interface {
	// Sessions publishes closed sessions and returns once all are stored.
	Sessions(ctx context.Context, sessions []schemas.Session) error
	// Aggregates publishes aggregates without waiting for them: stored is called once,
	// when all are stored or with the first error. An aggregate that cannot be encoded
	// is skipped (it never could be).
	Aggregates(ctx context.Context, aggs []*Aggregate, stored func(error))
}

// ErrNoSnapshot says no snapshot was written yet.
var ErrNoSnapshot = errors.New("no snapshot")

// Snapshots keeps snapshots by name: an object store, or a fake in tests.
type Snapshots interface {
	// Get opens the snapshot name, or fails with ErrNoSnapshot.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	// Put stores the size bytes r holds as the snapshot name, replacing it.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
}

// Metrics are the machine's counters, registered by the service (any fresh ones in
// tests). Labels as the service's metrics name them.
type Metrics struct {
	Commits        *prometheus.CounterVec // by direction: written, read, overtaken, repeated, marker
	StateRecords   *prometheus.CounterVec // by direction: written, read
	Skipped        *prometheus.CounterVec // by topic and reason
	Snapshots      *prometheus.CounterVec // by result
	SessionsClosed *prometheus.CounterVec // by reason
	Aggregates     *prometheus.CounterVec // by outcome: recovered
	Checkpoint     prometheus.Histogram   // seconds
	CommitBytes    prometheus.Histogram
	Acked          prometheus.Counter
	ValuesCapped   prometheus.Counter
	Refused        prometheus.Counter
	OpenSessions   prometheus.Gauge
	Shards         prometheus.Gauge
}
