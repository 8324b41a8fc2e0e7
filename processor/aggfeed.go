package processor

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
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

func aggregateMessage(a *Aggregate) (*pulsar.ProducerMessage, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encode aggregate %s/%d: %w", a.Writer, a.Seq, err)
	}
	return &pulsar.ProducerMessage{
		Key: a.Writer, Payload: b,
		Properties: map[string]string{writerProperty: a.Writer, seqProperty: strconv.FormatUint(a.Seq, 10)},
	}, nil
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
			msg, err := aggregateMessage(o.agg)
			if err != nil {
				return err
			}
			msgs = append(msgs, msg)
			p.log.Info("publishing the aggregate of another writer's commit", "writer", o.agg.Writer, "seq", o.agg.Seq)
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

// takeAggregate merges one aggregate into the store, unless a copy with its id was
// merged already. A writer's aggregates appear in the order of their sequence numbers
// (its own are published in order; a recovering instance publishes what it misses in
// order, after what it has seen), so an id at or below the highest seen is a repeat.
func (p *pipeline) takeAggregate(msg pulsar.Message) {
	var a Aggregate
	if err := json.Unmarshal(msg.Payload(), &a); err != nil {
		p.log.Warn("undecodable aggregate skipped", "err", err, "message_id", msg.ID().String())
		return
	}
	p.seenMu.Lock()
	repeat := a.Seq <= p.seen[a.Writer]
	if !repeat {
		p.seen[a.Writer] = a.Seq
	}
	p.seenMu.Unlock()
	if repeat {
		p.m.aggregates.WithLabelValues("repeated").Inc()
		return
	}
	p.store.Add(a.Minutes)
	p.m.aggregates.WithLabelValues("merged").Inc()
}

func (p *pipeline) seenAggregate(writer string, seq uint64) bool {
	p.seenMu.Lock()
	defer p.seenMu.Unlock()
	return seq <= p.seen[writer]
}
