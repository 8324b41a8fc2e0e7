package archiver

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/clicktrail/clicktrail/schemas"
)

// table is one kind of archived data: its name (the key's first folder), its Parquet
// schema, and how a message payload becomes a row.
type table struct {
	name   string
	schema *parquet.Schema
	// decode returns the row, the time that places it in an hour folder, and the
	// messageId to de-duplicate on ("" for none).
	decode func(payload []byte) (row any, at time.Time, id string, err error)
}

var (
	eventsTable = &table{name: "events", schema: parquet.SchemaOf(schemas.EventRow{}), decode: func(p []byte) (any, time.Time, string, error) {
		e, err := schemas.DecodeStored(p)
		if err != nil {
			return nil, time.Time{}, "", fmt.Errorf("undecodable event: %w", err)
		}
		if e.ReceivedAt == nil {
			return nil, time.Time{}, "", fmt.Errorf("undecodable event: receivedAt missing")
		}
		row := schemas.EventRowOf(e)
		return &row, e.ReceivedAt.Time, e.MessageID, nil
	}}
	invalidTable = &table{name: "invalid", schema: parquet.SchemaOf(schemas.InvalidRow{}), decode: func(p []byte) (any, time.Time, string, error) {
		var v schemas.InvalidEvent
		if err := json.Unmarshal(p, &v); err != nil {
			return nil, time.Time{}, "", fmt.Errorf("undecodable invalid event: %w", err)
		}
		row := schemas.InvalidRowOf(&v)
		return &row, v.ReceivedAt, "", nil
	}}
	sessionsTable = &table{name: "sessions", schema: parquet.SchemaOf(schemas.SessionRow{}), decode: func(p []byte) (any, time.Time, string, error) {
		var s schemas.Session
		if err := json.Unmarshal(p, &s); err != nil {
			return nil, time.Time{}, "", fmt.Errorf("undecodable session: %w", err)
		}
		row := schemas.SessionRowOf(&s)
		return &row, s.EndedAt, s.SessionID, nil
	}}
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
