// Package processor turns the event stream into visitor sessions and live aggregates.
//
// This file holds the sessionizer: pure logic over one user key's events, with no I/O,
// so its rules can be tested exhaustively with an injected clock.
//
// Session rules, per user key, in corrected event time (schemas.Event.Timestamp):
//   - a new session starts after Inactivity without events (30 minutes by default);
//   - a session lasts at most MaxDuration (24 hours);
//   - a session ends at midnight in the source's time zone (UTC by default);
//   - a session ends when the campaign changes: a page event with a utm_source,
//     utm_medium or utm_campaign that differs from the session's, or that arrives from
//     another site's referrer.
//
// Late events: an event older than the open session's last event is counted in the
// open session when it is not older than its start minus Inactivity (it belongs to that
// visit); it changes counts but never the entry page. An event older than that belongs
// to a session already closed and published: it is not sessionized again (closed
// sessions are immutable) and is counted as late. A repeated messageId within the open
// session is ignored.
package processor

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// SessionRules are the sessionizer's settings.
type SessionRules struct {
	// Inactivity ends a session after this long without events [30m].
	Inactivity time.Duration
	// MaxDuration ends a session this long after it started [24h].
	MaxDuration time.Duration
	// Location is where midnight ends a session [UTC].
	Location *time.Location
}

// DefaultSessionRules are the defaults.
func DefaultSessionRules() SessionRules {
	return SessionRules{Inactivity: 30 * time.Minute, MaxDuration: 24 * time.Hour, Location: time.UTC}
}

// Session end reasons.
const (
	EndInactivity     = "inactivity"
	EndMaxDuration    = "max_duration"
	EndMidnight       = "midnight"
	EndCampaignChange = "campaign_change"
)

// openSession is the state kept per user key between events.
type openSession struct {
	s    schemas.Session
	seen map[string]struct{} // messageIds in this session
}

// Outcome says what one event did.
type Outcome int

// Outcomes of Sessionizer.Add.
const (
	Counted   Outcome = iota // added to the open session
	Started                  // started a new session
	Duplicate                // its messageId was already in the open session
	Late                     // older than the open session: not sessionized
)

// Sessionizer keeps the open session of each user key.
type Sessionizer struct {
	rules SessionRules
	open  map[string]*openSession
}

// NewSessionizer returns an empty sessionizer.
func NewSessionizer(rules SessionRules) *Sessionizer {
	if rules.Location == nil {
		rules.Location = time.UTC
	}
	return &Sessionizer{rules: rules, open: map[string]*openSession{}}
}

// Open reports how many sessions are open.
func (z *Sessionizer) Open() int { return len(z.open) }

// Add applies one event. It returns the session the event closed (if any) and what
// happened to the event.
func (z *Sessionizer) Add(e *schemas.Event) (closed *schemas.Session, out Outcome) {
	key := e.UserKey()
	at := eventTime(e)
	cur := z.open[key]
	if cur != nil {
		if _, dup := cur.seen[e.MessageID]; dup && e.MessageID != "" {
			return nil, Duplicate
		}
		if at.Before(cur.s.EndedAt) {
			if at.Before(cur.s.StartedAt.Add(-z.rules.Inactivity)) {
				return nil, Late
			}
			z.count(cur, e, at, true)
			return nil, Counted
		}
		if reason := z.endReason(cur, e, at); reason != "" {
			done := z.close(key, reason)
			closed = &done
			cur = nil
		}
	}
	out = Counted
	if cur == nil {
		cur = z.start(key, e, at)
		out = Started
	}
	z.count(cur, e, at, false)
	return closed, out
}

// Expire closes every session idle for Inactivity at now (by the event clock of the
// stream, or wall time when the stream is quiet), and those past midnight or MaxDuration.
func (z *Sessionizer) Expire(now time.Time) []schemas.Session {
	var out []schemas.Session
	for key, cur := range z.open {
		reason := ""
		switch {
		case now.Sub(cur.s.EndedAt) >= z.rules.Inactivity:
			reason = EndInactivity
		case now.Sub(cur.s.StartedAt) >= z.rules.MaxDuration:
			reason = EndMaxDuration
		case !sameDay(cur.s.StartedAt, now, z.rules.Location):
			reason = EndMidnight
		}
		if reason != "" {
			out = append(out, z.close(key, reason))
		}
	}
	return out
}

// CloseAll closes every open session with reason (for example at shutdown in tests).
func (z *Sessionizer) CloseAll(reason string) []schemas.Session {
	var out []schemas.Session
	for key := range z.open {
		out = append(out, z.close(key, reason))
	}
	return out
}

func (z *Sessionizer) endReason(cur *openSession, e *schemas.Event, at time.Time) string {
	switch {
	case at.Sub(cur.s.EndedAt) >= z.rules.Inactivity:
		return EndInactivity
	case at.Sub(cur.s.StartedAt) >= z.rules.MaxDuration:
		return EndMaxDuration
	case !sameDay(cur.s.StartedAt, at, z.rules.Location):
		return EndMidnight
	case e.Type == schemas.TypePage && campaignChanged(&cur.s, e):
		return EndCampaignChange
	}
	return ""
}

// campaignChanged: a new utm_source/medium/campaign, or arrival from another site.
func campaignChanged(s *schemas.Session, e *schemas.Event) bool {
	c := e.Ctx.Campaign
	if c.Source != "" || c.Medium != "" || c.Name != "" {
		if c.Source != s.Campaign.Source || c.Medium != s.Campaign.Medium || c.Name != s.Campaign.Name {
			return true
		}
	}
	ref := e.Ctx.Page.Referrer
	if ref == "" {
		return false
	}
	rh, ph := host(ref), host(e.Ctx.Page.URL)
	return rh != "" && ph != "" && rh != ph
}

func (z *Sessionizer) start(key string, e *schemas.Event, at time.Time) *openSession {
	sum := sha256.Sum256([]byte(key + "\x00" + e.MessageID))
	s := schemas.Session{
		SessionID: hex.EncodeToString(sum[:12]), Tenant: e.Tenant, Source: e.Source, UserKey: key,
		AnonymousID: e.AnonymousID, StartedAt: at, EndedAt: at,
		Referrer: e.Ctx.Page.Referrer, Campaign: e.Ctx.Campaign,
	}
	if en := e.Enrichment; en != nil {
		s.Browser, s.OS, s.DeviceType = en.Browser, en.OS, en.DeviceType
	}
	o := &openSession{s: s, seen: map[string]struct{}{}}
	z.open[key] = o
	return o
}

func (z *Sessionizer) count(cur *openSession, e *schemas.Event, at time.Time, late bool) {
	s := &cur.s
	if e.MessageID != "" {
		cur.seen[e.MessageID] = struct{}{}
	}
	s.EventCount++
	if e.UserID != "" && !late {
		s.UserID = e.UserID
	}
	if e.Type == schemas.TypePage || e.Type == schemas.TypeScreen {
		s.PageviewCount++
		page := pageOf(e)
		if s.EntryPage == "" {
			s.EntryPage = page
		}
		if !late {
			s.ExitPage = page
		}
	}
	if at.After(s.EndedAt) {
		s.EndedAt = at
	}
	if at.Before(s.StartedAt) {
		s.StartedAt = at
	}
}

func (z *Sessionizer) close(key, reason string) schemas.Session {
	s := z.open[key].s
	delete(z.open, key)
	s.DurationMs = s.EndedAt.Sub(s.StartedAt).Milliseconds()
	s.IsBounce = s.EventCount == 1 // a visit of one event: one page, nothing else
	s.EndReason = reason
	s.StartedAt, s.EndedAt = s.StartedAt.UTC(), s.EndedAt.UTC()
	return s
}

func eventTime(e *schemas.Event) time.Time {
	switch {
	case e.Timestamp != nil:
		return e.Timestamp.Time
	case e.ReceivedAt != nil:
		return e.ReceivedAt.Time
	}
	return time.Time{}
}

func pageOf(e *schemas.Event) string {
	if p := e.Ctx.Page.Path; p != "" {
		return p
	}
	if u, err := url.Parse(e.Ctx.Page.URL); err == nil && u.Path != "" {
		return u.Path
	}
	return e.Name
}

func host(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func sameDay(a, b time.Time, loc *time.Location) bool {
	ay, am, ad := a.In(loc).Date()
	by, bm, bd := b.In(loc).Date()
	return ay == by && am == bm && ad == bd
}
