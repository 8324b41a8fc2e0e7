package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/schemas"
)

// recoverAfter is how long a counting commit of another writer may go without its
// aggregate on the aggregates topic before this instance publishes it (the writer
// died between the two writes). Repeats are harmless: readers keep the first copy.
const recoverAfter = 5 * time.Second

// orphan is a counting commit of another writer whose aggregate has not been read.
type orphan struct {
	agg   *Aggregate
	since time.Time
}

// aggID identifies a message of the aggregates topic: a part of a writer's aggregate.
type aggID struct {
	seq         uint64
	part, parts int
}

// repeats reports whether id is at or before last (a writer's parts appear in order).
func (id aggID) repeats(last aggID) bool {
	return id.seq < last.seq || id.seq == last.seq && id.part <= last.part
}

// recoverOrphans publishes the aggregates of other writers' counting commits that did
// not appear on the aggregates topic within recoverAfter.
func (p *pipeline) recoverOrphans(ctx context.Context) error {
	if len(p.orphans) == 0 {
		return nil
	}
	var msgs []*pulsar.ProducerMessage
	kept := p.orphans[:0]
	for _, o := range p.orphans {
		switch {
		case p.seenAggregate(o.agg.Writer, o.agg.Seq):
		case p.now().Sub(o.since) < recoverAfter:
			kept = append(kept, o)
		default:
			m, err := aggregateMessages(o.agg)
			if err != nil {
				// The same for every instance and every attempt: skipped, not retried.
				p.m.skipped.WithLabelValues(schemas.TopicAggregates, "unencodable").Inc()
				p.log.Error("aggregate of another writer's commit cannot be encoded, skipped", "err", err, "writer", o.agg.Writer, "seq", o.agg.Seq)
				continue
			}
			msgs = append(msgs, m...)
			p.log.Info("publishing the aggregate of another writer's commit", "writer", o.agg.Writer, "seq", o.agg.Seq, "messages", len(m))
		}
	}
	clear(p.orphans[len(kept):])
	p.orphans = kept
	if err := sendAll(ctx, p.aggregates, msgs); err != nil {
		return fmt.Errorf("publish recovered aggregates: %w", err)
	}
	p.m.aggregates.WithLabelValues("recovered").Add(float64(len(msgs)))
	return nil
}

// tailAggregates merges every aggregate published from now on into the store.
func (p *pipeline) tailAggregates(ctx context.Context) {
	defer p.tailWG.Done()
	for {
		msg, err := p.aggReader.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			p.log.Warn("read aggregates", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		p.takeAggregate(msg)
	}
}

// takeAggregate merges one message of the aggregates topic (an aggregate, or a part
// of one) into the store, unless a copy with its id was merged already (see
// Store.Take). A message that is not an aggregate is skipped (counted and logged),
// never retried; the minutes it brings outside the store's window are dropped
// (counted).
func (p *pipeline) takeAggregate(msg pulsar.Message) {
	var a Aggregate
	if err := json.Unmarshal(msg.Payload(), &a); err != nil {
		p.m.skipped.WithLabelValues(schemas.TopicAggregates, "undecodable").Inc()
		p.log.Warn("undecodable aggregate skipped", "err", err, "message_id", msg.ID().String(), "bytes", len(msg.Payload()))
		p.store.Skip(p.ns, msg.ID().Serialize())
		return
	}
	id := aggID{a.Seq, max(a.Part, 1), max(a.Parts, 1)}
	repeat, dropped := p.store.Take(p.ns, msg.ID().Serialize(), msg.PublishTime(), a.Writer, id, a.Minutes)
	if repeat {
		p.m.aggregates.WithLabelValues("repeated").Inc()
		return
	}
	if dropped > 0 {
		p.m.minutesDropped.Add(float64(dropped))
	}
	p.m.aggregates.WithLabelValues("merged").Inc()
}

// seenAggregate reports whether every part of writer's aggregate seq was read.
func (p *pipeline) seenAggregate(writer string, seq uint64) bool {
	return p.store.Seen(p.ns, writer, seq)
}
