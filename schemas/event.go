package schemas

import (
	"encoding/json"
	"reflect"
	"time"
)

// Event types of the Segment Tracking API.
const (
	TypeTrack    = "track"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeIdentify = "identify"
	TypeGroup    = "group"
	TypeAlias    = "alias"
)

// Limits of the contract.
const (
	// MaxEventBytes is the largest accepted event, as sent.
	MaxEventBytes = 32 * 1024
	// MaxRequestBytes is the largest accepted request body, before and after decompression.
	MaxRequestBytes = 500 * 1024
	// MaxBatchEvents is the most events one batch request may carry.
	MaxBatchEvents = 2500
	// MaxDepth is the deepest nesting of objects and arrays in an event.
	MaxDepth = 32
	// MaxIDBytes bounds identifier-like strings: messageId, anonymousId, userId,
	// groupId, previousId, event and name.
	MaxIDBytes = 512
)

// Event is one event of the envelope. Free-form parts (context, properties, traits)
// stay raw JSON, so re-encoding an event keeps every key the client sent; Ctx is the
// typed view of the context fields the pipeline reads.
type Event struct {
	Type        string `json:"type"`
	Event       string `json:"event,omitempty"`
	Name        string `json:"name,omitempty"`
	MessageID   string `json:"messageId,omitempty"`
	AnonymousID string `json:"anonymousId,omitempty"`
	UserID      string `json:"userId,omitempty"`
	GroupID     string `json:"groupId,omitempty"`
	PreviousID  string `json:"previousId,omitempty"`

	// Timestamp is when the event happened. From the client it is the client's clock;
	// the collector replaces it with the corrected time (see CorrectTimestamp) and keeps
	// the client's value in OriginalTimestamp.
	Timestamp         *Time `json:"timestamp,omitempty"`
	OriginalTimestamp *Time `json:"originalTimestamp,omitempty"`
	// SentAt is when the client sent the batch, by the client's clock.
	SentAt *Time `json:"sentAt,omitempty"`

	Context      json.RawMessage `json:"context,omitempty"`
	Properties   json.RawMessage `json:"properties,omitempty"`
	Traits       json.RawMessage `json:"traits,omitempty"`
	Integrations json.RawMessage `json:"integrations,omitempty"`

	// Set by the collector; whatever a client sends here is overwritten.
	ReceivedAt         *Time       `json:"receivedAt,omitempty"`
	MessageIDGenerated bool        `json:"messageIdGenerated,omitempty"`
	Tenant             string      `json:"tenant,omitempty"`
	Source             string      `json:"source,omitempty"`
	Enrichment         *Enrichment `json:"enrichment,omitempty"`

	// Ctx is the typed view of Context, filled by ParseEvent. Not encoded: Context is.
	Ctx Context `json:"-"`
}

// Context is the part of the event context the pipeline reads.
type Context struct {
	Page      Page     `json:"page"`
	UserAgent string   `json:"userAgent"`
	Locale    string   `json:"locale"`
	Timezone  string   `json:"timezone"`
	IP        string   `json:"ip"`
	Screen    Screen   `json:"screen"`
	Campaign  Campaign `json:"campaign"`
	Library   Library  `json:"library"`
	SessionID string   `json:"sessionId"`
}

// Page is context.page.
type Page struct {
	URL      string `json:"url"`
	Path     string `json:"path"`
	Title    string `json:"title"`
	Referrer string `json:"referrer"`
	Search   string `json:"search"`
}

// Screen is context.screen.
type Screen struct {
	Width   int     `json:"width"`
	Height  int     `json:"height"`
	Density float64 `json:"density"`
}

// Campaign is context.campaign, the utm_* parameters.
type Campaign struct {
	Name    string `json:"name"`
	Source  string `json:"source"`
	Medium  string `json:"medium"`
	Term    string `json:"term"`
	Content string `json:"content"`
}

// Library is context.library, the sending library.
type Library struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Enrichment is what the collector derives from the request.
type Enrichment struct {
	// IP is the client address, anonymized unless configured otherwise.
	IP             string `json:"ip,omitempty"`
	Browser        string `json:"browser,omitempty"`
	BrowserVersion string `json:"browserVersion,omitempty"`
	OS             string `json:"os,omitempty"`
	OSVersion      string `json:"osVersion,omitempty"`
	DeviceType     string `json:"deviceType,omitempty"`
	IsBot          bool   `json:"isBot,omitempty"`
}

// UserKey is the Pulsar message key of the event: anonymousId when present, otherwise
// userId. The SDK keeps one anonymousId across login, so one browser stays on one key.
func (e *Event) UserKey() string {
	if e.AnonymousID != "" {
		return e.AnonymousID
	}
	return e.UserID
}

// Time is an RFC 3339 timestamp (fractional seconds optional), encoded in UTC with
// millisecond precision.
type Time struct{ time.Time }

// NewTime returns t as a *Time.
func NewTime(t time.Time) *Time { return &Time{t} }

// UnmarshalJSON parses an RFC 3339 string. A wrong value is reported as a type error,
// so that the decoder names the field.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return &json.UnmarshalTypeError{Value: "non-string", Type: timeType}
	}
	parsed, err := time.Parse(time.RFC3339Nano, string(b[1:len(b)-1]))
	if err != nil {
		return &json.UnmarshalTypeError{Value: "string", Type: timeType}
	}
	t.Time = parsed
	return nil
}

// MarshalJSON encodes UTC with milliseconds: 2026-11-25T06:45:00.123Z.
func (t Time) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 26)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
	return append(b, '"'), nil
}

// timeType marks a wrong timestamp in a *json.UnmarshalTypeError, the one error type
// the decoder annotates with the field's path.
var timeType = reflect.TypeFor[time.Time]()
