package archiver

import (
	"hash/maphash"
	"time"
)

// dedup recognises a messageId that one partition already delivered within a window of
// received times: a client's retry that the collector stored twice. The window is in
// event time (received_at), not in the archiver's clock, so draining a backlog fast
// keeps no more ids than reading it live would, and a replay after a crash decides the
// same way.
//
// It keeps 64-bit hashes of the ids, in arrival order, and forgets those that fall out
// of the window as newer events arrive: about 40 bytes per event received within the
// window. Two different ids of the same window share a hash with a probability of
// about n²/2⁶⁵ (10⁻⁸ for 600,000 ids); the later one would then be dropped.
type dedup struct {
	window time.Duration
	seed   maphash.Seed
	seen   map[uint64]int64 // hash → received at (Unix ns) when first seen
	order  []sighting       // in arrival order; order[head:] are still in the window
	head   int
	latest int64 // the latest received time seen
}

type sighting struct {
	hash uint64
	at   int64
}

func newDedup(window time.Duration) *dedup {
	return &dedup{window: window, seed: maphash.MakeSeed(), seen: map[uint64]int64{}}
}

// repeated reports whether id was seen with a received time within the window of at,
// and remembers it otherwise. A zero window turns de-duplication off.
func (d *dedup) repeated(id string, at time.Time) bool {
	if d.window <= 0 {
		return false
	}
	t := at.UnixNano()
	if t > d.latest {
		d.latest = t
		d.forget()
	}
	h := maphash.String(d.seed, id)
	if prev, ok := d.seen[h]; ok && abs(t-prev) <= int64(d.window) {
		return true
	}
	d.seen[h] = t
	d.order = append(d.order, sighting{h, t})
	return false
}

// forget drops the ids received more than the window before the latest.
func (d *dedup) forget() {
	limit := d.latest - int64(d.window)
	for d.head < len(d.order) && d.order[d.head].at < limit {
		s := d.order[d.head]
		if d.seen[s.hash] == s.at {
			delete(d.seen, s.hash)
		}
		d.head++
	}
	if d.head > 1024 && d.head > len(d.order)/2 { // reuse the slice's front
		d.order = d.order[:copy(d.order, d.order[d.head:])]
		d.head = 0
	}
}

// size is the number of ids remembered.
func (d *dedup) size() int { return len(d.seen) }

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
