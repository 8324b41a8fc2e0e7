package archiver

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/clicktrail/clicktrail/schemas"
)

func TestDictionaryColumnsSwitchToPlainWhenTheirValuesAreMostlyDistinct(t *testing.T) {
	// Two row groups and a half, so that the switch and its reset are both read back.
	const n = rowsPerGroup*2 + rowsPerGroup/2
	f, _ := writeSoakEvents(t, t.TempDir(), n, soakAdversarial)
	defer f.discard()
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
	tests := []struct {
		name   string
		column string
		plain  bool
	}{
		{"a page URL of its own in every row is PLAIN past the cap", "page_url", true},
		{"a User-Agent of its own in every row is PLAIN past the cap", "user_agent", true},
		{"a page name of its own in every row is PLAIN past the cap", "name", true},
		{"the event type, of two values, stays a dictionary", "type", false},
		{"the browser, of one value, stays a dictionary", "browser", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			leaf, ok := eventsTable.schema.Lookup(tc.column)
			if !ok {
				t.Fatalf("no column %s", tc.column)
			}
			for g, rg := range pf.Metadata().RowGroups {
				var plain, dict int32
				for _, s := range rg.Columns[leaf.ColumnIndex].MetaData.EncodingStats {
					switch {
					case s.PageType != format.DataPage && s.PageType != format.DataPageV2:
					case s.Encoding == format.Plain:
						plain += s.Count
					default:
						dict += s.Count
					}
				}
				if (plain > 0) != tc.plain || dict == 0 {
					t.Errorf("row group %d: %d PLAIN data pages and %d dictionary ones, want PLAIN ones: %v", g, plain, dict, tc.plain)
				}
			}
		})
	}

	// Every row reads back as written, with parquet-go and with DuckDB.
	pr := parquet.NewGenericReader[schemas.EventRow](r)
	buf := make([]schemas.EventRow, 500)
	read := 0
	for {
		k, err := pr.Read(buf)
		for _, row := range buf[:k] {
			e, derr := schemas.DecodeStored(soakEvent(read, soakAdversarial))
			if derr != nil {
				t.Fatal(derr)
			}
			want := schemas.EventRowOf(e)
			if row.PageURL != want.PageURL || row.UserAgent != want.UserAgent || row.Name != want.Name || row.Type != want.Type || row.Context != want.Context {
				t.Fatalf("row %d reads back as %q %q %q, want %q %q %q", read, row.PageURL, row.UserAgent, row.Name, want.PageURL, want.UserAgent, want.Name)
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
	if got, want := duckdbDistinct(t, f.path()), fmt.Sprintf("[%d, %d, %d, 2]", n, n, n); got != want {
		t.Errorf("DuckDB counts rows, distinct page URLs, User-Agents and types %s, want %s", got, want)
	}
}

// duckdbDistinct has DuckDB count the rows of the Parquet file path and the distinct
// values of three of its dictionary columns.
func duckdbDistinct(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join("..", "deploy", "local", "duckdb.sh")).Output()
	if err != nil {
		t.Fatalf("deploy/local/duckdb.sh: %v", err)
	}
	script := `
import duckdb, json, sys
print(json.dumps(list(duckdb.sql(f"SELECT count(*), count(DISTINCT page_url), count(DISTINCT user_agent), count(DISTINCT type) FROM read_parquet('{sys.argv[1]}')").fetchone())))
`
	res, err := exec.Command(strings.TrimSpace(string(out)), "-c", script, path).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, res)
	}
	return strings.TrimSpace(string(res))
}
