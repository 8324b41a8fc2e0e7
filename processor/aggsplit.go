package processor

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/apache/pulsar-client-go/pulsar"

	"github.com/clicktrail/clicktrail/processor/protocol"
)

// partProperty numbers the parts of an aggregate in their message properties
// ("part/parts"), for tools; readers use the JSON.
const partProperty = "part"

// aggregateMessages encodes a as messages of the aggregates topic of at most
// MaxAggregateBytes each (see SplitAggregate).
func aggregateMessages(a *protocol.Aggregate) ([]*pulsar.ProducerMessage, error) {
	parts := protocol.SplitAggregate(a)
	msgs := make([]*pulsar.ProducerMessage, 0, len(parts))
	for _, part := range parts {
		b, err := json.Marshal(part)
		if err != nil {
			return nil, fmt.Errorf("encode aggregate %s/%d: %w", a.Writer, a.Seq, err)
		}
		if len(b) > protocol.MaxAggregateBytes {
			return nil, fmt.Errorf("encode aggregate %s/%d: part %d takes %d bytes, over %d", a.Writer, a.Seq, part.Part, len(b), protocol.MaxAggregateBytes)
		}
		props := map[string]string{writerProperty: a.Writer, seqProperty: strconv.FormatUint(a.Seq, 10)}
		if len(parts) > 1 {
			props[partProperty] = strconv.Itoa(part.Part) + "/" + strconv.Itoa(part.Parts)
		}
		msgs = append(msgs, &pulsar.ProducerMessage{Key: a.Writer, Payload: b, Properties: props})
	}
	return msgs, nil
}
