package archiver

import (
	"errors"
	"fmt"
	"os"

	"github.com/parquet-go/parquet-go"
)

// file is a Parquet file being written to a temporary file on disk; its rows are
// buffered in memory one row group at a time only.
type file struct {
	f    *os.File
	w    *parquet.Writer
	rows int
}

// rowsPerGroup bounds the rows held in memory before a row group goes to disk.
const rowsPerGroup = 50_000

func newFile(dir string, schema *parquet.Schema) (*file, error) {
	f, err := os.CreateTemp(dir, "clicktrail-*.parquet")
	if err != nil {
		return nil, fmt.Errorf("create temporary file: %w", err)
	}
	w := parquet.NewWriter(f, schema,
		parquet.Compression(&parquet.Zstd),
		parquet.MaxRowsPerRowGroup(rowsPerGroup),
		parquet.DataPageStatistics(true),
		parquet.CreatedBy("clicktrail-archiver", "0.1.0", ""),
	)
	return &file{f: f, w: w}, nil
}

func (f *file) write(row any) error {
	if err := f.w.Write(row); err != nil {
		return fmt.Errorf("write row to %s: %w", f.f.Name(), err)
	}
	f.rows++
	return nil
}

// size is what is on disk: finished row groups.
func (f *file) size() int64 {
	st, err := f.f.Stat()
	if err != nil {
		return 0
	}
	return st.Size()
}

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
