package processor

import (
	"context"
	"encoding/json"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/processor/protocol"
	"github.com/clicktrail/clicktrail/schemas"
)

// aggID identifies a message of the aggregates topic: a part of a writer's aggregate.
type aggID struct {
	seq         uint64
	part, parts int
}

// repeats reports whether id is at or before last (a writer's parts appear in order).
func (id aggID) repeats(last aggID) bool {
	return id.seq < last.seq || id.seq == last.seq && id.part <= last.part
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
	var a protocol.Aggregate
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
