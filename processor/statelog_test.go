package processor

import (
	"testing"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/processor/protocol"
)

// storedMessage is a message of the session-state topic at its position.
type storedMessage struct {
	fakeMessage
	id pulsar.MessageID
}

func (m storedMessage) ID() pulsar.MessageID { return m.id }

// Entries of the session-state log travel as messages whose properties name the
// writer, the commit's number and shard, or the marker's number; a commit of an older
// version (no shard) reads back with shard -1.
func TestEntriesTravelAsMessagesWithTheirProperties(t *testing.T) {
	for _, e := range []protocol.Entry{
		{Writer: "w-1", Seq: 42, Shard: 7, Payload: []byte("commit")},
		{Writer: "w-1", Marker: "3", Shard: -1},
	} {
		msg := messageOf(e)
		id := pulsar.NewMessageID(7, 11, -1, 0)
		got := entryOf(storedMessage{fakeMessage{payload: msg.Payload, props: msg.Properties}, id})
		if got.Writer != e.Writer || got.Seq != e.Seq || got.Shard != e.Shard || got.Marker != e.Marker || string(got.Payload) != string(e.Payload) {
			t.Errorf("%+v travels back as %+v", e, got)
		}
		if pos := got.Pos.(msgPos); pulsarx.After(pos.MessageID, id) || pulsarx.After(id, pos.MessageID) {
			t.Errorf("position %v, want %v", pos, id)
		}
	}
	old := entryOf(storedMessage{fakeMessage{props: map[string]string{writerProperty: "old", seqProperty: "1"}}, pulsar.EarliestMessageID()})
	if old.Shard != -1 {
		t.Errorf("a commit without a shard property reads as shard %d, want -1", old.Shard)
	}
}
