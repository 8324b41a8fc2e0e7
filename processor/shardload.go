package processor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/pierrec/lz4/v4"

	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/schemas"
)

// load starts holding the state of the shards marked in shards. A loader (a
// sessionizer of its own, for which every commit is another writer's) takes in each
// shard's latest snapshot and then, from the oldest snapshot's position (the
// beginning of the topic for a shard without one), the commits of those shards up
// to a marker this instance writes; the main reader reads up to the same marker
// meanwhile (sync). Both then hold every commit written before the marker, which
// includes the last commit of a key's previous owner (see before), and the loaded
// keys join the sessionizer. Counting commits read on the way whose aggregate was not
// seen are recovered like any other (see recoverOrphans).
func (p *pipeline) load(ctx context.Context, shards *[stateShards]bool) error {
	start := p.now()
	loader := NewSessionizer(p.rules, "loader/"+p.writer, p.now)
	var since [stateShards]pulsar.MessageID // each shard's snapshot position
	from := pulsar.MessageID(nil)           // the oldest of them; nil: the beginning
	fromStart, records := false, 0
	for s, want := range shards {
		if !want {
			continue
		}
		recs, pos, err := p.readShardSnapshot(ctx, s)
		switch {
		case errors.Is(err, ErrNoSnapshot):
			p.m.snapshots.WithLabelValues("none").Inc()
		case err != nil:
			p.m.snapshots.WithLabelValues("unreadable").Inc()
			p.log.Warn("snapshot of a shard unreadable: reading its commits from the beginning", "shard", s, "err", err)
		default:
			p.m.snapshots.WithLabelValues("loaded").Inc()
		}
		if pos == nil {
			fromStart = true
		} else if from == nil || pulsarx.After(from, pos) {
			from = pos
		}
		loader.restore(recs)
		since[s], records = pos, records+len(recs)
	}
	marker, err := p.sync(ctx)
	if err != nil {
		return err
	}
	startAt := from
	if fromStart || startAt == nil {
		startAt = pulsar.EarliestMessageID()
	}
	r, err := p.client.CreateReader(pulsar.ReaderOptions{Topic: p.stateTopic, StartMessageID: startAt, ReceiverQueueSize: 1000})
	if err != nil {
		return fmt.Errorf("read %s to load shards: %w", p.stateTopic, err)
	}
	defer r.Close()
	commits := 0
	for {
		msg, err := r.Next(ctx)
		if err != nil {
			return fmt.Errorf("read session state to load shards: %w", err)
		}
		id, props := msg.ID(), msg.Properties()
		if p.isMarker(msg, marker) {
			break
		}
		s, err := strconv.Atoi(props[shardProperty])
		if props[markerProperty] != "" || err != nil || s < 0 || s >= stateShards || !shards[s] || since[s] != nil && !pulsarx.After(id, since[s]) {
			continue
		}
		c, err := decodeCommit(msg.Payload(), loader.intern)
		if err != nil {
			p.m.skipped.WithLabelValues(schemas.TopicSessionState, "undecodable").Inc()
			continue
		}
		c.Shard = s
		commits++
		if agg, ok := loader.Evaluate(c); ok && !p.seenAggregate(c.Writer, c.Seq) {
			p.orphans = append(p.orphans, orphan{agg, p.now()})
		}
	}
	p.z.adopt(loader, shards)
	n := 0
	for s, want := range shards {
		if want {
			p.served[s] = true
			p.lastEvent[s] = p.now()
			n++
		}
	}
	p.m.openSessions.WithLabelValues(p.ns).Set(float64(p.z.Open()))
	p.m.shards.WithLabelValues(p.ns).Set(float64(p.servedCount()))
	p.log.Info("shards loaded", "shards", n, "snapshot_records", records, "commits_read", commits,
		"took", p.now().Sub(start).Round(time.Millisecond).String(), "held", p.servedCount())
	return nil
}

func (p *pipeline) servedCount() int {
	n := 0
	for _, on := range p.served {
		if on {
			n++
		}
	}
	return n
}

// dropAfter is how long a shard may go without events before this instance stops
// holding it (when none of its sessions is this instance's own): longer than a
// session of its own stays open without events.
func (p *pipeline) dropAfter() time.Duration {
	return p.rules.IdleTimeout + p.rules.OrphanGrace + time.Minute
}

// snapshotShards writes a snapshot of every shard this instance holds and, once
// written, stops holding those that had no event for dropAfter and none of whose
// sessions is its own (their other sessions are their writers' to close). It first
// writes a checkpoint and reads it back, so that what it holds of every key is the
// committed state; the snapshots are encoded at once, and put in the object store
// while processing goes on.
func (p *pipeline) snapshotShards(ctx context.Context) error {
	if err := p.checkpoint(ctx); err != nil {
		return err
	}
	if err := p.land(ctx); err != nil {
		return err
	}
	if p.lastRead == nil {
		return nil
	}
	pos := p.lastRead.Serialize()
	recs := p.z.shardRecords(&p.served)
	type file struct {
		shard int
		data  []byte
	}
	var files []file
	for s, on := range p.served {
		if !on {
			continue
		}
		b, err := encodeShardSnapshot(p.ns, s, pos, p.now(), recs[s])
		if err != nil {
			return err
		}
		files = append(files, file{s, b})
	}
	idle := make([]int, 0, stateShards)
	now := p.now()
	for s, on := range p.served {
		if on && now.Sub(p.lastEvent[s]) >= p.dropAfter() {
			idle = append(idle, s)
		}
	}
	p.tailWG.Add(1)
	go func() {
		defer p.tailWG.Done()
		// Its own time: a snapshot written at shutdown outlives the loop's context.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for _, f := range files {
			if err := p.snaps.Put(ctx, shardSnapshotName(p.ns, f.shard), bytes.NewReader(f.data), int64(len(f.data))); err != nil {
				p.m.snapshots.WithLabelValues("failed").Inc()
				p.log.Warn("snapshot of a shard not written", "shard", f.shard, "err", err)
				continue
			}
			p.m.snapshots.WithLabelValues("written").Inc()
		}
	}()
	for _, s := range idle {
		if p.z.dropShard(s) {
			p.served[s] = false
			p.log.Info("shard dropped: no event for a while", "shard", s, "idle", now.Sub(p.lastEvent[s]).Round(time.Second).String())
		}
	}
	p.m.shards.WithLabelValues(p.ns).Set(float64(p.servedCount()))
	p.m.openSessions.WithLabelValues(p.ns).Set(float64(p.z.Open()))
	return nil
}

// shardSnapshotName is where the snapshot of namespace ns's shard s is kept.
func shardSnapshotName(ns string, s int) string {
	return fmt.Sprintf("_processor/%s/state/%02d.snapshot", ns, s)
}

// readShardSnapshot returns the records and the position of shard s's latest
// snapshot: ErrNoSnapshot (and nothing) when there is none or snapshots are off.
func (p *pipeline) readShardSnapshot(ctx context.Context, s int) ([]shardRecord, pulsar.MessageID, error) {
	if p.snaps == nil {
		return nil, nil, ErrNoSnapshot
	}
	rc, err := p.snaps.Get(ctx, shardSnapshotName(p.ns, s))
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	recs, pos, err := decodeShardSnapshot(rc, p.ns, s, p.z.intern)
	if err != nil {
		return nil, nil, err
	}
	id, err := pulsar.DeserializeMessageID(pos)
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot of shard %d: position: %w", s, err)
	}
	return recs, id, nil
}

// The snapshot of a shard, LZ4-compressed:
//
//	snapshot = version(1) namespace shard pos(bytes) written(Unix ns) nrecords record*
//	record   = (commit record, see codec.go) writer cended(8 bytes) touched
const shardSnapshotVersion = 1

func encodeShardSnapshot(ns string, s int, pos []byte, written time.Time, recs []shardRecord) ([]byte, error) {
	b := []byte{shardSnapshotVersion}
	b = appendString(b, ns)
	b = binary.AppendUvarint(b, uint64(s))
	b = appendString(b, string(pos))
	b = binary.AppendVarint(b, written.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(recs)))
	for i := range recs {
		r := &recs[i]
		b = appendRecord(b, &r.Record)
		b = appendString(b, r.Writer)
		b = binary.LittleEndian.AppendUint64(b, r.Cended)
		b = binary.AppendVarint(b, r.Touched)
	}
	var out bytes.Buffer
	zw := lz4.NewWriter(&out)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func decodeShardSnapshot(r io.Reader, ns string, s int, intern func(string) string) ([]shardRecord, []byte, error) {
	data, err := io.ReadAll(bufio.NewReader(lz4.NewReader(r)))
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot of shard %d: %w", s, err)
	}
	d := &decoder{b: data}
	if v := d.byte(); v != shardSnapshotVersion {
		return nil, nil, fmt.Errorf("snapshot of shard %d: version %d, want %d", s, v, shardSnapshotVersion)
	}
	if got, shard := d.string(), int(d.uvarint()); d.err == nil && (got != ns || shard != s) {
		return nil, nil, fmt.Errorf("snapshot of shard %d of %s holds shard %d of %s", s, ns, shard, got)
	}
	pos := []byte(d.string())
	d.varint() // written
	n := d.count()
	recs := make([]shardRecord, 0, n)
	for range n {
		var r shardRecord
		d.record(&r.Record, intern)
		r.Writer = intern(d.string())
		if c := d.bytes(8); c != nil {
			r.Cended = binary.LittleEndian.Uint64(c)
		}
		r.Touched = d.varint()
		if d.err != nil {
			break
		}
		recs = append(recs, r)
	}
	if d.err != nil {
		return nil, nil, fmt.Errorf("snapshot of shard %d: %w", s, d.err)
	}
	return recs, pos, nil
}
