package processor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/schemas"
)

// errConflict: a commit of this instance did not count (see Sessionizer.Evaluate).
var errConflict = errors.New("a commit of this instance was overtaken by another writer's; restarting from the committed state")

// flight is a checkpoint whose commits are written and not all read back yet.
type flight struct {
	waiting int                // commits not read back yet
	aggs    []*Aggregate       // of the commits read back
	acks    []pulsar.MessageID // the events it holds, acknowledged once its aggregates are out
	start   time.Time
}

// checkpoint writes what changed since the last one, without waiting for it to be
// read back: it publishes the closed sessions and flushes them, then sends the
// commits of the changed keys. The loop reads the commits back (catchUp; they count
// unless another writer's commit overtook one), then publishes their aggregates, and
// once those are flushed the events they hold are acknowledged. One checkpoint is in
// flight at a time: the next waits until the previous one is read back, so its
// commits start from the committed positions.
func (p *pipeline) checkpoint(ctx context.Context) error {
	if err := p.land(ctx); err != nil {
		return err
	}
	start := p.now()
	cp := p.z.Checkpoint()
	if c := p.z.TakeCounters(); c != (Counters{}) {
		p.m.valuesCapped.Add(float64(c.ValuesCapped))
		p.m.refused.Add(float64(c.Refused))
		if c.Refused > 0 {
			p.log.Error("events left out of the aggregates: their key's record did not fit a commit", "events", c.Refused)
		}
	}
	if len(cp.Commits) == 0 && len(cp.Closed) == 0 && len(p.pending) == 0 {
		return nil
	}
	sessions := make([]*pulsar.ProducerMessage, 0, len(cp.Closed))
	for i := range cp.Closed {
		s := &cp.Closed[i]
		b, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("encode session %s: %w", s.SessionID, err)
		}
		sessions = append(sessions, &pulsar.ProducerMessage{Key: s.UserKey, Payload: b, EventTime: s.EndedAt})
		p.m.sessionsClosed.WithLabelValues(s.EndReason).Inc()
	}
	commits := make([]*pulsar.ProducerMessage, 0, len(cp.Commits))
	records := 0
	for _, c := range cp.Commits {
		var err error
		if p.buf, err = appendCommit(p.buf[:0], c); err != nil {
			return fmt.Errorf("encode commit %d: %w", c.Seq, err)
		}
		p.m.commitBytes.Observe(float64(len(p.buf)))
		commits = append(commits, &pulsar.ProducerMessage{
			Payload:    append([]byte(nil), p.buf...),
			Properties: map[string]string{writerProperty: p.writer, seqProperty: strconv.FormatUint(c.Seq, 10), shardProperty: strconv.Itoa(c.Shard)},
		})
		records += len(c.Records)
	}
	// A session is published before the commit that closes it: a crash in between
	// publishes it again (same sessionId), never loses it.
	if err := sendAll(ctx, p.sessions, sessions); err != nil {
		return fmt.Errorf("publish closed sessions: %w", err)
	}
	f := &flight{waiting: len(cp.Commits), acks: p.pending, start: start}
	p.pending = nil
	if f.waiting == 0 {
		// Nothing to commit (replays, undecodable events): nothing to wait for.
		return p.acknowledge(f.acks)
	}
	p.flight = f
	sendCtx := context.WithoutCancel(ctx) // the loop reads them back, the shutdown too
	for i, c := range cp.Commits {
		p.own[c.Seq] = c
		p.state.SendAsync(sendCtx, commits[i], func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				p.fail(fmt.Errorf("publish session state: %w", err))
				return
			}
			select {
			case p.written <- struct{}{}:
			default:
			}
		})
	}
	p.m.commits.WithLabelValues("written").Add(float64(len(commits)))
	p.m.stateRecords.WithLabelValues("written").Add(float64(records))
	return nil
}

// land waits until the checkpoint in flight, if any, is read back.
func (p *pipeline) land(ctx context.Context) error {
	for p.flight != nil {
		if err := p.catchUp(ctx); err != nil {
			return err
		}
		if p.flight == nil {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-p.asyncErr:
			return err
		case <-p.written:
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// landed is called when the last commit of the checkpoint in flight is read back: it
// publishes the commits' aggregates, and acknowledges the events once they are out.
func (p *pipeline) landed(ctx context.Context) error {
	f := p.flight
	p.flight = nil
	if p.overrun {
		p.m.commits.WithLabelValues("overtaken").Inc()
		return errConflict
	}
	msgs := make([]*pulsar.ProducerMessage, 0, len(f.aggs))
	for _, a := range f.aggs {
		m, err := aggregateMessages(a)
		if err != nil {
			// Cannot happen (see splitAggregate); were it to, retrying would not help.
			p.m.skipped.WithLabelValues(schemas.TopicAggregates, "unencodable").Inc()
			p.log.Error("aggregate of a commit cannot be encoded, skipped", "err", err, "writer", a.Writer, "seq", a.Seq)
			continue
		}
		msgs = append(msgs, m...)
	}
	if len(msgs) == 0 {
		return p.acknowledge(f.acks)
	}
	// The sends run on after ctx ends (a shutdown waits for them within its grace).
	ctx = context.WithoutCancel(ctx)
	p.acking.Add(1)
	var left atomic.Int32
	left.Store(int32(len(msgs)))
	for _, msg := range msgs {
		p.aggregates.SendAsync(ctx, msg, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				p.fail(fmt.Errorf("publish aggregates: %w", err))
				if left.Add(-1) == 0 {
					p.acking.Done()
				}
				return
			}
			p.m.aggregates.WithLabelValues("published").Inc()
			if left.Add(-1) == 0 {
				if err := p.acknowledge(f.acks); err != nil {
					p.fail(err)
				}
				p.m.checkpoint.Observe(p.now().Sub(f.start).Seconds())
				p.acking.Done()
			}
		})
	}
	return nil
}

func (p *pipeline) acknowledge(ids []pulsar.MessageID) error {
	if len(ids) == 0 {
		return nil
	}
	if err := p.consumer.AckIDList(ids); err != nil {
		return fmt.Errorf("acknowledge %d events: %w", len(ids), err)
	}
	p.m.acked.Add(float64(len(ids)))
	return nil
}

// fail passes an error of a send or acknowledgement that runs on to the loop.
func (p *pipeline) fail(err error) {
	select {
	case p.asyncErr <- err:
	default:
	}
}

// sendAll publishes msgs and waits until the broker has them all.
func sendAll(ctx context.Context, prod pulsar.Producer, msgs []*pulsar.ProducerMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	var (
		mu    sync.Mutex
		first error
	)
	for _, msg := range msgs {
		prod.SendAsync(ctx, msg, func(_ pulsar.MessageID, _ *pulsar.ProducerMessage, err error) {
			if err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	if err := prod.FlushWithCtx(ctx); err != nil {
		return fmt.Errorf("flush %s: %w", prod.Topic(), err)
	}
	mu.Lock()
	defer mu.Unlock()
	return first
}
