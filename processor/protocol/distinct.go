package protocol

import "container/heap"

// The distinct values of a dimension (see Counts) of one tenant-minute are bounded by
// one rule that does not depend on the order in which events and partial aggregates
// arrive, nor on how they were cut into commits and messages:
//
//	A minute's dimension keeps the MaxDistinctValues values of smallest rank (a 64-bit
//	FNV-1a hash of the value, ties broken by the bytes) among all the values it was
//	ever given; every other value is counted under otherValue.
//
// A value kept at the end was kept from its first count on (the kept set only ever
// takes a value of smaller rank than one it drops), so its count is complete; and a
// value that a partial (a commit's minute) counted under otherValue has a larger
// rank than MaxDistinctValues others of that partial, so the merged minute never
// keeps it either. Merging partials is therefore commutative and associative: every
// instance, whatever the order in which it read the aggregates topic, and a writer
// and the instance recovering its aggregate, compute the same numbers, and the same
// as one minute that counted every event itself. The totals never depend on the
// rule; only which values are listed by name does. A client sending many values in
// one minute can push others into otherValue (which ones depends on the hashes, not
// on who came first); a value "(other)" sent by a client is counted there too.

// Dimensions of Counts, in the order of Dims.
const (
	DimEvents = iota
	DimPageviews
	DimReferrers
	DimUTMSources
	DimBrowsers
	DimDevices
	NumDims
)

// Dims returns c's dimensions in a fixed order.
func (c *Counts) Dims() [NumDims]*map[string]int64 {
	return [NumDims]*map[string]int64{&c.Events, &c.Pageviews, &c.Referrers, &c.UTMSources, &c.Browsers, &c.Devices}
}

// ranked is a kept value with its rank.
type ranked struct {
	h uint64
	v string
}

// after reports whether a ranks after b.
func (a ranked) after(b ranked) bool { return a.h > b.h || a.h == b.h && a.v > b.v }

func rankOf(v string) ranked {
	h := uint64(14695981039346656037) // FNV-1a, 64 bits
	for i := 0; i < len(v); i++ {
		h ^= uint64(v[i])
		h *= 1099511628211
	}
	return ranked{h, v}
}

// keptHeap holds the kept values of a full dimension, the one of largest rank first.
type keptHeap []ranked

func (h keptHeap) Len() int           { return len(h) }
func (h keptHeap) Less(i, j int) bool { return h[i].after(h[j]) }
func (h keptHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *keptHeap) Push(x any)        { *h = append(*h, x.(ranked)) }
func (h *keptHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Count adds n to value v (at most MaxValueBytes, see capValue) of dimension d,
// keeping at most MaxDistinctValues values by name (see the rule above).
func (m *Minute) Count(d int, v string, n int64) {
	mp := m.Dims()[d]
	if *mp == nil {
		*mp = map[string]int64{}
	}
	if _, ok := (*mp)[v]; ok || v == otherValue {
		(*mp)[v] += n
		return
	}
	kept := len(*mp)
	if _, ok := (*mp)[otherValue]; ok {
		kept--
	}
	if kept < MaxDistinctValues {
		(*mp)[v] = n
		return
	}
	// Full: v takes the place of the value of largest rank, or joins otherValue. The
	// heap is built at the first overflow; from then on the dimension stays full.
	if m.full == nil {
		m.full = &[NumDims]*keptHeap{}
	}
	h := m.full[d]
	if h == nil {
		h = &keptHeap{}
		for k := range *mp {
			if k != otherValue {
				*h = append(*h, rankOf(k))
			}
		}
		heap.Init(h)
		m.full[d] = h
	}
	r := rankOf(v)
	if top := (*h)[0]; !r.after(top) {
		(*mp)[otherValue] += (*mp)[top.v]
		delete(*mp, top.v)
		(*mp)[v] = n
		(*h)[0] = r
		heap.Fix(h, 0)
		return
	}
	(*mp)[otherValue] += n
}

// MergeCounts adds o into m under the bounds: values are capped (those of older
// writers may be longer) and counted with count, in any order (see the rule above).
func (m *Minute) MergeCounts(o *Counts) {
	m.SessionsStarted += o.SessionsStarted
	m.SessionsEnded += o.SessionsEnded
	m.Bounces += o.Bounces
	m.SessionDurationMs += o.SessionDurationMs
	for d, src := range o.Dims() {
		for v, n := range *src {
			v, _ = capValue(v, MaxValueBytes)
			m.Count(d, v, n)
		}
	}
}
