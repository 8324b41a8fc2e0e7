package protocol

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// keyed is v's event as the user key's.
func keyed(v ev, key string) *schemas.Event {
	e := v.Event()
	e.AnonymousID = key
	return e
}

// The sticky key hash is Pulsar's: Murmur3 x86 32-bit, seed 0, sign bit cleared.
func TestTheKeyHashIsPulsars(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want uint32
	}{
		{"", 0},
		{"hello", 0x248bfa47},
		{"The quick brown fox jumps over the lazy dog", 0x2e4ff723},
		{"abc", 0xb3dd93fa & 0x7fffffff},
	} {
		if got := keyHash(tc.key); got != tc.want {
			t.Errorf("keyHash(%q) = %#x, want %#x", tc.key, got, tc.want)
		}
	}
	// Twice per event on the hot path: no allocation, whatever the key's length.
	long := strings.Repeat("k", 2000)
	if n := testing.AllocsPerRun(100, func() { shardOf(long) }); n != 0 {
		t.Errorf("shardOf allocates %.0f times", n)
	}
	// Every shard gets keys, about evenly.
	var n [StateShards]int
	for i := range 16000 {
		n[shardOf(fmt.Sprint("anon-", i))]++
	}
	for s, c := range n {
		if c < 800 || c > 1200 {
			t.Errorf("shard %d holds %d of 16,000 keys, want about 1,000", s, c)
		}
	}
}

// A checkpoint writes one commit per shard at least: every record of a commit is of
// the commit's shard.
func TestEveryCommitHoldsKeysOfOneShard(t *testing.T) {
	z := NewSessionizer(DefaultSessionRules(), "me", (&clock{t0.Add(time.Hour)}).Now)
	for i := range 500 {
		z.Add(keyed(ev{time.Duration(i) * time.Second, fmt.Sprint("m", i), "", "/", "", "", ""}, fmt.Sprint("k", i)), &Position{Ledger: 1, Entry: int64(i)})
	}
	shards := map[int]bool{}
	for _, c := range z.Checkpoint().Commits {
		if shards[c.Shard] {
			t.Errorf("two commits of shard %d for 500 small records", c.Shard)
		}
		shards[c.Shard] = true
		for _, r := range c.Records {
			if shardOf(r.Key) != c.Shard {
				t.Fatalf("commit of shard %d holds %s of shard %d", c.Shard, r.Key, shardOf(r.Key))
			}
		}
	}
	if len(shards) != StateShards {
		t.Errorf("500 keys made commits of %d shards, want %d", len(shards), StateShards)
	}
}

// A shard's snapshot, read back by another instance, holds the committed state: the
// owner's next commit counts there, one from an outdated state does not, and no key
// counts as the reader's own.
func TestAShardSnapshotHoldsTheCommittedState(t *testing.T) {
	clk := &clock{t0.Add(time.Hour)}
	owner := NewSessionizer(DefaultSessionRules(), "owner", clk.Now)
	keys := keysOfOneShard(20)
	for i, k := range keys {
		owner.Add(keyed(ev{time.Duration(i) * time.Second, fmt.Sprint("a", i), "", "/a", "", "", ""}, k), &Position{Ledger: 1, Entry: int64(i)})
	}
	first := checkpoint(t, owner)
	stale := NewSessionizer(DefaultSessionRules(), "stale", clk.Now)
	play(t, stale, first) // stale knows the state of the snapshot, not what follows
	all := [StateShards]bool{}
	all[0] = true
	recs := owner.shardRecords(&all)[0]
	data, err := encodeShardSnapshot("t/ns", 0, []byte("pos"), clk.T, recs)
	if err != nil {
		t.Fatal(err)
	}
	got, pos, err := decodeShardSnapshot(bytes.NewReader(data), "t/ns", 0, func(s string) string { return s })
	if err != nil || string(pos) != "pos" || len(got) != len(keys) {
		t.Fatalf("read back %d records at %q: %v", len(got), pos, err)
	}
	if _, _, err := decodeShardSnapshot(bytes.NewReader(data), "t/ns", 1, func(s string) string { return s }); err == nil {
		t.Errorf("the snapshot of shard 0 was read as shard 1's")
	}
	reader := NewSessionizer(DefaultSessionRules(), "reader", clk.Now)
	reader.restore(got)
	if reader.Open() != len(keys) || reader.Owns(keys[0]) {
		t.Fatalf("restored %d open sessions (want %d), owns a key: %v", reader.Open(), len(keys), reader.Owns(keys[0]))
	}
	// The owner goes on from its committed state: its commit counts for the reader.
	owner.Add(keyed(ev{time.Minute, "b0", "", "/b", "", "", ""}, keys[0]), &Position{Ledger: 1, Entry: 100})
	next := owner.Checkpoint().Commits
	if _, ok := reader.Evaluate(roundTrip(t, next[0])); !ok {
		t.Errorf("the owner's next commit does not count for an instance that read the snapshot")
	}
	// A writer that goes on from the snapshot's state, missing the owner's commit
	// since: not counted.
	stale.Add(keyed(ev{2 * time.Minute, "c0", "", "/c", "", "", ""}, keys[0]), &Position{Ledger: 1, Entry: 101})
	if _, ok := reader.Evaluate(roundTrip(t, stale.Checkpoint().Commits[0])); ok {
		t.Errorf("a commit from an outdated state counts after the snapshot")
	}
}

// A shard is dropped only when none of its sessions is this instance's own and
// nothing of it is waiting to be committed.
func TestAShardIsDroppedOnlyWithoutSessionsOfItsOwn(t *testing.T) {
	clk := &clock{t0.Add(time.Hour)}
	z := NewSessionizer(DefaultSessionRules(), "me", clk.Now)
	k := keysOfOneShard(1)[0]
	z.Add(keyed(ev{0, "m0", "", "/", "", "", ""}, k), &Position{Ledger: 1})
	if z.dropShard(0) {
		t.Fatal("a shard with a dirty key was dropped")
	}
	checkpoint(t, z)
	if z.dropShard(0) {
		t.Fatal("a shard with a session of this instance's own was dropped")
	}
	other := NewSessionizer(DefaultSessionRules(), "other", clk.Now)
	other.Add(keyed(ev{time.Minute, "m1", "", "/", "", "", ""}, k), &Position{Ledger: 1, Entry: 1})
	play(t, z, other.Checkpoint().Commits) // the key moved to other
	if !z.dropShard(0) || z.Open() != 0 || z.Keys() != 0 {
		t.Errorf("a shard of another writer's sessions was kept: %d open, %d keys", z.Open(), z.Keys())
	}
}

// keysOfOneShard returns n user keys of one shard.
func keysOfOneShard(n int) []string {
	var keys []string
	for i := 0; len(keys) < n; i++ {
		if k := fmt.Sprint("anon-", i); shardOf(k) == 0 {
			keys = append(keys, k)
		}
	}
	return keys
}

// A snapshot larger than the blocks it is compressed in reads back record for record,
// and one of no record too.
func TestALargeShardSnapshotReadsBackWhole(t *testing.T) {
	clk := &clock{t0.Add(time.Hour)}
	z := NewSessionizer(DefaultSessionRules(), "owner", clk.Now)
	keys := keysOfOneShard(5000)
	for i, k := range keys {
		z.Add(keyed(ev{ID: fmt.Sprint("m", i), Path: "/" + strings.Repeat("p", 100)}, k), &Position{Ledger: 1, Entry: int64(i)})
	}
	checkpoint(t, z)
	all := [StateShards]bool{}
	all[0] = true
	for _, recs := range [][]shardRecord{z.shardRecords(&all)[0], nil} {
		data, err := encodeShardSnapshot("t/ns", 0, []byte("pos"), clk.T, recs)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := decodeShardSnapshot(bytes.NewReader(data), "t/ns", 0, func(s string) string { return s })
		if err != nil || len(got) != len(recs) {
			t.Fatalf("%d records read back of %d: %v", len(got), len(recs), err)
		}
		for i := range got {
			if got[i].Key != recs[i].Key || got[i].Open.EntryPage != recs[i].Open.EntryPage || *got[i].Pos != *recs[i].Pos {
				t.Fatalf("record %d reads back as %+v, want %+v", i, got[i].Record, recs[i].Record)
			}
		}
	}
}
