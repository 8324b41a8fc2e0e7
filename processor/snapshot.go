package processor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/axiomhq/hyperloglog"
	"github.com/pierrec/lz4/v4"

	"github.com/clicktrail/clicktrail/processor/protocol"
)

// A snapshot of a namespace's part of the store is what its aggregates topic brought
// up to one message: the buckets of every resolution, the last part taken of each
// writer's aggregates, and that message's id. An instance starts from the latest
// snapshot and reads the topic after it, instead of from the beginning: it starts in
// the time of reading the snapshot and the messages since, whatever the topic holds,
// and ranges longer than the topic's retention (7 days) survive restarts.
//
// Every instance writes the snapshot of each of its namespaces every
// Config.SnapshotInterval when it read aggregates since its last, under one name per
// namespace (the last write wins: every
// snapshot is consistent, and any of them will do). The format is LZ4-compressed
// JSON lines: a header, then one line per bucket.

// snapshotVersion changes when the format does; another version is not read.
const snapshotVersion = 1

// snapshotName is where namespace ns's snapshot is kept: under a folder whose name
// starts with an underscore, which Hive-style readers of the lake (Spark, Trino,
// Athena, DuckDB's hive partitioning) skip.
func snapshotName(ns string) string { return "_processor/" + ns + "/aggregates.snapshot" }

type snapshotHeader struct {
	Version   int                     `json:"version"`
	Namespace string                  `json:"namespace"`
	Written   time.Time               `json:"written"`
	Pos       []byte                  `json:"pos"`
	Seen      map[string]snapshotSeen `json:"seen"`
}

type snapshotSeen struct {
	Seq   uint64 `json:"seq"`
	Part  int    `json:"part"`
	Parts int    `json:"parts"`
	At    int64  `json:"at"`
}

type snapshotBucket struct {
	Tier   int              `json:"tier"`
	Bucket *protocol.Minute `json:"bucket"`
}

// WriteSnapshot writes namespace ns's part of the store to w and returns the position
// it ends at and the buckets written; Takes of ns wait meanwhile. When ns's position
// is still since (not nil), it writes nothing and returns a nil position.
func (s *Store) WriteSnapshot(ns string, since []byte, w io.Writer) (pos []byte, buckets int, err error) {
	s.mu.RLock()
	sp := s.spaces[ns]
	if sp == nil {
		sp = &space{}
	}
	if since != nil && bytes.Equal(sp.pos, since) {
		s.mu.RUnlock()
		return nil, 0, nil
	}
	zw := lz4.NewWriter(w)
	bw := bufio.NewWriterSize(zw, 64<<10)
	enc := json.NewEncoder(bw)
	pos = sp.pos
	h := snapshotHeader{Version: snapshotVersion, Namespace: ns, Written: s.now().UTC(), Pos: sp.pos, Seen: map[string]snapshotSeen{}}
	for w, last := range sp.seen {
		h.Seen[w] = snapshotSeen{last.seq, last.part, last.parts, last.At}
	}
	err = enc.Encode(h)
	for _, tiers := range sp.tenants {
		for tier, bs := range tiers {
			for _, b := range bs {
				if err == nil {
					err = enc.Encode(snapshotBucket{tier, b})
					buckets++
				}
			}
		}
	}
	s.mu.RUnlock()
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("write the snapshot of %s: %w", ns, err)
	}
	if pos == nil {
		pos = []byte{} // a snapshot of nothing read yet is one too
	}
	return pos, buckets, nil
}

// ReadSnapshot replaces namespace ns's part of the store with the snapshot r holds,
// and returns when it was written. Buckets the store no longer keeps are dropped on
// the next prune. Nothing changes when it fails.
func (s *Store) ReadSnapshot(ns string, r io.Reader) (written time.Time, buckets int, err error) {
	dec := json.NewDecoder(bufio.NewReaderSize(lz4.NewReader(r), 64<<10))
	var h snapshotHeader
	if err := dec.Decode(&h); err != nil {
		return time.Time{}, 0, fmt.Errorf("read the snapshot of %s: %w", ns, err)
	}
	if h.Version != snapshotVersion || h.Namespace != ns {
		return time.Time{}, 0, fmt.Errorf("the snapshot of %s is of version %d and namespace %q, want %d and %q", ns, h.Version, h.Namespace, snapshotVersion, ns)
	}
	sp := &space{tenants: map[string]*[numTiers]map[int64]*protocol.Minute{}, pos: h.Pos, seen: map[string]seenPart{}}
	for w, last := range h.Seen {
		sp.seen[w] = seenPart{aggID{last.Seq, last.Part, last.Parts}, last.At}
	}
	for {
		var b snapshotBucket
		if err := dec.Decode(&b); err == io.EOF {
			break
		} else if err != nil {
			return time.Time{}, 0, fmt.Errorf("read the snapshot of %s: bucket %d: %w", ns, buckets+1, err)
		}
		m := b.Bucket
		if b.Tier < 0 || b.Tier >= numTiers || m == nil || !m.Start.Equal(m.Start.Truncate(tierWidth[b.Tier])) {
			return time.Time{}, 0, fmt.Errorf("read the snapshot of %s: bucket %d is not one of a resolution", ns, buckets+1)
		}
		if m.Visitors.Sketch == nil {
			m.Visitors.Sketch = hyperloglog.New14()
		}
		m.Start = m.Start.UTC()
		tiers := sp.tenants[m.Tenant]
		if tiers == nil {
			tiers = &[numTiers]map[int64]*protocol.Minute{}
			sp.tenants[m.Tenant] = tiers
		}
		if tiers[b.Tier] == nil {
			tiers[b.Tier] = map[int64]*protocol.Minute{}
		}
		tiers[b.Tier][m.Start.Unix()] = m
		buckets++
	}
	s.mu.Lock()
	s.spaces[ns] = sp
	s.mu.Unlock()
	return h.Written, buckets, nil
}

// Position returns the serialized id of the last message of ns's aggregates topic
// taken, nil when none.
func (s *Store) Position(ns string) []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if sp := s.spaces[ns]; sp != nil {
		return sp.pos
	}
	return nil
}

// saveSnapshot puts ns's snapshot in snaps, encoded in memory (LZ4-compressed: a
// fraction of the store) so that the store waits for the encoding only, not for a
// disk or the object store. It writes nothing and reports skipped when ns's position
// is still since (the snapshot already written holds everything).
func saveSnapshot(ctx context.Context, store *Store, snaps protocol.Snapshots, ns string, since []byte) (pos []byte, buckets int, size int64, err error) {
	var buf bytes.Buffer
	pos, buckets, err = store.WriteSnapshot(ns, since, &buf)
	if err != nil || pos == nil {
		return nil, 0, 0, err
	}
	if err := snaps.Put(ctx, snapshotName(ns), bytes.NewReader(buf.Bytes()), int64(buf.Len())); err != nil {
		return nil, 0, 0, fmt.Errorf("store the snapshot of %s: %w", ns, err)
	}
	return pos, buckets, int64(buf.Len()), nil
}

// loadSnapshot reads ns's latest snapshot from snaps into store: ErrNoSnapshot when
// there is none.
func loadSnapshot(ctx context.Context, store *Store, snaps protocol.Snapshots, ns string) (written time.Time, buckets int, err error) {
	rc, err := snaps.Get(ctx, snapshotName(ns))
	if err != nil {
		return time.Time{}, 0, err
	}
	defer rc.Close()
	return store.ReadSnapshot(ns, rc)
}

// fromSnapshot loads the namespace's latest snapshot into the store and returns the
// id of the aggregates message it ends with; nil (read the topic from the beginning)
// when there is none, or it cannot be read.
func (p *pipeline) fromSnapshot() pulsar.MessageID {
	if p.snaps == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	written, buckets, err := loadSnapshot(ctx, p.store, p.snaps, p.ns)
	switch {
	case errors.Is(err, protocol.ErrNoSnapshot):
		p.m.snapshots.WithLabelValues("none").Inc()
		p.log.Info("no snapshot of the aggregates yet: reading them from the beginning")
		return nil
	case err != nil:
		p.m.snapshots.WithLabelValues("unreadable").Inc()
		p.log.Warn("snapshot of the aggregates unreadable: reading them from the beginning", "err", err)
		return nil
	}
	p.m.snapshots.WithLabelValues("loaded").Inc()
	pos := p.store.Position(p.ns)
	if pos == nil {
		return nil
	}
	id, err := pulsar.DeserializeMessageID(pos)
	if err != nil {
		p.log.Warn("snapshot of the aggregates has no readable position: reading them from the beginning", "err", err)
		return nil
	}
	p.log.Info("aggregates loaded from a snapshot", "written", written, "age", time.Since(written).Round(time.Second).String(),
		"buckets", buckets, "took", time.Since(start).Round(time.Millisecond).String())
	return id
}

// snapshotEvery writes the namespace's snapshot every interval until ctx ends.
func (p *pipeline) snapshotEvery(ctx context.Context, every time.Duration) {
	defer p.tailWG.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.writeSnapshot(ctx)
		}
	}
}

// writeSnapshot writes the namespace's snapshot, unless no aggregate was read since
// the last it wrote; a failure is logged and counted, and the next one tries again.
func (p *pipeline) writeSnapshot(ctx context.Context) {
	start := time.Now()
	pos, buckets, size, err := saveSnapshot(ctx, p.store, p.snaps, p.ns, p.snapPos)
	if err == nil && pos == nil {
		return // nothing new
	}
	if err != nil {
		if ctx.Err() == nil {
			p.m.snapshots.WithLabelValues("failed").Inc()
			p.log.Warn("snapshot of the aggregates not written", "err", err)
		}
		return
	}
	p.snapPos = pos
	p.m.snapshots.WithLabelValues("written").Inc()
	p.log.Debug("snapshot of the aggregates written", "buckets", buckets, "bytes", size, "took", time.Since(start).Round(time.Millisecond).String())
}
