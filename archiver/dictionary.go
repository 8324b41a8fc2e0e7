package archiver

import (
	"fmt"
	"hash/maphash"
	"reflect"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Dictionary encoding pays on a column of few values (type, browser, a site's few
// hundred pages). On a column whose values all differ (what a client can send as page
// paths, event names, referrers, User-Agents) the dictionary is as big as the data,
// and parquet-go holds it until the row group is written: the values, a copy of each
// as its hash table's key, and the table; its size estimate counts the values only.
// A row group of 50,000 of the soak's adversarial events held 48.5 MiB through the
// writer, of its ordinary ones 11.5 MiB (TestSoakTrafficHoldsAboutTheHeapOfOrdinaryTraffic);
// with the cap below and the cost counted, 15 MiB, in 25% fewer Parquet bytes.
const (
	// dictionaryMaxBytes caps the distinct values of a column's dictionary in a row
	// group: past it the column's next pages are PLAIN (zstd still compresses them),
	// and the dictionary stops growing. parquet-mr and Arrow do the same at 1 MiB, for
	// one file; the archiver writes a file per partition, of 25 dictionary columns.
	// What PLAIN costs when a site's values pass the cap: 9.8 Parquet bytes an event
	// of the soak's ordinary traffic with a cap of 4 KiB, 9.2 with dictionaries.
	dictionaryMaxBytes = 32 << 10
	// dictionaryEntryBytes is what a dictionary entry costs besides its value, and
	// what remembering it costs here: parquet-go's copy of the value (counted apart),
	// its hash table slot and offset, and this package's hash of it.
	dictionaryEntryBytes = 80
)

// dictionaries follows the dictionaries of a file's row group in memory: it counts
// the distinct values of each dictionary-encoded string column (hashes of them), ends
// the column's page once they exceed dictionaryMaxBytes, which makes parquet-go
// switch the column to PLAIN for the rest of the row group, and estimates what the
// dictionaries cost beyond the writer's own estimate.
type dictionaries struct {
	seed    maphash.Seed
	columns []dictionaryColumn
	rows    int // rows of the row group in memory
}

type dictionaryColumn struct {
	field int // index of the row struct's field
	leaf  int // index of the Parquet leaf column
	// values are the hashes of the column's distinct values in the row group, until
	// it switches to PLAIN (nil then); bytes and entries count them.
	values         map[uint64]struct{}
	bytes, entries int64
	last           string // the previous row's value (repeated values cost no lookup)
	// plain counts the rows written since the column switched to PLAIN (0: not yet).
	plain int
}

// newDictionaries finds the dictionary-encoded columns among the string columns of t.
func newDictionaries(t *table) dictionaries {
	d := dictionaries{seed: maphash.MakeSeed()}
	for k, name := range t.text.name {
		leaf, ok := t.schema.Lookup(name)
		if !ok {
			continue
		}
		if enc := leaf.Node.Encoding(); enc != nil && (enc.Encoding() == format.RLEDictionary || enc.Encoding() == format.PlainDictionary) {
			d.columns = append(d.columns, dictionaryColumn{field: t.text.index[k], leaf: leaf.ColumnIndex, values: map[uint64]struct{}{}})
		}
	}
	return d
}

// wrote counts row (a pointer to the table's row struct), just written to w whose row
// groups close at rowsPerGroup rows, and switches to PLAIN the columns whose
// dictionary outgrew dictionaryMaxBytes with it.
func (d *dictionaries) wrote(w *parquet.Writer, row any) error {
	d.rows++
	if d.rows > rowsPerGroup { // parquet-go wrote the full row group before this row
		d.flushed()
		d.rows = 1
	}
	v := reflect.ValueOf(row).Elem()
	for i := range d.columns {
		c := &d.columns[i]
		if c.plain > 0 {
			// parquet-go gives the PLAIN buffer room for as many values as its page
			// has bytes (2 MiB of offsets and lengths), and frees it at the column's
			// next page: end a page of one row, the buffer then grows as values come.
			if c.plain++; c.plain == 2 {
				if err := w.ColumnWriters()[c.leaf].Flush(); err != nil {
					return fmt.Errorf("end page of column %d: %w", c.leaf, err)
				}
			}
			continue
		}
		s := v.Field(c.field).String()
		if s == c.last && d.rows > 1 {
			continue
		}
		c.last = s
		h := maphash.String(d.seed, s)
		if _, ok := c.values[h]; ok {
			continue
		}
		c.values[h] = struct{}{}
		c.bytes += int64(len(s))
		c.entries++
		if c.bytes > dictionaryMaxBytes {
			// parquet-go looks at the dictionary's size when the column ends a page.
			if err := w.ColumnWriters()[c.leaf].Flush(); err != nil {
				return fmt.Errorf("end page of column %d: %w", c.leaf, err)
			}
			c.plain, c.values = 1, nil
		}
	}
	return nil
}

// overhead is the memory the row group's dictionaries take beyond the writer's size
// estimate.
func (d *dictionaries) overhead() int64 {
	var n int64
	for _, c := range d.columns {
		n += c.bytes + c.entries*dictionaryEntryBytes
	}
	return n
}

// flushed starts a new row group: every column back to its dictionary.
func (d *dictionaries) flushed() {
	d.rows = 0
	for i := range d.columns {
		c := &d.columns[i]
		c.bytes, c.entries, c.last, c.plain = 0, 0, "", 0
		if c.values == nil || len(c.values) > 4096 {
			c.values = map[uint64]struct{}{} // a map keeps its largest size
		} else {
			clear(c.values)
		}
	}
}
