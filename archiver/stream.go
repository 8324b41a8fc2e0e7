package archiver

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/internal/retry"
	"github.com/clicktrail/clicktrail/schemas"
)

// Acker acknowledges, cumulatively, every message of a partition up to msg.
type Acker interface {
	AckCumulative(msg pulsar.Message) error
}

// stream is the open file of one topic partition: its rows, the message it starts at
// (which names it), the last message (acknowledged cumulatively once the file is
// stored), its hour and its age. One goroutine owns a stream.
type stream struct {
	topic  string
	tenant string
	table  *table

	main, bad *file // rows, and messages that could not be decoded (invalid table)
	first     pulsar.MessageID
	last      pulsar.Message
	hour      time.Time
	opened    time.Time
	dedup     *dedup
	// stored is the last message of the last file this process stored and acknowledged
	// on this partition. A message at or before it is a redelivery of a stored one (the
	// broker lost the acknowledgement, for instance when it restarted): it is skipped,
	// never written again, or a file beginning with it would be named like the stored
	// one and overwrite it without the rows de-duplication drops.
	stored pulsar.MessageID
	// skipped is the last redelivered message skipped while no file was open, to be
	// acknowledged again (see roller.tick).
	skipped pulsar.Message
}

func (s *stream) open() bool { return s.last != nil }

// size is the estimated size of s's open files, the row groups held in memory included.
func (s *stream) size() int64 {
	var n int64
	for _, f := range []*file{s.main, s.bad} {
		if f != nil {
			n += f.size()
		}
	}
	return n
}

// roller decides when files close and stores them. Its clock is injected.
type roller struct {
	cfg     *Config
	store   ObjectStore
	now     func() time.Time
	metrics *metrics
	// onStoreError is told about failed uploads (readiness off) and successes (nil).
	onStoreError func(error)
}

// add puts msg into s's file, closing and storing the file first when msg belongs to
// another hour, and afterwards when the file reached the roll size (counting the row
// group still in memory, so a file of large rows rolls on time).
func (r *roller) add(ctx context.Context, s *stream, ack Acker, msg pulsar.Message) error {
	if s.stored != nil && !pulsarx.After(msg.ID(), s.stored) {
		r.metrics.redelivered.WithLabelValues(s.table.name).Inc()
		if !s.open() {
			s.skipped = msg
		}
		return nil
	}
	row, at, id, derr := s.table.decode(msg.Payload())
	if derr != nil || at.IsZero() {
		at = msg.PublishTime()
	}
	hour := at.UTC().Truncate(time.Hour)
	if s.open() && !hour.Equal(s.hour) {
		if err := r.roll(ctx, s, ack); err != nil {
			return err
		}
	}
	if !s.open() {
		s.first, s.hour, s.opened = msg.ID(), hour, r.now()
	}
	s.last = msg
	switch {
	case derr != nil:
		if s.bad == nil {
			f, err := newFile(r.cfg.TmpDir, invalidTable)
			if err != nil {
				return err
			}
			s.bad = f
		}
		payload := msg.Payload()
		row := schemas.InvalidRow{ReceivedAt: msg.PublishTime().UTC(), Tenant: s.tenant, Reason: derr.Error(), Raw: string(payload), MessageID: msg.Properties()["message_id"], UserKey: msg.Key()}
		r.repairUTF8(invalidTable, &row)
		if err := s.bad.write(&row); err != nil {
			return err
		}
		r.metrics.undecodable.WithLabelValues(s.table.name).Inc()
	case id != "" && r.duplicate(s, id, at):
		r.metrics.duplicates.WithLabelValues(s.table.name).Inc()
	default:
		if s.main == nil {
			f, err := newFile(r.cfg.TmpDir, s.table)
			if err != nil {
				return err
			}
			s.main = f
		}
		r.repairUTF8(s.table, row)
		if err := s.main.write(row); err != nil {
			return err
		}
		r.metrics.rows.WithLabelValues(s.table.name).Inc()
	}
	if s.size() >= r.cfg.RollSize {
		return r.roll(ctx, s, ack)
	}
	return nil
}

// repairUTF8 makes every string of row valid UTF-8 and counts the columns repaired.
func (r *roller) repairUTF8(t *table, row any) {
	for _, column := range t.text.repair(row) {
		r.metrics.utf8Repaired.WithLabelValues(t.name, column).Inc()
	}
}

// duplicate reports whether s delivered id within the window around at, and remembers it.
func (r *roller) duplicate(s *stream, id string, at time.Time) bool {
	if s.dedup == nil {
		s.dedup = newDedup(r.cfg.DedupWindow)
	}
	return s.dedup.repeated(id, at)
}

// due reports whether s's file is older than the roll age.
func (r *roller) due(s *stream) bool {
	return s.open() && r.now().Sub(s.opened) >= r.cfg.RollAge
}

// tick rolls s's file when it is due, and otherwise acknowledges again the redelivered
// messages skipped while no file was open (an open file's acknowledgement covers them).
func (r *roller) tick(ctx context.Context, s *stream, ack Acker) error {
	if r.due(s) {
		return r.roll(ctx, s, ack)
	}
	return r.ackSkipped(ctx, s, ack)
}

// ackSkipped acknowledges again the redelivered messages skipped while no file was open.
func (r *roller) ackSkipped(ctx context.Context, s *stream, ack Acker) error {
	if s.skipped == nil || s.open() {
		return nil
	}
	if err := acknowledge(ctx, ack, s.skipped); err != nil {
		return fmt.Errorf("acknowledge up to %v on %s again: %w", s.skipped.ID(), s.topic, err)
	}
	s.skipped = nil
	return nil
}

// roll closes s's files, stores them (retrying until ctx ends), and only then
// acknowledges every message up to the file's last, cumulatively. If the process dies
// before the acknowledgement, delivery restarts at the file's first message, the file
// is rebuilt under the same name and overwrites the stored one: no loss, no copy.
func (r *roller) roll(ctx context.Context, s *stream, ack Acker) error {
	if !s.open() {
		return nil
	}
	files := []struct {
		f     *file
		table string
	}{{s.main, s.table.name}, {s.bad, invalidTable.name}}
	for _, it := range files {
		if it.f == nil {
			continue
		}
		if err := it.f.finish(); err != nil {
			return err
		}
		key := objectKey(r.cfg.KeyPrefix, it.table, s.tenant, s.hour, s.topic, s.first)
		if err := r.upload(ctx, key, it.f); err != nil {
			return err
		}
	}
	if err := acknowledge(ctx, ack, s.last); err != nil {
		return fmt.Errorf("acknowledge up to %v on %s: %w", s.last.ID(), s.topic, err)
	}
	for _, it := range files {
		if it.f != nil {
			it.f.discard()
		}
	}
	if s.dedup != nil {
		r.metrics.dedupIDs.WithLabelValues(s.topic).Set(float64(s.dedup.size()))
	}
	s.stored, s.skipped = s.last.ID(), nil
	s.main, s.bad, s.last, s.first = nil, nil, nil, nil
	return nil
}

// acknowledge acknowledges every message up to msg, retrying until ctx ends. An
// acknowledgement fails while the consumer reconnects (its broker died, or its topic
// moved to another broker); once it is connected again the same acknowledgement
// succeeds. Returning the error instead stopped the subscription's consumer for good
// while the archiver still answered ready (the fault suite's cluster profile, a
// SIGKILLed broker: two partitions of events were never archived again).
func acknowledge(ctx context.Context, ack Acker, msg pulsar.Message) error {
	return retry.Do(ctx, retry.Backoff{First: 100 * time.Millisecond, Max: 2 * time.Second}, func() error { return ack.AckCumulative(msg) }, nil)
}

// upload stores f as key, retrying with backoff while the object store fails.
func (r *roller) upload(ctx context.Context, key string, f *file) error {
	var size int64
	if st, err := os.Stat(f.path()); err == nil {
		size = st.Size()
	}
	return retry.Do(ctx, retry.Backoff{First: 500 * time.Millisecond, Max: 30 * time.Second}, func() error {
		start := time.Now()
		if err := r.store.PutFile(ctx, key, f.path()); err != nil {
			r.metrics.uploadErrors.Inc()
			r.onStoreError(err)
			return err
		}
		r.metrics.uploadSeconds.Observe(time.Since(start).Seconds())
		r.metrics.files.Inc()
		r.metrics.bytes.Add(float64(size))
		r.onStoreError(nil)
		return nil
	}, nil)
}
