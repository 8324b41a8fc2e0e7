package archiver

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/parquet-go/parquet-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/schemas"
)

func TestEveryStringColumnOfEveryTableIsChecked(t *testing.T) {
	for _, tb := range []*table{eventsTable, invalidTable, sessionsTable} {
		t.Run("the "+tb.name+" table", func(t *testing.T) {
			var want []string
			for _, f := range tb.schema.Fields() {
				if f.Type().Kind() == parquet.ByteArray {
					want = append(want, f.Name())
				}
			}
			got := slices.Clone(tb.text.name)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("checked columns %v, want every string column %v", got, want)
			}
			row := reflect.New(tb.schema.GoType())
			for _, i := range tb.text.index {
				row.Elem().Field(i).SetString("a\xffb\xc3")
			}
			if repaired := tb.text.repair(row.Interface()); len(repaired) != len(want) {
				t.Fatalf("repaired %v, want all of %v", repaired, want)
			}
			for _, i := range tb.text.index {
				if s := row.Elem().Field(i).String(); s != "a\uFFFDb\uFFFD" {
					t.Fatalf("repaired to %q", s)
				}
			}
			if repaired := tb.text.repair(row.Interface()); repaired != nil {
				t.Fatalf("valid strings reported as repaired: %v", repaired)
			}
		})
	}
}

// lakeRoller is a roller whose object store copies each stored file into a folder.
func lakeRoller(t *testing.T) (r *roller, dir string, reg *prometheus.Registry) {
	dir, reg = t.TempDir(), prometheus.NewRegistry()
	cfg := DefaultConfig()
	cfg.TmpDir, cfg.RollAge = t.TempDir(), time.Hour
	store := ObjectStoreFunc(func(_ context.Context, key, path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	now := time.Date(2026, 11, 25, 9, 30, 0, 0, time.UTC)
	return &roller{cfg: &cfg, store: store, now: func() time.Time { return now }, metrics: newMetrics(reg), onStoreError: func(error) {}}, dir, reg
}

// duckdbSelectAll runs SELECT * over every Parquet file under dir with DuckDB, as an
// analyst would, and returns the rows read per file.
func duckdbSelectAll(t *testing.T, dir string) map[string]int {
	t.Helper()
	out, err := exec.Command(filepath.Join("..", "deploy", "local", "duckdb.sh")).Output()
	if err != nil {
		t.Fatalf("deploy/local/duckdb.sh: %v", err)
	}
	// CREATE TABLE AS materialises every column of SELECT * inside DuckDB.
	script := `
import duckdb, glob, json, sys
rows = {}
for i, f in enumerate(glob.glob(sys.argv[1] + "/**/*.parquet", recursive=True)):
    duckdb.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_parquet('{f}')")
    rows[f] = duckdb.sql(f"SELECT count(*) FROM t{i}").fetchone()[0]
print(json.dumps(rows))
`
	res, err := exec.Command(strings.TrimSpace(string(out)), "-c", script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, res)
	}
	rows := map[string]int{}
	if err := json.Unmarshal(res, &rows); err != nil {
		t.Fatalf("duckdb printed %s", res)
	}
	return rows
}

// Invalid UTF-8 in one value made DuckDB refuse every query touching that column of
// the whole file ("Invalid string encoding found in Parquet file").
func TestInvalidUTF8IsRepairedSoDuckDBReadsEveryFile(t *testing.T) {
	r, dir, reg := lakeRoller(t)
	ctx := context.Background()
	events := &stream{topic: "persistent://acme/web/events-partition-0", tenant: "acme", table: eventsTable}
	invalid := &stream{topic: "persistent://acme/web/events-invalid", tenant: "acme", table: invalidTable}
	ack := &ackRecorder{}
	// In the payloads, ~ stands for the byte 0xFF and ^ for a lone 0xC3 (a truncated
	// two-byte sequence): neither is valid UTF-8, both pass json.Valid inside strings.
	invalidBytes := strings.NewReplacer("~", "\xff", "^", "\xc3")
	add := func(s *stream, entry int64, payload string) {
		t.Helper()
		m := &fakeMessage{id: pulsar.NewMessageID(1, entry, 0, 0), payload: []byte(invalidBytes.Replace(payload)), topic: s.topic}
		if err := r.add(ctx, s, ack, m); err != nil {
			t.Fatal(err)
		}
	}
	add(events, 1, `{"type":"track","event":"Buy~","messageId":"m-1","anonymousId":"a^","receivedAt":"2026-11-25T09:10:00Z",`+
		`"properties":{"p":"x~y"},"traits":{"t":"^"},"context":{"page":{"path":"/a~b","url":"https://x.example/a~b"},"userAgent":"UA~"},"tenant":"acme","source":"web"}`)
	add(events, 2, `{"type":"page","messageId":"m-2","anonymousId":"a","receivedAt":"2026-11-25T09:10:01Z","properties":{"ok":"é"},"tenant":"acme","source":"web"}`)
	add(events, 3, "not json ~^ at all")
	add(invalid, 1, `{"reason":"is required","field":"event","receivedAt":"2026-11-25T09:10:00Z","tenant":"acme","source":"web","raw":{"type":"track","x":"~"}}`)
	for _, s := range []*stream{events, invalid} {
		if err := r.roll(ctx, s, ack); err != nil {
			t.Fatal(err)
		}
	}

	rows := duckdbSelectAll(t, dir)
	total := 0
	for f, n := range rows {
		t.Logf("DuckDB SELECT * %s: %d rows", strings.TrimPrefix(f, dir), n)
		total += n
	}
	if len(rows) != 3 || total != 4 {
		t.Fatalf("DuckDB read %v, want 3 files (events, the undecodable message, the rejected event) with 4 rows", rows)
	}

	got := readParquetDir[schemas.EventRow](t, filepath.Join(dir, "events"))
	if len(got) != 2 || got[0].Properties != `{"p":"x`+"\uFFFD"+`y"}` || !json.Valid([]byte(got[0].Context)) || got[1].Properties != `{"ok":"é"}` {
		t.Fatalf("events rows %+v", got)
	}
	for _, row := range got {
		v := reflect.ValueOf(row)
		for i := range v.NumField() {
			if s, ok := v.Field(i).Interface().(string); ok && !utf8.ValidString(s) {
				t.Errorf("column %s holds invalid UTF-8 %q", v.Type().Field(i).Name, s)
			}
		}
	}
	bad := readParquetDir[schemas.InvalidRow](t, filepath.Join(dir, "invalid"))
	if len(bad) != 2 || !utf8.ValidString(bad[0].Raw) || !utf8.ValidString(bad[1].Raw) {
		t.Fatalf("invalid rows %+v", bad)
	}
	if n := counterSum(t, reg, "clicktrail_archiver_utf8_repaired_total"); n < 5 {
		t.Errorf("clicktrail_archiver_utf8_repaired_total = %v, want at least 5 (properties, traits, context, raw twice)", n)
	}
}

// readParquetDir reads the rows of every Parquet file under dir.
func readParquetDir[T any](t *testing.T, dir string) []T {
	t.Helper()
	var rows []T
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		got, err := parquet.ReadFile[T](path)
		rows = append(rows, got...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// counterSum adds up every series of the counter name.
func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
