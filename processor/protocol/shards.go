package protocol

import (
	"cmp"
	"math/bits"
	"slices"
)

// The state of the user keys is cut into StateShards shards by the hash Pulsar's
// Key_Shared subscription gives a key (Murmur3 32-bit, seed 0, of the key's bytes,
// modulo 65536): shard s holds the hash slots [s·4096, (s+1)·4096). An instance that
// owns a hash range (the broker splits the slots in halves as consumers join) receives
// the keys of the shards that range covers, and holds only their state. Every commit
// holds keys of one shard, named by its shardProperty, so an instance skips the
// commits of the shards it does not hold without decoding them. See doc.go, "Shards".
const (
	StateShards   = 16
	shardProperty = "shard"
	hashSlots     = 1 << 16
)

// shardOf returns the shard of key.
func shardOf(key string) int {
	return int(keyHash(key)%hashSlots) / (hashSlots / StateShards)
}

// keyHash is Pulsar's sticky key hash: Murmur3_32Hash.makeHash (seed 0, sign bit
// cleared).
func keyHash(key string) uint32 {
	const c1, c2 = 0xcc9e2d51, 0x1b873593
	var h uint32
	n := len(key) &^ 3
	for i := 0; i < n; i += 4 {
		k := uint32(key[i]) | uint32(key[i+1])<<8 | uint32(key[i+2])<<16 | uint32(key[i+3])<<24
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	var k uint32
	switch len(key) - n {
	case 3:
		k ^= uint32(key[n+2]) << 16
		fallthrough
	case 2:
		k ^= uint32(key[n+1]) << 8
		fallthrough
	case 1:
		k ^= uint32(key[n])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(len(key))
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h & 0x7fffffff
}

// shardRecord is the committed state of one key, as a snapshot of its shard keeps it:
// the record a commit would carry (Base is the committed position, Pos the last
// event's), its writer, the hash of its last counted session end, and when it was
// last touched (processing time, Unix nanoseconds).
type shardRecord struct {
	Record
	Writer  string
	Cended  uint64
	Touched int64
}

// shardRecords returns the committed state of every key of the shards marked in
// want, by shard: what a snapshot of each holds. The caller makes sure no key is
// dirty or in flight (after a checkpoint is read back, before the next event): then
// what this instance holds of a key is its committed state.
func (z *Sessionizer) shardRecords(want *[StateShards]bool) map[int][]shardRecord {
	out := map[int][]shardRecord{}
	for key, ks := range z.keys {
		if !want[ks.shard] {
			continue
		}
		r := shardRecord{Record: Record{Key: key, Tenant: ks.tenant, Open: ks.open}, Writer: cmp.Or(ks.writer, z.self), Cended: ks.cended, Touched: ks.touched}
		if ks.flags&ksCommitted != 0 {
			cpos := ks.cpos
			r.Base = &cpos
		}
		if ks.flags&ksPos != 0 {
			pos := ks.pos
			r.Pos = &pos
		}
		out[int(ks.shard)] = append(out[int(ks.shard)], r)
	}
	return out
}

// restore takes in the records of a shard's snapshot: the keys' committed state,
// written by others (none is this instance's own until it processes its events).
func (z *Sessionizer) restore(records []shardRecord) {
	for i := range records {
		r := &records[i]
		ks := &keyState{tenant: z.intern(r.Tenant), open: r.Open, writer: z.intern(r.Writer), cended: r.Cended, touched: r.Touched, shard: uint8(shardOf(r.Key))}
		if r.Base != nil {
			ks.cpos = *r.Base
			ks.flags |= ksCommitted
		}
		if r.Pos != nil {
			ks.pos = *r.Pos
			ks.flags |= ksPos
		}
		if old := z.keys[r.Key]; old != nil && old.open != nil {
			z.open--
		}
		if r.Open != nil {
			z.open++
		}
		z.keys[r.Key] = ks
	}
}

// adopt moves the keys of the shards marked in shards from loader (which read their
// snapshots and the commits since) into z.
func (z *Sessionizer) adopt(loader *Sessionizer, shards *[StateShards]bool) {
	for key, ks := range loader.keys {
		if !shards[ks.shard] {
			continue
		}
		if old := z.keys[key]; old != nil && old.open != nil {
			z.open--
		}
		ks.tenant, ks.writer = z.intern(ks.tenant), z.intern(ks.writer)
		if ks.open != nil {
			z.open++
		}
		z.keys[key] = ks
	}
}

// dropShard forgets the keys of shard s, unless one of them has a session this
// instance processed last, or changes not committed yet: it reports whether it did.
// The other writers' sessions it held are theirs to close.
func (z *Sessionizer) dropShard(s int) bool {
	for _, ks := range z.keys {
		if int(ks.shard) == s && (ks.open != nil && ks.writer == "" || ks.flags&(ksDirty|ksInflight) != 0) {
			return false
		}
	}
	for key, ks := range z.keys {
		if int(ks.shard) == s {
			if ks.open != nil {
				z.open--
			}
			delete(z.keys, key)
		}
	}
	return true
}

// byShard orders keys by their shard, keeping the order of keys of one shard.
func (z *Sessionizer) byShard(keys []string) {
	slices.SortStableFunc(keys, func(a, b string) int { return cmp.Compare(z.keys[a].shard, z.keys[b].shard) })
}
