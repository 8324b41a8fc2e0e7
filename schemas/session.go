package schemas

import "time"

// Session is a closed visit, as the processor publishes it to the sessions topic
// (keyed by user key) and the archiver stores it.
type Session struct {
	// SessionID is deterministic: derived from the user key and the messageId of the
	// session's first event, so a replay produces the same id.
	SessionID   string    `json:"sessionId"`
	Tenant      string    `json:"tenant"`
	Source      string    `json:"source"`
	UserKey     string    `json:"userKey"`
	UserID      string    `json:"userId,omitempty"`
	AnonymousID string    `json:"anonymousId,omitempty"`
	StartedAt   time.Time `json:"startedAt"`
	EndedAt     time.Time `json:"endedAt"`
	// DurationMs is EndedAt − StartedAt.
	DurationMs    int64    `json:"durationMs"`
	EventCount    int      `json:"eventCount"`
	PageviewCount int      `json:"pageviewCount"`
	EntryPage     string   `json:"entryPage,omitempty"`
	ExitPage      string   `json:"exitPage,omitempty"`
	Referrer      string   `json:"referrer,omitempty"`
	Campaign      Campaign `json:"campaign"`
	Browser       string   `json:"browser,omitempty"`
	OS            string   `json:"os,omitempty"`
	DeviceType    string   `json:"deviceType,omitempty"`
	IsBounce      bool     `json:"isBounce"`
	// EndReason is why the session closed: inactivity, max_duration, midnight,
	// campaign_change or shutdown.
	EndReason string `json:"endReason"`
}
