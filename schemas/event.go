package schemas

import "encoding/json"

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
	// MaxDepth is the deepest nesting of objects and arrays in an event, the event
	// object itself being level 1. Deep enough for any real properties object, shallow
	// enough that no decoder recurses far on hostile input.
	MaxDepth = 32
	// MaxIDLength bounds identifier-like strings: messageId, anonymousId, userId,
	// groupId, previousId, event and name. It counts characters (Unicode code points),
	// as JSON Schema's maxLength does, so the Go validator and envelope.json agree on
	// every string; in bytes that is at most 2 KB.
	MaxIDLength = 512
)

// Event is one event of the envelope. Free-form parts (context, properties, traits,
// integrations) stay raw JSON objects, so re-encoding an event keeps every key the client
// sent; Ctx is the typed view of the context fields the pipeline reads, filled by the
// decoder and never encoded. A JSON null or an absent field both leave the Go zero
// value. Decode client input with ParseEvent, stored events with DecodeStored (which
// json.Unmarshal into an Event also uses).
type Event struct {
	Type  string `json:"type"`
	Event string `json:"event,omitempty"`
	Name  string `json:"name,omitempty"`
	// Category is the page or screen category (the spec's page(category, name)).
	Category    string `json:"category,omitempty"`
	MessageID   string `json:"messageId,omitempty"`
	AnonymousID string `json:"anonymousId,omitempty"`
	UserID      string `json:"userId,omitempty"`
	GroupID     string `json:"groupId,omitempty"`
	PreviousID  string `json:"previousId,omitempty"`
	// Channel is where the event comes from, as RudderStack's libraries say it: web,
	// server, mobile, sources.
	Channel string `json:"channel,omitempty"`

	// Timestamp is when the event happened. From the client it is the client's clock;
	// the collector replaces it with the corrected time (see CorrectTimestamp) and keeps
	// the client's value in OriginalTimestamp.
	Timestamp         *Time `json:"timestamp,omitempty"`
	OriginalTimestamp *Time `json:"originalTimestamp,omitempty"`
	// SentAt is when the client sent the event, by the client's clock. The collector
	// sets it to the batch's sentAt when the event has none of its own (server
	// libraries and analytics.js's batching mode send one per batch).
	SentAt *Time `json:"sentAt,omitempty"`

	Context    json.RawMessage `json:"context,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
	// Traits are the traits of an identify or group call; an identify event without
	// them takes context.traits, where RudderStack's libraries send them.
	Traits       json.RawMessage `json:"traits,omitempty"`
	Integrations json.RawMessage `json:"integrations,omitempty"`

	// Set by the collector. ParseEvent ignores whatever a client sends in these fields
	// (Timestamp and OriginalTimestamp above are the client's until enrichment).
	ReceivedAt         *Time       `json:"receivedAt,omitempty"`
	MessageIDGenerated bool        `json:"messageIdGenerated,omitempty"`
	Tenant             string      `json:"tenant,omitempty"`
	Source             string      `json:"source,omitempty"`
	Enrichment         *Enrichment `json:"enrichment,omitempty"`

	// Ctx is the typed view of Context, filled by the decoder. Not encoded: Context is,
	// so a change to Ctx alone does not reach the wire.
	Ctx Context `json:"-"`
}

// Context is the part of the event context the pipeline reads. The wire context may
// carry any other key; those stay in Event.Context.
type Context struct {
	Page      Page     `json:"page"`
	UserAgent string   `json:"userAgent"`
	Locale    string   `json:"locale"`
	Timezone  string   `json:"timezone"`
	IP        string   `json:"ip"`
	Screen    Screen   `json:"screen"`
	Campaign  Campaign `json:"campaign"`
	Library   Library  `json:"library"`
	// SessionID is the client's session id; a number (as RudderStack's SDK sends it)
	// is kept as its decimal text.
	SessionID string `json:"sessionId"`
}

// Page is context.page. For a page event whose context has no page object, the
// decoder fills it from the event's properties instead: url, path, title, referrer and
// search, where the spec's server-side page calls put them.
type Page struct {
	URL      string `json:"url"`
	Path     string `json:"path"`
	Title    string `json:"title"`
	Referrer string `json:"referrer"`
	Search   string `json:"search"`
}

// Screen is context.screen.
// Width and height are integers (1920 and 1.92e3 alike); density is any number.
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
	// ServerSide says the event came from a server library or a server source (see
	// the collector's enrichment): it has no browser, OS or device, and readers do
	// not count it as a visitor's browser.
	ServerSide bool `json:"serverSide,omitempty"`
}
