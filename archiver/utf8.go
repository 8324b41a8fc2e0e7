package archiver

import (
	"reflect"
	"strings"

	"github.com/clicktrail/clicktrail/schemas"
)

// textColumns are the string fields of a row type and their Parquet column names, so
// that every string written can be checked for valid UTF-8. DuckDB refuses to read a
// column with one invalid string anywhere in the file; the collector repairs text at
// ingest, and this is the second line: whatever reaches the topics, the lake stays
// readable.
type textColumns struct {
	index []int
	name  []string
}

// textColumnsOf lists the string fields of the struct type t (not nested).
func textColumnsOf(t reflect.Type) textColumns {
	var tc textColumns
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type.Kind() != reflect.String {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("parquet"), ",")
		if name == "" {
			name = f.Name
		}
		tc.index = append(tc.index, i)
		tc.name = append(tc.name, name)
	}
	return tc
}

// repair replaces the invalid bytes of every string field of *row (a pointer to a
// struct of the type tc was built from) by U+FFFD, by the collector's rule
// (schemas.ValidUTF8String), and returns the columns it changed.
// A valid string is only read: the common case costs one utf8.ValidString per field
// and allocates nothing.
func (tc textColumns) repair(row any) (repaired []string) {
	v := reflect.ValueOf(row).Elem()
	for k, i := range tc.index {
		f := v.Field(i)
		if s, ok := schemas.ValidUTF8String(f.String()); ok {
			f.SetString(s)
			repaired = append(repaired, tc.name[k])
		}
	}
	return repaired
}
