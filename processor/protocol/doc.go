// Package protocol is the processor's state protocol, free of Pulsar types: the
// sessionizer (Sessionizer: sessions and partial aggregates of each user key), the
// commits it writes and their evaluation (Commit, Sessionizer.Evaluate: which commit
// counts, the same way in every instance), the shards of the key state and their
// snapshots, and the checkpoint state machine (Machine) that writes commits, reads
// them back, publishes their aggregates, acknowledges their events, loads a shard when
// its keys arrive and recovers the aggregates of dead writers.
//
// The Machine does no I/O of its own: it reads and writes through the interfaces of
// ports.go (Log, Out, Acker, Snapshots), which the processor implements with Pulsar's
// topics and the object store, and the tests with slices in memory. The protocol's
// reasoning (exactly once, rebalance, shards) is in the processor package's doc.
package protocol
