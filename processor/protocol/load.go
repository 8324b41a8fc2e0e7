package protocol

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// load starts holding the state of the shards marked in shards. A loader (a
// sessionizer of its own, for which every commit is another writer's) takes in each
// shard's latest snapshot and then, from the oldest snapshot's position (the
// beginning of the log for a shard without one), the commits of those shards up to a
// marker this instance writes; the following reader reads up to the same marker
// meanwhile (sync). Both then hold every commit written before the marker, which
// includes the last commit of a key's previous owner (see Before), and the loaded
// keys join the sessionizer. Counting commits read on the way whose aggregate was not
// seen are recovered like any other (see RecoverOrphans).
func (m *Machine) load(ctx context.Context, shards *[StateShards]bool) error {
	start := m.now()
	loader := NewSessionizer(m.cfg.Rules, "loader/"+m.cfg.Writer, m.now)
	var since [StateShards]Pos // each shard's snapshot position
	var from Pos               // the oldest of them; nil: the beginning
	fromStart, records := false, 0
	for s, want := range shards {
		if !want {
			continue
		}
		recs, pos, err := m.readShardSnapshot(ctx, s)
		switch {
		case errors.Is(err, ErrNoSnapshot):
			m.m.Snapshots.WithLabelValues("none").Inc()
		case err != nil:
			m.m.Snapshots.WithLabelValues("unreadable").Inc()
			m.log.Warn("snapshot of a shard unreadable: reading its commits from the beginning", "shard", s, "err", err)
		default:
			m.m.Snapshots.WithLabelValues("loaded").Inc()
		}
		if pos == nil {
			fromStart = true
		} else if from == nil || from.After(pos) {
			from = pos
		}
		loader.restore(recs)
		since[s], records = pos, records+len(recs)
	}
	marker, err := m.sync(ctx)
	if err != nil {
		return err
	}
	if fromStart {
		from = nil
	}
	r, err := m.cfg.Log.ReadFrom(from)
	if err != nil {
		return fmt.Errorf("read session state to load shards: %w", err)
	}
	defer r.Close()
	commits := 0
	for {
		e, err := r.Next(ctx)
		if err != nil {
			return fmt.Errorf("read session state to load shards: %w", err)
		}
		if m.isMarker(&e, marker) {
			break
		}
		s := e.Shard
		if e.Marker != "" || s < 0 || s >= StateShards || !shards[s] || since[s] != nil && !e.Pos.After(since[s]) {
			continue
		}
		c, err := DecodeCommit(e.Payload, loader.intern)
		if err != nil {
			m.m.Skipped.WithLabelValues(schemas.TopicSessionState, "undecodable").Inc()
			continue
		}
		c.Shard = s
		commits++
		if agg, ok := loader.Evaluate(c); ok && !m.cfg.Seen(c.Writer, c.Seq) {
			m.orphans = append(m.orphans, orphan{agg, m.now()})
		}
	}
	m.z.adopt(loader, shards)
	n := 0
	for s, want := range shards {
		if want {
			m.served[s] = true
			m.lastEvent[s] = m.now()
			n++
		}
	}
	m.m.OpenSessions.Set(float64(m.z.Open()))
	m.m.Shards.Set(float64(m.Shards()))
	m.log.Info("shards loaded", "shards", n, "snapshot_records", records, "commits_read", commits,
		"took", m.now().Sub(start).Round(time.Millisecond).String(), "held", m.Shards())
	return nil
}

// Shards reports how many shards this instance holds.
func (m *Machine) Shards() int {
	n := 0
	for _, on := range m.served {
		if on {
			n++
		}
	}
	return n
}

// dropAfter is how long a shard may go without events before this instance stops
// holding it (when none of its sessions is this instance's own): longer than a
// session of its own stays open without events.
func (m *Machine) dropAfter() time.Duration {
	return m.cfg.Rules.IdleTimeout + m.cfg.Rules.OrphanGrace + time.Minute
}

// SnapshotShards writes a snapshot of every shard this instance holds and, once
// written, stops holding those that had no event for dropAfter and none of whose
// sessions is its own (their other sessions are their writers' to close). It first
// writes a checkpoint and reads it back, so that what it holds of every key is the
// committed state; the snapshots are encoded at once, and put in the object store
// while processing goes on (Wait waits for them).
func (m *Machine) SnapshotShards(ctx context.Context) error {
	if err := m.Checkpoint(ctx); err != nil {
		return err
	}
	if err := m.Land(ctx); err != nil {
		return err
	}
	if m.lastRead == nil || m.cfg.Snapshots == nil {
		return nil
	}
	pos := m.lastRead.Bytes()
	recs := m.z.shardRecords(&m.served)
	type file struct {
		shard int
		data  []byte
	}
	var files []file
	for s, on := range m.served {
		if !on {
			continue
		}
		b, err := encodeShardSnapshot(m.cfg.Namespace, s, pos, m.now(), recs[s])
		if err != nil {
			return err
		}
		files = append(files, file{s, b})
	}
	idle := make([]int, 0, StateShards)
	now := m.now()
	for s, on := range m.served {
		if on && now.Sub(m.lastEvent[s]) >= m.dropAfter() {
			idle = append(idle, s)
		}
	}
	m.uploads.Add(1)
	go func() {
		defer m.uploads.Done()
		// Its own time: a snapshot written at shutdown outlives the loop's context.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		for _, f := range files {
			if err := m.cfg.Snapshots.Put(ctx, shardSnapshotName(m.cfg.Namespace, f.shard), bytes.NewReader(f.data), int64(len(f.data))); err != nil {
				m.m.Snapshots.WithLabelValues("failed").Inc()
				m.log.Warn("snapshot of a shard not written", "shard", f.shard, "err", err)
				continue
			}
			m.m.Snapshots.WithLabelValues("written").Inc()
		}
	}()
	for _, s := range idle {
		if m.z.dropShard(s) {
			m.served[s] = false
			m.log.Info("shard dropped: no event for a while", "shard", s, "idle", now.Sub(m.lastEvent[s]).Round(time.Second).String())
		}
	}
	m.m.Shards.Set(float64(m.Shards()))
	m.m.OpenSessions.Set(float64(m.z.Open()))
	return nil
}

// shardSnapshotName is where the snapshot of namespace ns's shard s is kept.
func shardSnapshotName(ns string, s int) string {
	return fmt.Sprintf("_processor/%s/state/%02d.snapshot", ns, s)
}

// readShardSnapshot returns the records and the position of shard s's latest
// snapshot: ErrNoSnapshot (and nothing) when there is none or snapshots are off.
func (m *Machine) readShardSnapshot(ctx context.Context, s int) ([]shardRecord, Pos, error) {
	if m.cfg.Snapshots == nil {
		return nil, nil, ErrNoSnapshot
	}
	rc, err := m.cfg.Snapshots.Get(ctx, shardSnapshotName(m.cfg.Namespace, s))
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	recs, pos, err := decodeShardSnapshot(rc, m.cfg.Namespace, s, m.z.intern)
	if err != nil {
		return nil, nil, err
	}
	id, err := m.cfg.Log.Parse(pos)
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot of shard %d: position: %w", s, err)
	}
	return recs, id, nil
}
