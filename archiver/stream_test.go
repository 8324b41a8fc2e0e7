package archiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/clicktrail/clicktrail/schemas"
)

// fakeMessage is the part of a pulsar.Message the archiver reads.
type fakeMessage struct {
	pulsar.Message
	id        pulsar.MessageID
	payload   []byte
	topic     string
	published time.Time // zero: 2026-11-25 09:00 UTC
}

func (m *fakeMessage) ID() pulsar.MessageID { return m.id }
func (m *fakeMessage) Payload() []byte      { return m.payload }
func (m *fakeMessage) Topic() string        { return m.topic }
func (m *fakeMessage) Key() string          { return "" }
func (m *fakeMessage) PublishTime() time.Time {
	if m.published.IsZero() {
		return time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	}
	return m.published
}
func (m *fakeMessage) Properties() map[string]string { return nil }
func (m *fakeMessage) String() string                { return m.id.String() }

type ackRecorder struct{ acked []pulsar.MessageID }

func (a *ackRecorder) AckCumulative(m pulsar.Message) error {
	a.acked = append(a.acked, m.ID())
	return nil
}

type upload struct{ key string }

func eventAt(t *testing.T, id string, at time.Time) []byte {
	b, err := json.Marshal(schemas.Event{Type: "page", AnonymousID: "a", MessageID: id, ReceivedAt: schemas.NewTime(at)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newTestRoller(t *testing.T, now *time.Time, rollSize int64) (*roller, *[]upload) {
	var uploads []upload
	cfg := DefaultConfig()
	cfg.TmpDir, cfg.RollSize, cfg.RollAge = t.TempDir(), rollSize, time.Minute
	return &roller{
		cfg: &cfg, now: func() time.Time { return *now }, metrics: newMetrics(prometheus.NewRegistry()),
		store:        ObjectStoreFunc(func(_ context.Context, key, _ string) error { uploads = append(uploads, upload{key}); return nil }),
		onStoreError: func(error) {},
	}, &uploads
}

func TestRollerClosesFilesOnAgeHourAndSize(t *testing.T) {
	base := time.Date(2026, 11, 25, 10, 59, 0, 0, time.UTC)
	topic := "persistent://acme/web/events-partition-2"
	msg := func(entry int64, id string, at time.Time) *fakeMessage {
		return &fakeMessage{id: pulsar.NewMessageID(7, entry, 0, 2), payload: eventAt(t, id, at), topic: topic}
	}

	t.Run("a file older than the roll age is stored and acknowledged", func(t *testing.T) {
		now := base
		r, uploads := newTestRoller(t, &now, 1<<30)
		s, ack := &stream{topic: topic, tenant: "acme", table: eventsTable}, &ackRecorder{}
		for i := range 3 {
			if err := r.add(context.Background(), s, ack, msg(int64(i), "m"+string(rune('a'+i)), base)); err != nil {
				t.Fatal(err)
			}
		}
		if r.due(s) {
			t.Fatal("due right after opening")
		}
		now = now.Add(time.Minute)
		if !r.due(s) {
			t.Fatal("not due after the roll age")
		}
		if err := r.roll(context.Background(), s, ack); err != nil {
			t.Fatal(err)
		}
		if len(*uploads) != 1 || (*uploads)[0].key != "events/tenant=acme/dt=2026-11-25/hour=10/events-2-7-0-0.parquet" {
			t.Fatalf("uploads %v", *uploads)
		}
		if len(ack.acked) != 1 || ack.acked[0].EntryID() != 2 {
			t.Fatalf("acked %v, want the file's last message (entry 2)", ack.acked)
		}
	})

	t.Run("an event of the next hour closes the file first", func(t *testing.T) {
		now := base
		r, uploads := newTestRoller(t, &now, 1<<30)
		s, ack := &stream{topic: topic, tenant: "acme", table: eventsTable}, &ackRecorder{}
		_ = r.add(context.Background(), s, ack, msg(10, "x1", base))
		_ = r.add(context.Background(), s, ack, msg(11, "x2", base.Add(2*time.Minute)))
		if len(*uploads) != 1 || len(ack.acked) != 1 || ack.acked[0].EntryID() != 10 {
			t.Fatalf("uploads %v acked %v: want the hour-10 file stored and acked up to entry 10", *uploads, ack.acked)
		}
		if s.first.EntryID() != 11 || s.hour.Hour() != 11 {
			t.Fatalf("open file starts at %v hour %d, want entry 11 hour 11", s.first, s.hour.Hour())
		}
	})

	t.Run("a file whose rows in memory reach the roll size is stored before any row group is on disk", func(t *testing.T) {
		now := base
		r, uploads := newTestRoller(t, &now, 1<<20)
		s, ack := &stream{topic: topic, tenant: "acme", table: eventsTable}, &ackRecorder{}
		rng := rand.New(rand.NewPCG(3, 4))
		rows := 0
		for i := range 200 { // 6 MB of 30 KB events
			m := &fakeMessage{id: pulsar.NewMessageID(7, int64(i), 0, 2), payload: bigEvent(rng, i, 30<<10), topic: topic}
			if err := r.add(context.Background(), s, ack, m); err != nil {
				t.Fatal(err)
			}
			rows++
			if len(*uploads) > 0 {
				break
			}
		}
		if len(*uploads) != 1 || rows > 50 {
			t.Fatalf("%d files stored after %d rows of 30 KB, want one file of at most 50 rows (1 MiB)", len(*uploads), rows)
		}
	})

	t.Run("a repeated messageId within the window is dropped", func(t *testing.T) {
		now := base
		r, _ := newTestRoller(t, &now, 1<<30)
		s, ack := &stream{topic: topic, tenant: "acme", table: eventsTable}, &ackRecorder{}
		received := base.Truncate(time.Hour)
		_ = r.add(context.Background(), s, ack, msg(1, "same", received))
		_ = r.add(context.Background(), s, ack, msg(2, "same", received.Add(time.Second)))
		if s.main.rows != 1 {
			t.Fatalf("%d rows, want 1", s.main.rows)
		}
		_ = r.add(context.Background(), s, ack, msg(3, "same", received.Add(r.cfg.DedupWindow+time.Second)))
		if s.main.rows != 2 {
			t.Fatalf("%d rows for a repeat received after the window, want 2", s.main.rows)
		}
	})
}

// A broker that restarts can lose an acknowledgement and deliver a stored file's
// messages again. Rebuilding a file from them would give it the stored file's name
// while de-duplication drops the rows the stored file holds: the new file would
// overwrite the stored one without them.
func TestMessagesRedeliveredAfterTheirFileWasStoredAreSkipped(t *testing.T) {
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	topic := "persistent://acme/web/events-partition-1"
	msg := func(ledger, entry int64, id string) *fakeMessage {
		return &fakeMessage{id: pulsar.NewMessageID(ledger, entry, 0, 1), payload: eventAt(t, id, base), topic: topic}
	}
	now := base
	r, uploads := newTestRoller(t, &now, 1<<30)
	s, ack := &stream{topic: topic, tenant: "acme", table: eventsTable}, &ackRecorder{}
	add := func(m *fakeMessage) {
		t.Helper()
		if err := r.add(context.Background(), s, ack, m); err != nil {
			t.Fatal(err)
		}
	}
	add(msg(5, 253, "a"))
	add(msg(5, 254, "b"))
	if err := r.roll(context.Background(), s, ack); err != nil {
		t.Fatal(err)
	}
	// The acknowledgement is lost: both come again, then a new message.
	add(msg(5, 253, "a"))
	add(msg(5, 254, "b"))
	if s.open() {
		t.Fatal("a redelivered message opened a file")
	}
	if err := r.tick(context.Background(), s, ack); err != nil {
		t.Fatal(err)
	}
	if got := ack.acked[len(ack.acked)-1]; got.EntryID() != 254 {
		t.Fatalf("last acknowledged %v, want the skipped entry 254 acknowledged again", got)
	}
	add(msg(37, 0, "c"))
	if s.main == nil || s.main.rows != 1 {
		t.Fatalf("the new message was not written")
	}
	if err := r.roll(context.Background(), s, ack); err != nil {
		t.Fatal(err)
	}
	keys := []string{(*uploads)[0].key, (*uploads)[1].key}
	want := []string{
		"events/tenant=acme/dt=2026-11-25/hour=10/events-1-5-253-0.parquet",
		"events/tenant=acme/dt=2026-11-25/hour=10/events-1-37-0-0.parquet",
	}
	if len(*uploads) != 2 || keys[0] != want[0] || keys[1] != want[1] {
		t.Fatalf("uploads %v, want %v", *uploads, want)
	}
	var m dto.Metric
	if err := r.metrics.redelivered.WithLabelValues("events").Write(&m); err != nil || m.GetCounter().GetValue() != 2 {
		t.Fatalf("redelivered metric %v (%v), want 2", m.GetCounter().GetValue(), err)
	}
}

func TestObjectKeys(t *testing.T) {
	hour := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	tests := []struct{ name, topic, want string }{
		{"a partition", "persistent://acme/web/events-partition-11", "p/events/tenant=acme/dt=2026-01-02/hour=03/events-11-5-6-0.parquet"},
		{"a topic without partitions", "persistent://acme/web/events-invalid", "p/events/tenant=acme/dt=2026-01-02/hour=03/events-invalid-0-5-6-0.parquet"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := objectKey("p/", "events", "acme", hour, tc.topic, pulsar.NewMessageID(5, 6, -1, 0)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// A message that is not a stored event, however large, goes to the invalid table with
// its reason; the messages after it are archived and everything is acknowledged.
func TestUndecodableAndHugeMessagesGoToTheInvalidTableWithoutBlockingThePartition(t *testing.T) {
	topic := "persistent://acme/web/events-partition-0"
	at := time.Date(2026, 11, 25, 9, 15, 0, 0, time.UTC)
	payloads := [][]byte{
		eventAt(t, "before", at),
		[]byte("not json at all"),
		bytes.Repeat([]byte{0xff, 'x', '{'}, 4<<20/3), // 4 MiB of binary
		append([]byte(`{"type":"page","messageId":"cut","properties":{"s":"`), bytes.Repeat([]byte("y"), 4<<20)...), // truncated
		[]byte(`[` + strings.Repeat(`{"a":1},`, 100_000) + `{}]`),                                                   // valid JSON, not an event
		eventAt(t, "after", at),
	}
	r, dir, _ := lakeRoller(t)
	s, ack := &stream{topic: topic, tenant: "acme", table: eventsTable}, &ackRecorder{}
	for i, p := range payloads {
		if err := r.add(context.Background(), s, ack, &fakeMessage{id: pulsar.NewMessageID(9, int64(i), 0, 0), payload: p, topic: topic}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := r.roll(context.Background(), s, ack); err != nil {
		t.Fatal(err)
	}
	events := readParquetDir[schemas.EventRow](t, filepath.Join(dir, "events"))
	if len(events) != 2 || events[0].MessageID != "before" || events[1].MessageID != "after" {
		t.Fatalf("events %d rows, want the two good ones", len(events))
	}
	invalid := readParquetDir[schemas.InvalidRow](t, filepath.Join(dir, "invalid"))
	if len(invalid) != 4 {
		t.Fatalf("invalid table %d rows, want 4", len(invalid))
	}
	for i, row := range invalid {
		if !strings.HasPrefix(row.Reason, "undecodable event") || len(row.Raw) < len("not json at all") {
			t.Errorf("invalid row %d: reason %q, raw %d bytes", i, row.Reason, len(row.Raw))
		}
	}
	if len(ack.acked) != 1 || ack.acked[0].EntryID() != int64(len(payloads)-1) {
		t.Fatalf("acknowledged %v, want once up to the last message", ack.acked)
	}
}

// flakyAcker fails its first failures acknowledgements, as a consumer does while it
// reconnects to the broker that took its partition over, then records them.
type flakyAcker struct {
	ackRecorder
	failures, calls int
}

func (a *flakyAcker) AckCumulative(m pulsar.Message) error {
	a.calls++
	if a.calls <= a.failures {
		return errors.New("connection closed")
	}
	return a.ackRecorder.AckCumulative(m)
}

// A stored file whose acknowledgement fails while the consumer reconnects is
// acknowledged once the consumer is back, and archiving goes on; only the end of the
// run (ctx) gives up on it.
func TestAcknowledgementIsRetriedWhileTheConsumerReconnects(t *testing.T) {
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	topic := "persistent://acme/web/events-partition-0"
	msg := func(entry int64) *fakeMessage {
		return &fakeMessage{id: pulsar.NewMessageID(3, entry, 0, 0), payload: eventAt(t, fmt.Sprint("m", entry), base), topic: topic}
	}
	now := base
	r, uploads := newTestRoller(t, &now, 1<<30)
	s, ack := &stream{topic: topic, tenant: "acme", table: eventsTable}, &flakyAcker{failures: 3}
	for i := range 2 {
		if err := r.add(context.Background(), s, ack, msg(int64(i))); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Minute)
	if err := r.tick(context.Background(), s, ack); err != nil {
		t.Fatalf("tick with an acknowledgement failing 3 times: %v", err)
	}
	if len(*uploads) != 1 || len(ack.acked) != 1 || ack.acked[0].EntryID() != 1 || ack.calls != 4 {
		t.Fatalf("uploads %v, acked %v after %d calls: want one file, acknowledged up to entry 1 on the 4th call", *uploads, ack.acked, ack.calls)
	}
	if err := r.add(context.Background(), s, ack, msg(2)); err != nil || s.first.EntryID() != 2 {
		t.Fatalf("the next message after the acknowledgement: err %v, open file starts at %v; want a new file at entry 2", err, s.first)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	down := &flakyAcker{failures: 1 << 30}
	now = now.Add(time.Minute)
	if err := r.roll(ctx, s, down); err == nil || len(down.acked) != 0 {
		t.Fatalf("roll with the consumer never back: err %v, acked %v; want the acknowledgement's error once ctx ended", err, down.acked)
	}
}
