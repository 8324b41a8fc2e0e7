package archiver

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
)

// file is a Parquet file being written to a temporary file on disk. Its rows are held
// in memory one row group at a time only, and a row group goes to disk once it holds
// rowGroupBytes or rowsPerGroup rows, whichever comes first: memory follows the bytes
// buffered, whatever the size of a row.
type file struct {
	f    *os.File
	w    *parquet.Writer
	rows int
	// disk counts the bytes parquet-go has written to f: finished row groups, whether
	// they went out because of their bytes or their rows.
	disk countingWriter
	// dict follows the row group's dictionaries: each within dictionaryMaxBytes, and
	// what they cost counted in the row group's bytes.
	dict dictionaries
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

const (
	// rowGroupBytes bounds a row group in memory, as parquet-go estimates it: the
	// compressed pages written so far, the values not yet encoded into a page (up to
	// the page buffer size per column, uncompressed) and the dictionaries, plus what
	// the dictionaries cost beyond that estimate (see dictionaries). What it costs,
	// measured with 30 KB rows (TestLargeEventsKeepTheHeapBounded): 18 MiB live after
	// two collections; up to 37 MiB after one, counting the page buffers parquet-go
	// keeps in sync.Pool caches for the next row group; 94 MiB of heap in use at the
	// peak, garbage included. The zstd encoders are pooled (16 MiB of history each,
	// shared by every file of the process). At 16 MiB a file of the soak's
	// adversarial-recent events (an eighth with 3 KB of random text) held 20 MiB, twice
	// one of ordinary events; at 8 MiB, 12 MiB as they do, for 0.5% more Parquet bytes.
	rowGroupBytes = 8 << 20
	// rowsPerGroup bounds the rows of a row group of small rows.
	rowsPerGroup = 50_000
)

// newFile opens a temporary file for rows of t.
func newFile(dir string, t *table) (*file, error) {
	f, err := os.CreateTemp(dir, "clicktrail-*.parquet")
	if err != nil {
		return nil, fmt.Errorf("create temporary file: %w", err)
	}
	opts := []parquet.WriterOption{
		t.schema,
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(rowsPerGroup),
		parquet.DataPageStatistics(true),
		parquet.DictionaryMaxBytes(dictionaryMaxBytes),
		parquet.CreatedBy("clicktrail-archiver", "0.1.0", ""),
	}
	// Bounds of free-form JSON prune nothing, and parquet-go keeps every page's full
	// minimum and maximum in memory until the file is closed: 30 KB values would hold
	// megabytes per row group. Their pages carry no statistics and the footer no bounds.
	for _, c := range t.blobs {
		opts = append(opts, parquet.SkipPageBounds(c), parquet.SkipPageStatistics(c))
	}
	out := &file{f: f, disk: countingWriter{w: f}, dict: newDictionaries(t)}
	out.w = parquet.NewWriter(&out.disk, opts...)
	return out, nil
}

// write adds row, and sends the row group to disk once it holds rowGroupBytes.
func (f *file) write(row any) error {
	if err := f.w.Write(row); err != nil {
		return fmt.Errorf("write row to %s: %w", f.f.Name(), err)
	}
	f.rows++
	if err := f.dict.wrote(f.w, row); err != nil {
		return fmt.Errorf("write to %s: %w", f.f.Name(), err)
	}
	if f.buffered() >= rowGroupBytes {
		if err := f.w.Flush(); err != nil {
			return fmt.Errorf("write row group to %s: %w", f.f.Name(), err)
		}
		f.dict.flushed()
	}
	return nil
}

// buffered is the estimated size of the row group held in memory (and of the writer's
// 32 KiB output buffer), with what its dictionaries cost beyond parquet-go's estimate.
func (f *file) buffered() int64 { return f.w.Size() - f.disk.n + f.dict.overhead() }

// size is the file's estimated size: the row groups on disk and the one in memory
// (before compression of the values not yet in a page, so rather more than less).
func (f *file) size() int64 { return f.w.Size() }

// finish writes the footer and closes the file, leaving it on disk for the upload.
func (f *file) finish() error {
	werr := f.w.Close()
	serr := f.f.Sync()
	cerr := f.f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("finish %s: %w", f.f.Name(), err)
	}
	return nil
}

func (f *file) path() string { return f.f.Name() }

// discard removes the file from disk.
func (f *file) discard() { _ = os.Remove(f.f.Name()) }
