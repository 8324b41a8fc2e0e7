package processor

import (
	"context"
	"testing"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
)

// dedupProducer acknowledges every message as the broker acknowledges a copy its
// de-duplication dropped: with no position.
type dedupProducer struct {
	pulsar.Producer
	sent []*pulsar.ProducerMessage
}

func (p *dedupProducer) Send(_ context.Context, m *pulsar.ProducerMessage) (pulsar.MessageID, error) {
	p.sent = append(p.sent, m)
	return pulsar.NewMessageID(-1, -1, -1, 0), nil
}

// queueReader hands out the messages it holds, then waits for ctx.
type queueReader struct {
	pulsar.Reader
	msgs []pulsar.Message
}

func (r *queueReader) Next(ctx context.Context) (pulsar.Message, error) {
	if len(r.msgs) == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	m := r.msgs[0]
	r.msgs = r.msgs[1:]
	return m, nil
}

// storedMessage is a message of the session-state topic at its position.
type storedMessage struct {
	fakeMessage
	id pulsar.MessageID
}

func (m storedMessage) ID() pulsar.MessageID { return m.id }

func stored(entry int64, writer, marker string) storedMessage {
	return storedMessage{fakeMessage{props: map[string]string{writerProperty: writer, markerProperty: marker}}, pulsar.NewMessageID(7, entry, -1, 0)}
}

// A marker sent again to a topic's next owner (its first owner died before
// acknowledging it) is acknowledged without a position by de-duplication; sync still
// ends when it reads the marker, stored where the first owner put it.
func TestSyncEndsAtItsMarkerWhateverPositionTheBrokerAcknowledged(t *testing.T) {
	p, _ := testPipeline(t0)
	prod := &dedupProducer{}
	p.state = prod
	// The topic as read: an older marker of this writer, another writer's marker,
	// then the marker sync is about to write (number 2: this run's second).
	p.markers = 1
	p.reader = &queueReader{msgs: []pulsar.Message{
		stored(10, p.writer, "1"),
		stored(11, "other", "2"),
		stored(12, p.writer, "2"),
	}}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	if _, err := p.sync(ctx); err != nil {
		t.Fatalf("sync did not end at its marker: %v", err)
	}
	if len(prod.sent) != 1 || prod.sent[0].Properties[markerProperty] != "2" || prod.sent[0].Properties[writerProperty] != p.writer {
		t.Fatalf("markers written: %v; want one, number 2, of writer %s", prod.sent, p.writer)
	}
	if left := len(p.reader.(*queueReader).msgs); left != 0 {
		t.Errorf("%d messages left unread before the marker", left)
	}
}
