package schemas

import (
	"net/url"
	"time"
)

// EventRow is one row of the archive's events table (Parquet). Times are TIMESTAMP
// in milliseconds, UTC; repetitive strings are dictionary-encoded; every column is
// zstd-compressed; free-form parts are JSON strings.
type EventRow struct {
	MessageID          string    `parquet:"message_id,zstd"`
	Type               string    `parquet:"type,dict,zstd"`
	Event              string    `parquet:"event,dict,zstd"`
	Name               string    `parquet:"name,dict,zstd"`
	UserID             string    `parquet:"user_id,zstd"`
	AnonymousID        string    `parquet:"anonymous_id,zstd"`
	UserKey            string    `parquet:"user_key,zstd"`
	Timestamp          time.Time `parquet:"timestamp,timestamp(millisecond),zstd"`
	OriginalTimestamp  time.Time `parquet:"original_timestamp,timestamp(millisecond),zstd"`
	SentAt             time.Time `parquet:"sent_at,timestamp(millisecond),zstd"`
	ReceivedAt         time.Time `parquet:"received_at,timestamp(millisecond),zstd"`
	PageURL            string    `parquet:"page_url,dict,zstd"`
	PagePath           string    `parquet:"page_path,dict,zstd"`
	PageTitle          string    `parquet:"page_title,dict,zstd"`
	Referrer           string    `parquet:"referrer,dict,zstd"`
	UserAgent          string    `parquet:"user_agent,dict,zstd"`
	Browser            string    `parquet:"browser,dict,zstd"`
	BrowserVersion     string    `parquet:"browser_version,dict,zstd"`
	OS                 string    `parquet:"os,dict,zstd"`
	DeviceType         string    `parquet:"device_type,dict,zstd"`
	IsBot              bool      `parquet:"is_bot"`
	IP                 string    `parquet:"ip,dict,zstd"`
	Locale             string    `parquet:"locale,dict,zstd"`
	Timezone           string    `parquet:"timezone,dict,zstd"`
	UTMSource          string    `parquet:"utm_source,dict,zstd"`
	UTMMedium          string    `parquet:"utm_medium,dict,zstd"`
	UTMCampaign        string    `parquet:"utm_campaign,dict,zstd"`
	UTMTerm            string    `parquet:"utm_term,dict,zstd"`
	UTMContent         string    `parquet:"utm_content,dict,zstd"`
	LibraryName        string    `parquet:"library_name,dict,zstd"`
	LibraryVersion     string    `parquet:"library_version,dict,zstd"`
	Tenant             string    `parquet:"tenant,dict,zstd"`
	Source             string    `parquet:"source,dict,zstd"`
	GroupID            string    `parquet:"group_id,dict,zstd"`
	PreviousID         string    `parquet:"previous_id,zstd"`
	MessageIDGenerated bool      `parquet:"message_id_generated"`
	Properties         string    `parquet:"properties,zstd"`
	Traits             string    `parquet:"traits,zstd"`
	Context            string    `parquet:"context,zstd"`
	// Added last: files written before them lack them, and DuckDB reads old and new
	// files together with union_by_name = true.
	Category     string `parquet:"category,dict,zstd"`
	Channel      string `parquet:"channel,dict,zstd"`
	Integrations string `parquet:"integrations,zstd"`
}

// EventRowOf maps an enriched event to its row. The page fields come from
// context.page, or from a page event's properties when its context has no page (see
// Page); the page path from the URL when there is none.
func EventRowOf(e *Event) EventRow {
	c := &e.Ctx
	r := EventRow{
		MessageID: e.MessageID, Type: e.Type, Event: e.Event, Name: e.Name,
		UserID: e.UserID, AnonymousID: e.AnonymousID, UserKey: e.UserKey(),
		Timestamp: timeOf(e.Timestamp), OriginalTimestamp: timeOf(e.OriginalTimestamp),
		SentAt: timeOf(e.SentAt), ReceivedAt: timeOf(e.ReceivedAt),
		PageURL: c.Page.URL, PagePath: c.Page.Path, PageTitle: c.Page.Title, Referrer: c.Page.Referrer,
		UserAgent: c.UserAgent, Locale: c.Locale, Timezone: c.Timezone,
		UTMSource: c.Campaign.Source, UTMMedium: c.Campaign.Medium, UTMCampaign: c.Campaign.Name,
		UTMTerm: c.Campaign.Term, UTMContent: c.Campaign.Content,
		LibraryName: c.Library.Name, LibraryVersion: c.Library.Version,
		Tenant: e.Tenant, Source: e.Source, GroupID: e.GroupID, PreviousID: e.PreviousID,
		MessageIDGenerated: e.MessageIDGenerated,
		Properties:         string(e.Properties), Traits: string(e.Traits), Context: string(e.Context),
		Category: e.Category, Channel: e.Channel, Integrations: string(e.Integrations),
	}
	if r.PagePath == "" && r.PageURL != "" {
		if u, err := url.Parse(r.PageURL); err == nil {
			r.PagePath = u.Path
		}
	}
	if en := e.Enrichment; en != nil {
		r.Browser, r.BrowserVersion, r.OS, r.DeviceType = en.Browser, en.BrowserVersion, en.OS, en.DeviceType
		r.IsBot, r.IP = en.IsBot, en.IP
	}
	return r
}

// InvalidRow is one row of the archive's invalid table: a rejected event, or a message
// the archiver could not decode, with the reason.
type InvalidRow struct {
	ReceivedAt time.Time `parquet:"received_at,timestamp(millisecond),zstd"`
	Tenant     string    `parquet:"tenant,dict,zstd"`
	Source     string    `parquet:"source,dict,zstd"`
	Reason     string    `parquet:"reason,dict,zstd"`
	Field      string    `parquet:"field,dict,zstd"`
	Index      int32     `parquet:"index"`
	MessageID  string    `parquet:"message_id,zstd"`
	UserKey    string    `parquet:"user_key,zstd"`
	RequestID  string    `parquet:"request_id,zstd"`
	UserAgent  string    `parquet:"user_agent,dict,zstd"`
	Raw        string    `parquet:"raw,zstd"`
}

// InvalidRowOf maps a rejected event to its row.
func InvalidRowOf(v *InvalidEvent) InvalidRow {
	raw := string(v.Raw)
	if raw == "" {
		raw = v.RawText
	}
	return InvalidRow{
		ReceivedAt: v.ReceivedAt.UTC(), Tenant: v.Tenant, Source: v.Source, Reason: v.Reason, Field: v.Field,
		Index: int32(v.Index), MessageID: v.MessageID, UserKey: v.UserKey, RequestID: v.RequestID,
		UserAgent: v.UserAgent, Raw: raw,
	}
}

// SessionRow is one row of the archive's sessions table.
type SessionRow struct {
	SessionID     string    `parquet:"session_id,zstd"`
	Tenant        string    `parquet:"tenant,dict,zstd"`
	Source        string    `parquet:"source,dict,zstd"`
	UserKey       string    `parquet:"user_key,zstd"`
	UserID        string    `parquet:"user_id,zstd"`
	AnonymousID   string    `parquet:"anonymous_id,zstd"`
	StartedAt     time.Time `parquet:"started_at,timestamp(millisecond),zstd"`
	EndedAt       time.Time `parquet:"ended_at,timestamp(millisecond),zstd"`
	DurationMs    int64     `parquet:"duration_ms"`
	EventCount    int32     `parquet:"event_count"`
	PageviewCount int32     `parquet:"pageview_count"`
	EntryPage     string    `parquet:"entry_page,dict,zstd"`
	ExitPage      string    `parquet:"exit_page,dict,zstd"`
	Referrer      string    `parquet:"referrer,dict,zstd"`
	UTMSource     string    `parquet:"utm_source,dict,zstd"`
	UTMMedium     string    `parquet:"utm_medium,dict,zstd"`
	UTMCampaign   string    `parquet:"utm_campaign,dict,zstd"`
	UTMTerm       string    `parquet:"utm_term,dict,zstd"`
	UTMContent    string    `parquet:"utm_content,dict,zstd"`
	Browser       string    `parquet:"browser,dict,zstd"`
	OS            string    `parquet:"os,dict,zstd"`
	DeviceType    string    `parquet:"device_type,dict,zstd"`
	IsBounce      bool      `parquet:"is_bounce"`
	EndReason     string    `parquet:"end_reason,dict,zstd"`
}

// SessionRowOf maps a closed session to its row.
func SessionRowOf(s *Session) SessionRow {
	return SessionRow{
		SessionID: s.SessionID, Tenant: s.Tenant, Source: s.Source, UserKey: s.UserKey, UserID: s.UserID,
		AnonymousID: s.AnonymousID, StartedAt: s.StartedAt.UTC(), EndedAt: s.EndedAt.UTC(), DurationMs: s.DurationMs,
		EventCount: int32(s.EventCount), PageviewCount: int32(s.PageviewCount), EntryPage: s.EntryPage,
		ExitPage: s.ExitPage, Referrer: s.Referrer, UTMSource: s.Campaign.Source, UTMMedium: s.Campaign.Medium,
		UTMCampaign: s.Campaign.Name, UTMTerm: s.Campaign.Term, UTMContent: s.Campaign.Content,
		Browser: s.Browser, OS: s.OS, DeviceType: s.DeviceType, IsBounce: s.IsBounce, EndReason: s.EndReason,
	}
}

func timeOf(t *Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
