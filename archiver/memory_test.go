package archiver

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/clicktrail/clicktrail/schemas"
)

// bigEvent is a stored event of about size bytes: a distinct page path of a third
// (a dictionary column, repeated in the URL and the context) and distinct properties
// for the rest, drawn at random so zstd cannot shrink them much.
func bigEvent(rng *rand.Rand, i, size int) []byte {
	text := func(n int) string {
		const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
		b := make([]byte, n)
		for j := range b {
			b[j] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	path := "/" + text(size/6)
	at := time.Date(2026, 11, 25, 10, 0, 0, i*1e6, time.UTC)
	e := schemas.Event{
		Type: "page", MessageID: fmt.Sprintf("m-%08d", i), AnonymousID: "a", ReceivedAt: schemas.NewTime(at),
		Context:    json.RawMessage(`{"page":{"url":"https://x.example` + path + `","path":"` + path + `"}}`),
		Properties: json.RawMessage(`{"blob":"` + text(size/2) + `"}`),
		Tenant:     "t", Source: "s",
	}
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	return b
}

// heapPeak samples HeapInuse every millisecond until stopped and returns the peak.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// above is v − base, or 0 when the heap shrank below the start.
func above(v, base uint64) uint64 {
	if v < base {
		return 0
	}
	return v - base
}

// liveHeap is HeapInuse right after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestLargeEventsKeepTheHeapBounded writes 10,000 events of 30 KB (300 MB of JSON,
// mostly incompressible) into one file and checks that the writer's memory follows
// the buffered bytes, not the rows, and that every row reads back. Live heap: what a
// GC leaves every 500 rows (sync.Pool caches included); peak: HeapInuse sampled every
// millisecond, garbage included. With row groups of 50,000 rows the live heap reached
// 677 MiB and the peak 778 MiB; with row groups of 16 MiB, about 73 and 150 MiB; of
// 8 MiB, with dictionaries capped, 37 and 94 MiB.
func TestLargeEventsKeepTheHeapBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 300 MB")
	}
	const n, size = 10_000, 30 << 10
	const liveBound, peakBound = 96 << 20, 256 << 20
	rng := rand.New(rand.NewPCG(1, 2))
	f, err := newFile(t.TempDir(), eventsTable)
	if err != nil {
		t.Fatal(err)
	}
	defer f.discard()
	base := liveHeap()
	stop := heapPeak()
	var live uint64
	for i := range n {
		row, _, _, err := eventsTable.decode(bigEvent(rng, i, size))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.write(row); err != nil {
			t.Fatal(err)
		}
		if i%500 == 499 {
			live = max(live, above(liveHeap(), base))
		}
	}
	peak := above(stop(), base)
	if err := f.finish(); err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(f.path())
	t.Logf("%d rows of %d KB: live heap up to %.1f MiB, sampled HeapInuse peak %.1f MiB above the start; file %.1f MiB",
		n, size>>10, float64(live)/(1<<20), float64(peak)/(1<<20), float64(st.Size())/(1<<20))
	if live > liveBound || peak > peakBound {
		t.Errorf("live heap %.1f MiB, peak %.1f MiB above the start; want under %d and %d MiB",
			float64(live)/(1<<20), float64(peak)/(1<<20), liveBound>>20, peakBound>>20)
	}

	r, err := os.Open(f.path())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pr := parquet.NewGenericReader[schemas.EventRow](r)
	buf := make([]schemas.EventRow, 100)
	read := 0
	for {
		k, err := pr.Read(buf)
		for _, row := range buf[:k] {
			if want := fmt.Sprintf("m-%08d", read); row.MessageID != want || len(row.Properties) < size/2 || len(row.PagePath) < size/6 {
				t.Fatalf("row %d: message_id %q, properties %d bytes, page_path %d bytes", read, row.MessageID, len(row.Properties), len(row.PagePath))
			}
			read++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if read != n {
		t.Fatalf("read back %d rows, want %d", read, n)
	}
}

func TestRowGroupsCloseAtTheirBytesOrTheirRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tests := []struct {
		name    string
		rows    int
		payload func(i int) []byte
		check   func(t *testing.T, groups []int64, bytes []int64)
	}{
		{"row groups of 30 KB events close at rowGroupBytes", 1500, func(i int) []byte { return bigEvent(rng, i, 30<<10) },
			func(t *testing.T, groups, bytes []int64) {
				if len(groups) < 3 {
					t.Errorf("%d row groups (%v rows), want one per %d MiB", len(groups), groups, rowGroupBytes>>20)
				}
				for i, b := range bytes {
					if b > rowGroupBytes+1<<20 {
						t.Errorf("row group %d holds %d bytes, want about %d at most", i, b, rowGroupBytes)
					}
				}
			}},
		{"row groups of small events close at 50,000 rows", 60_000, func(i int) []byte {
			return eventAtTime(i, time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
		}, func(t *testing.T, groups, _ []int64) {
			if len(groups) != 2 || groups[0] != rowsPerGroup || groups[1] != 10_000 {
				t.Errorf("row groups of %v rows, want [50000 10000]", groups)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := newFile(t.TempDir(), eventsTable)
			if err != nil {
				t.Fatal(err)
			}
			defer f.discard()
			for i := range tc.rows {
				row, _, _, err := eventsTable.decode(tc.payload(i))
				if err != nil {
					t.Fatal(err)
				}
				if err := f.write(row); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.finish(); err != nil {
				t.Fatal(err)
			}
			r, err := os.Open(f.path())
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			st, _ := r.Stat()
			pf, err := parquet.OpenFile(r, st.Size())
			if err != nil {
				t.Fatal(err)
			}
			var groups, sizes []int64
			for _, rg := range pf.Metadata().RowGroups {
				groups, sizes = append(groups, rg.NumRows), append(sizes, rg.TotalCompressedSize)
			}
			tc.check(t, groups, sizes)
		})
	}
}

// eventAtTime is a small stored event.
func eventAtTime(i int, at time.Time) []byte {
	b, _ := json.Marshal(schemas.Event{Type: "page", AnonymousID: "a", MessageID: fmt.Sprintf("s-%d", i), ReceivedAt: schemas.NewTime(at), Tenant: "t", Source: "s"})
	return b
}
