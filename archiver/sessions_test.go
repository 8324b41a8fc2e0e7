package archiver

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/schemas"
)

// One visitor sending 2,500 events an hour apart closes 2,499 sessions whose ended_at
// spans thousands of hours. Filed by ended_at they made a file, an upload and a
// synchronous acknowledgement each; filed by the hour the processor published them
// they make one file per hour of processing.
func TestSessionsAreFiledByTheHourTheyWerePublished(t *testing.T) {
	const n = 2500
	topic := "persistent://acme/web/sessions-partition-3"
	published := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	ended := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	session := func(i int) []byte {
		b, err := json.Marshal(schemas.Session{
			SessionID: "s-" + time.Duration(i).String(), Tenant: "acme", UserKey: "one-visitor",
			StartedAt: ended.Add(time.Duration(i) * time.Hour), EndedAt: ended.Add(time.Duration(i)*time.Hour + time.Second),
			DurationMs: 1000, EventCount: 1, EndReason: "inactivity",
		})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}

	tests := []struct {
		name string
		// spread is how far apart in publish time the first and last session are.
		spread time.Duration
		want   []string
	}{
		{"sessions published within one hour go into one file", 59 * time.Minute, []string{
			"sessions/tenant=acme/dt=2026-11-25/hour=09/sessions-3-4-0-0.parquet",
		}},
		{"sessions published across an hour boundary go into one file per hour", 90 * time.Minute, []string{
			"sessions/tenant=acme/dt=2026-11-25/hour=09/sessions-3-4-0-0.parquet",
			"sessions/tenant=acme/dt=2026-11-25/hour=10/sessions-3-4-1667-0.parquet",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, dir, _ := lakeRoller(t)
			s, ack := &stream{topic: topic, tenant: "acme", table: sessionsTable}, &ackRecorder{}
			for i := range n {
				m := &fakeMessage{
					id: pulsar.NewMessageID(4, int64(i), 0, 3), payload: session(i), topic: topic,
					published: published.Add(tc.spread * time.Duration(i) / n),
				}
				if err := r.add(context.Background(), s, ack, m); err != nil {
					t.Fatal(err)
				}
			}
			if err := r.roll(context.Background(), s, ack); err != nil {
				t.Fatal(err)
			}
			var keys []string
			_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					keys = append(keys, filepath.ToSlash(strings.TrimPrefix(path, dir+string(filepath.Separator))))
				}
				return nil
			})
			if strings.Join(keys, "\n") != strings.Join(tc.want, "\n") {
				t.Fatalf("files %v, want %v", keys, tc.want)
			}
			if len(ack.acked) != len(tc.want) {
				t.Fatalf("%d acknowledgements, want %d", len(ack.acked), len(tc.want))
			}
			rows := readParquetDir[schemas.SessionRow](t, dir)
			if len(rows) != n {
				t.Fatalf("%d rows, want %d", len(rows), n)
			}
			for i, row := range rows {
				if want := ended.Add(time.Duration(i)*time.Hour + time.Second); !row.EndedAt.Equal(want) {
					t.Fatalf("row %d: ended_at %v, want %v (kept as a column)", i, row.EndedAt, want)
				}
			}
		})
	}
}
