package protocol

import (
	"cmp"
	"encoding/binary"
	"slices"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// maxCommitBytes bounds the encoded (uncompressed) size of one commit, well under
// Pulsar's 5 MB message limit; a checkpoint with more state is written as several
// commits, each atomic on its own.
const maxCommitBytes = 1 << 20

// commitHeaderBound bounds the encoding of a commit of writer without its records
// and minutes: version, writer, sequence number, the counts of records and minutes.
func commitHeaderBound(writer string) int { return 1 + sizeString(writer) + 3*binary.MaxVarintLen64 }

// keepBuffer is the most contributions whose buffer is kept from one checkpoint to the
// next.
const keepBuffer = 1 << 16

// Commit is one message of the session-state topic: the state of a set of user keys
// and the partial aggregates of the events those keys' records hold. One message is
// written or not, so the state and the counts derived from it are atomic. Whether it
// counts is decided by Evaluate, in the order of the topic, the same way by every
// instance.
type Commit struct {
	Writer string
	Seq    uint64 // per writer, from 1, in the order written
	// Shard of every key of the commit (see shards.go); it travels as a property.
	Shard   int
	Records []Record
	// Minutes are the partial aggregates, by tenant and minute, of the events in the
	// records and of the keys active in them (visitor sketches). Session ends are in
	// the records: whether each counts is decided when the commit is evaluated.
	Minutes []*Minute
}

// Record is the state of one user key in a commit.
type Record struct {
	Key    string
	Tenant string
	// Base is the key's committed position the writer started from (nil: none known).
	Base *Position
	// Pos is the position of the last event applied (nil: none).
	Pos  *Position
	Open *openSession
	// Events says the record applies events; false: it only closes a session (expiry).
	Events bool
	// Ended are the sessions the record closed.
	Ended []sessionEnd
}

// Checkpoint is what changed since the previous checkpoint.
type Checkpoint struct {
	Commits []*Commit
	// Closed are the sessions closed, for the sessions topic.
	Closed []schemas.Session
}

// Checkpoint returns the commits of every key changed since the last checkpoint and
// the sessions closed since. The keys' records point into the sessionizer's state
// (open sessions): encode them before the next Add. Until its commit is read back
// (Evaluate), a key keeps what this instance made of it, whatever other writers say.
//
// Each commit encodes to at most maxCommitBytes: a key's part of it is its record's
// exact encoded size (sizeRecord) plus the bound of what its contributions and session
// ends add (cost, see charge), and keys are added to a commit while the sum fits. A
// key's part fits alone when the caller checkpoints as NeedsCheckpoint asks (see
// keyBudget); were it larger, the key's contributions are left out of the aggregates
// (Counters.Refused) and its record alone is committed, so its events are still
// acknowledged and never retried into the same commit.
func (z *Sessionizer) Checkpoint() *Checkpoint {
	cp := &Checkpoint{}
	if len(z.dirty) == 0 {
		return cp
	}
	// Plan: the commit of each key (group), so that each commit fits.
	header := commitHeaderBound(z.self)
	var records []int // of each commit
	size := 0
	refused := false
	z.planned = z.planned[:0]
	z.byShard(z.dirty)
	var shards []int // of each commit
	for _, key := range z.dirty {
		ks := z.keys[key]
		z.planned = append(z.planned, ks)
		r := Record{Key: key, Tenant: ks.tenant, Open: ks.open}
		if ks.flags&ksCommitted != 0 {
			r.Base = &ks.cpos
		}
		if ks.flags&ksPos != 0 {
			r.Pos = &ks.pos
		}
		part := sizeRecord(&r) + int(ks.cost)
		if header+part > maxCommitBytes {
			// Only its session ends stay with the record (they take at most their own
			// part of cost, and the record must carry them).
			ks.flags |= ksRefused
			refused = true
		}
		if len(records) == 0 || int(ks.shard) != shards[len(shards)-1] || size+part > maxCommitBytes && records[len(records)-1] > 0 {
			records = append(records, 0)
			shards = append(shards, int(ks.shard))
			size = header
		}
		size += part
		ks.group = int32(len(records) - 1)
		records[ks.group]++
	}
	// Fill: the records, with copies of the positions (the keys' state moves on).
	cp.Commits = make([]*Commit, len(records))
	for g, n := range records {
		z.seq++
		cp.Commits[g] = &Commit{Writer: z.self, Seq: z.seq, Shard: shards[g], Records: make([]Record, 0, n)}
	}
	positions := make([]Position, 0, 2*len(z.dirty)) // never grows: the pointers stay
	for i, key := range z.dirty {
		ks := z.planned[i]
		cur := cp.Commits[ks.group]
		r := Record{Key: key, Tenant: ks.tenant, Open: ks.open, Events: ks.flags&ksEvents != 0}
		if ks.flags&ksCommitted != 0 {
			positions = append(positions, ks.cpos)
			r.Base = &positions[len(positions)-1]
		}
		if ks.flags&ksPos != 0 {
			positions = append(positions, ks.pos)
			r.Pos = &positions[len(positions)-1]
		}
		ks.rec = int32(len(cur.Records))
		cur.Records = append(cur.Records, r)
		ks.flags = ks.flags&^(ksDirty|ksEvents) | ksInflight
		ks.cost, ks.lastMin = 0, 0
	}
	z.full = false
	for _, c := range z.closed {
		ks := z.keys[c.key]
		r := &cp.Commits[ks.group].Records[ks.rec]
		r.Ended = append(r.Ended, sessionEnd{ID: c.s.SessionID, Minute: c.s.EndedAt.Truncate(time.Minute).Unix(), DurationMs: c.s.DurationMs, Bounce: c.s.IsBounce})
		cp.Closed = append(cp.Closed, c.s)
	}
	// The partial aggregates of each commit: its keys' contributions, by tenant and minute.
	parts := make([]map[tenantMinute]*Minute, len(cp.Commits))
	for i := range z.contribs {
		c := &z.contribs[i]
		if refused && c.ks.flags&ksRefused != 0 {
			if c.event != "" {
				z.counts.Refused++
			}
			continue
		}
		g := c.ks.group
		if parts[g] == nil {
			parts[g] = map[tenantMinute]*Minute{}
		}
		m := parts[g][tenantMinute{c.tenant, c.minute}]
		if m == nil {
			m = NewMinute(c.tenant, time.Unix(c.minute, 0))
			parts[g][tenantMinute{c.tenant, c.minute}] = m
		}
		m.add(c)
	}
	for g, part := range parts {
		for _, m := range part {
			cp.Commits[g].Minutes = append(cp.Commits[g].Minutes, m)
		}
		slices.SortFunc(cp.Commits[g].Minutes, func(a, b *Minute) int {
			return cmp.Or(cmp.Compare(a.Tenant, b.Tenant), a.Start.Compare(b.Start))
		})
	}
	if refused {
		for _, ks := range z.planned {
			ks.flags &^= ksRefused
		}
	}
	// Keep the buffers for the next checkpoint, unless a long one grew them.
	if cap(z.contribs) > keepBuffer || cap(z.planned) > keepBuffer {
		z.contribs, z.dirty, z.planned = nil, nil, nil
	} else {
		clear(z.contribs) // drop the references to the events' strings
		clear(z.planned)
		z.dirty, z.contribs, z.planned = z.dirty[:0], z.contribs[:0], z.planned[:0]
	}
	z.closed = nil
	return cp
}

// Evaluate takes in a commit read from the session-state topic, this instance's own
// included, in the order of the topic. It reports whether the commit counts and, if it
// does, returns its aggregates: the partial minutes plus the session ends that count.
// Every instance reads the same topic in the same order and decides the same way:
//
//   - A commit whose record applies events from a position other than the key's
//     committed one does not count at all: its writer started from an outdated state
//     (it missed a commit of the key's previous owner). Its events were not
//     acknowledged; they are processed again, from the committed state.
//   - A record that only closes a session (expiry) is ignored when the key's committed
//     position moved since: another writer applied events the closer did not see.
//   - A session end counts once per key, however many writers closed it.
//
// The state of a counting commit of another writer replaces what this instance holds
// for its keys, unless this instance holds changes of its own (its next commit then
// settles who was right).
func (z *Sessionizer) Evaluate(c *Commit) (*Aggregate, bool) {
	own := c.Writer == z.self
	for i := range c.Records {
		r := &c.Records[i]
		if !r.Events || r.Base == nil {
			continue
		}
		if ks := z.keys[r.Key]; ks != nil && ks.flags&ksCommitted != 0 && ks.cpos != *r.Base {
			if own {
				z.release(c)
			}
			return nil, false
		}
	}
	agg := &Aggregate{Writer: c.Writer, Seq: c.Seq, Minutes: c.Minutes}
	writer := z.intern(c.Writer)
	now := z.now().UnixNano()
	for i := range c.Records {
		r := &c.Records[i]
		ks := z.keys[r.Key]
		if !r.Events && ks != nil && ks.flags&ksCommitted != 0 && (r.Pos == nil || ks.cpos != *r.Pos) {
			if own {
				ks.flags &^= ksInflight
			}
			continue // a close of a state that has moved on
		}
		if ks == nil {
			ks = &keyState{shard: uint8(shardOf(r.Key))}
			z.keys[r.Key] = ks
		}
		for _, e := range r.Ended {
			h := hashID(e.ID)
			if h == ks.cended {
				continue
			}
			ks.cended = h
			agg.addEnd(r.Tenant, e)
		}
		if r.Pos != nil {
			ks.cpos = *r.Pos
			ks.flags |= ksCommitted
		}
		if own {
			ks.flags &^= ksInflight
			continue
		}
		if ks.flags&(ksDirty|ksInflight) != 0 {
			continue
		}
		if ks.open != nil {
			z.open--
		}
		if r.Open != nil {
			z.open++
		}
		ks.tenant, ks.open, ks.writer, ks.touched = z.intern(r.Tenant), r.Open, writer, now
		if r.Pos != nil {
			ks.pos = *r.Pos
			ks.flags |= ksPos
		} else {
			ks.flags &^= ksPos
		}
	}
	return agg, true
}

// release clears the in-flight mark of the keys of an own commit that did not count.
func (z *Sessionizer) release(c *Commit) {
	for i := range c.Records {
		if ks := z.keys[c.Records[i].Key]; ks != nil {
			ks.flags &^= ksInflight
		}
	}
}

// Aggregate is one message of the aggregates topic: the part of the aggregates one
// commit adds, identified by its writer and sequence number. Repeats of an id (the
// writer's, and any other instance's that republished it) carry the same counts;
// readers keep the first.
//
// One that takes more than MaxAggregateBytes travels as several messages, its parts
// (see SplitAggregate), numbered from 1: the id of a part is (writer, seq, part).
type Aggregate struct {
	Writer  string    `json:"writer"`
	Seq     uint64    `json:"seq"`
	Minutes []*Minute `json:"minutes"`
	// Part of Parts, both absent (1 of 1) for an aggregate in one message.
	Part  int `json:"part,omitempty"`
	Parts int `json:"parts,omitempty"`

	index  map[tenantMinute]int // Minutes by tenant and minute, once an end is added
	copied map[int]bool         // Minutes that are the aggregate's own copies
}

type tenantMinute struct {
	tenant string
	minute int64
}

// addEnd counts a session end in its minute. The commit's minutes are not changed:
// the first end of a minute replaces it in the aggregate with a copy.
func (a *Aggregate) addEnd(tenant string, e sessionEnd) {
	if a.index == nil {
		a.Minutes = slices.Clone(a.Minutes)
		a.index = make(map[tenantMinute]int, len(a.Minutes))
		for i, m := range a.Minutes {
			a.index[tenantMinute{m.Tenant, m.Start.Unix()}] = i
		}
		a.copied = map[int]bool{}
	}
	i, ok := a.index[tenantMinute{tenant, e.Minute}]
	if !ok {
		i = len(a.Minutes)
		a.Minutes = append(a.Minutes, NewMinute(tenant, time.Unix(e.Minute, 0)))
		a.index[tenantMinute{tenant, e.Minute}] = i
		a.copied[i] = true
	}
	if !a.copied[i] {
		m := *a.Minutes[i] // the ends are plain integers: a shallow copy is enough
		a.Minutes[i] = &m
		a.copied[i] = true
	}
	m := a.Minutes[i]
	m.SessionsEnded++
	m.SessionDurationMs += e.DurationMs
	if e.Bounce {
		m.Bounces++
	}
}
