package schemas

import (
	"encoding/json"
	"time"
)

// InvalidEvent is what the collector publishes to the events-invalid topic for each
// rejected event: nothing a client sent is dropped silently. It carries no client IP.
type InvalidEvent struct {
	// Reason is ValidationError.Reason; Field its path ("" for the event as a whole).
	Reason string `json:"reason"`
	Field  string `json:"field,omitempty"`
	// Index is the event's position in its request's batch.
	Index int `json:"index"`
	// Raw is the event as sent when it is valid JSON; otherwise RawText holds it.
	Raw        json.RawMessage `json:"raw,omitempty"`
	RawText    string          `json:"rawText,omitempty"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Tenant     string          `json:"tenant"`
	Source     string          `json:"source"`
	RequestID  string          `json:"requestId,omitempty"`
	UserAgent  string          `json:"userAgent,omitempty"`
	// MessageID and UserKey are copied from the event when they could be read.
	MessageID string `json:"messageId,omitempty"`
	UserKey   string `json:"userKey,omitempty"`
}
