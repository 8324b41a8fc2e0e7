package processor

import (
	"context"
	"fmt"
	"strconv"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/schemas"
)

// markerProperty marks a session-state message that is no commit: an instance writes
// one and reads up to it to be sure it holds every commit sent before (see sync).
const markerProperty = "marker"

// catchUp reads the session-state topic to its end.
func (p *pipeline) catchUp(ctx context.Context) error {
	for p.reader.HasNext() {
		msg, err := p.reader.Next(ctx)
		if err != nil {
			return fmt.Errorf("read session state: %w", err)
		}
		if err := p.take(ctx, msg); err != nil {
			return err
		}
	}
	p.m.openSessions.WithLabelValues(p.ns).Set(float64(p.z.Open()))
	return nil
}

// before makes sure the state of every key of batch is known before it is handled.
// For keys this instance processed last, reading to the end of the session-state topic
// is enough. A key that comes from another instance may have a commit on its way: its
// previous owner sent it and died before the broker stored it, while the broker
// already handed the key's unacknowledged events here. The end of the topic does not
// include it yet, so this instance writes a marker and reads up to it: the broker
// appends messages to a topic in the order it receives them, and it received that
// commit before it noticed the death that moved the events here, so the commit lies
// before the marker. (Were it missed anyway, the commit this instance writes for the
// key would not count, and it would start over: see Sessionizer.Evaluate.)
//
// First, the shards of the batch's keys that this instance does not hold yet are
// loaded (see load).
func (p *pipeline) before(ctx context.Context, batch []pulsar.ConsumerMessage) error {
	var missing [stateShards]bool
	need := false
	now := p.now()
	for _, msg := range batch {
		s := shardOf(msg.Key())
		p.lastEvent[s] = now
		if !p.served[s] {
			missing[s], need = true, true
		}
	}
	if need {
		return p.load(ctx, &missing)
	}
	for _, msg := range batch {
		if !p.z.Owns(msg.Key()) {
			_, err := p.sync(ctx)
			return err
		}
	}
	return p.catchUp(ctx)
}

// sync writes a marker to the session-state topic and reads every commit up to it.
// The marker is known by its writer and number, not by the position the broker
// acknowledged: when the broker that stored it dies before acknowledging, the producer
// sends it again to the topic's next owner, whose de-duplication acknowledges the
// copy it drops with no position (-1:-1), and waiting for that position stopped the
// processor for good (the fault suite's cluster profile, a SIGKILLed broker). It
// returns the marker's number.
func (p *pipeline) sync(ctx context.Context) (string, error) {
	p.markers++
	marker := strconv.FormatUint(p.markers, 10)
	if _, err := p.state.Send(ctx, &pulsar.ProducerMessage{Properties: map[string]string{writerProperty: p.writer, markerProperty: marker}}); err != nil {
		return "", fmt.Errorf("write a marker to session state: %w", err)
	}
	p.m.commits.WithLabelValues("marker").Inc()
	for {
		msg, err := p.reader.Next(ctx)
		if err != nil {
			return "", fmt.Errorf("read session state: %w", err)
		}
		if err := p.take(ctx, msg); err != nil {
			return "", err
		}
		if p.isMarker(msg, marker) {
			break
		}
	}
	p.m.openSessions.WithLabelValues(p.ns).Set(float64(p.z.Open()))
	return marker, nil
}

// isMarker reports whether msg is this run's marker number marker.
func (p *pipeline) isMarker(msg pulsar.Message, marker string) bool {
	props := msg.Properties()
	return props[writerProperty] == p.writer && props[markerProperty] == marker
}

// take evaluates one message of the session-state topic: other writers' counting
// commits replace what is held for their keys (and, until their aggregate is read, are
// kept for recovery); this instance's own commits are matched with what it wrote.
func (p *pipeline) take(ctx context.Context, msg pulsar.Message) error {
	props := msg.Properties()
	p.lastRead = msg.ID()
	if props[markerProperty] != "" {
		return nil
	}
	seq, _ := strconv.ParseUint(props[seqProperty], 10, 64)
	c := p.own[seq]
	if props[writerProperty] != p.writer || c == nil {
		shard, err := strconv.Atoi(props[shardProperty])
		if err != nil || shard < 0 || shard >= stateShards {
			p.m.skipped.WithLabelValues(schemas.TopicSessionState, "unsharded").Inc()
			p.log.Warn("commit without a shard skipped (written by an older version)", "message_id", msg.ID().String(), "writer", props[writerProperty])
			return nil
		}
		if !p.served[shard] {
			return nil // another instance's keys
		}
		if c, err = decodeCommit(msg.Payload(), p.z.intern); err != nil {
			p.m.skipped.WithLabelValues(schemas.TopicSessionState, "undecodable").Inc()
			p.log.Warn("undecodable commit skipped", "err", err, "message_id", msg.ID().String(), "bytes", len(msg.Payload()))
			return nil
		}
	}
	own := c.Writer == p.writer && p.flight != nil
	if own {
		delete(p.own, c.Seq)
	}
	p.m.commits.WithLabelValues("read").Inc()
	p.m.stateRecords.WithLabelValues("read").Add(float64(len(c.Records)))
	agg, ok := p.z.Evaluate(c)
	switch {
	case !ok && own:
		p.overrun = true
	case !ok:
		p.m.commits.WithLabelValues("overtaken").Inc()
		p.log.Warn("commit overtaken by another writer's, not counted", "writer", c.Writer, "seq", c.Seq)
	case own:
		p.flight.aggs = append(p.flight.aggs, agg)
	case !p.seenAggregate(c.Writer, c.Seq):
		p.orphans = append(p.orphans, orphan{agg, p.now()})
	}
	if own {
		if p.flight.waiting--; p.flight.waiting == 0 {
			return p.landed(ctx)
		}
	}
	return nil
}
