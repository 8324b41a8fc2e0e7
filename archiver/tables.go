package archiver

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/clicktrail/clicktrail/schemas"
)

// table is one kind of archived data: its name (the key's first folder), its Parquet
// schema, and how a message payload becomes a row.
type table struct {
	name   string
	schema *parquet.Schema
	// text lists the string columns, checked for valid UTF-8 before each write.
	text textColumns
	// blobs are the columns of free-form text (JSON): no page bounds or statistics.
	blobs []string
	// prefetch is the consumer's receiver queue: the messages a partition's consumer
	// holds in memory ahead of the archiver, up to this many times the largest message.
	prefetch int
	// decode returns the row (a pointer to the struct schema describes), the time that
	// places it in an hour folder (zero: the message's publish time), and the messageId
	// to de-duplicate on ("" for none).
	decode func(payload []byte) (row any, at time.Time, id string, err error)
}

var (
	eventsTable = &table{
		name: "events", schema: parquet.SchemaOf(schemas.EventRow{}), text: textColumnsOf(reflect.TypeFor[schemas.EventRow]()),
		blobs: []string{"properties", "traits", "context", "integrations"},
		// An event is at most schemas.MaxEventBytes (32 KB) plus enrichment: ≤ 70 MB.
		prefetch: 2000,
		// Placed by received_at: the collector's clock, not the client's.
		decode: func(p []byte) (any, time.Time, string, error) {
			e, err := schemas.DecodeStored(p)
			if err != nil {
				return nil, time.Time{}, "", fmt.Errorf("undecodable event: %w", err)
			}
			if e.ReceivedAt == nil {
				return nil, time.Time{}, "", fmt.Errorf("undecodable event: receivedAt missing")
			}
			row := schemas.EventRowOf(e)
			return &row, e.ReceivedAt.Time, e.MessageID, nil
		},
	}
	invalidTable = &table{
		name: "invalid", schema: parquet.SchemaOf(schemas.InvalidRow{}), text: textColumnsOf(reflect.TypeFor[schemas.InvalidRow]()),
		blobs: []string{"raw"},
		// A rejected event carries its raw text, up to a whole request body (500 KB by
		// default): 2,000 of them would be 1 GB held by a replay of a backlog.
		prefetch: 100,
		decode: func(p []byte) (any, time.Time, string, error) {
			var v schemas.InvalidEvent
			if err := json.Unmarshal(p, &v); err != nil {
				return nil, time.Time{}, "", fmt.Errorf("undecodable invalid event: %w", err)
			}
			row := schemas.InvalidRowOf(&v)
			return &row, v.ReceivedAt, "", nil
		},
	}
	sessionsTable = &table{
		name: "sessions", schema: parquet.SchemaOf(schemas.SessionRow{}), text: textColumnsOf(reflect.TypeFor[schemas.SessionRow]()),
		prefetch: 2000,
		// Placed by the hour the processor published the session, not by ended_at: the
		// event times a client sends decide ended_at, and one visitor's events an hour
		// apart would otherwise open a file (and a synchronous acknowledgement) per
		// session. ended_at stays a column.
		decode: func(p []byte) (any, time.Time, string, error) {
			var s schemas.Session
			if err := json.Unmarshal(p, &s); err != nil {
				return nil, time.Time{}, "", fmt.Errorf("undecodable session: %w", err)
			}
			row := schemas.SessionRowOf(&s)
			return &row, time.Time{}, s.SessionID, nil
		},
	}
)

// tableOf maps a topic name of a namespace to the table it is archived in.
func tableOf(topic string) *table {
	switch topic {
	case schemas.TopicEvents:
		return eventsTable
	case schemas.TopicInvalid:
		return invalidTable
	case schemas.TopicSessions:
		return sessionsTable
	}
	return nil
}
