package processor

import (
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"net/url"
	"slices"
	"time"

	"github.com/clicktrail/clicktrail/schemas"
)

// SessionRules are the sessionizer's settings.
type SessionRules struct {
	// Inactivity: an event this long after the session's last one (by event time)
	// starts a new session [30m].
	Inactivity time.Duration
	// MaxDuration ends a session this long after it started [24h].
	MaxDuration time.Duration
	// Location is where midnight ends a session [UTC].
	Location *time.Location
	// IdleTimeout closes a session whose key had no event for this long by the
	// processing clock [Inactivity].
	IdleTimeout time.Duration
	// TombstoneTTL is how long the position of a key without an open session is kept,
	// so that a redelivered event is still recognised [10m].
	TombstoneTTL time.Duration
	// OrphanGrace: a session whose key another instance wrote last is closed here
	// after IdleTimeout plus this, in case that instance left [min(1m, IdleTimeout/2)].
	OrphanGrace time.Duration
}

// DefaultSessionRules are the defaults.
func DefaultSessionRules() SessionRules {
	return SessionRules{
		Inactivity: 30 * time.Minute, MaxDuration: 24 * time.Hour, Location: time.UTC,
		IdleTimeout: 30 * time.Minute, TombstoneTTL: 10 * time.Minute,
	}
}

// Session end reasons.
const (
	EndInactivity     = "inactivity"
	EndMaxDuration    = "max_duration"
	EndMidnight       = "midnight"
	EndCampaignChange = "campaign_change"
)

// Outcome says what one event did.
type Outcome int

// Outcomes of Sessionizer.Add.
const (
	Counted   Outcome = iota // added to the open session
	Started                  // started a new session
	Duplicate                // its messageId was already in the open session: ignored
	Late                     // older than the open session: counted in aggregates only
	Replayed                 // at or before the key's recorded position: already applied
)

func (o Outcome) String() string {
	return [...]string{"counted", "started", "duplicate", "late", "replayed"}[o]
}

// position is where an event lies in its partition of the events topic.
type position struct {
	Partition int32 `json:"p"`
	Ledger    int64 `json:"l"`
	Entry     int64 `json:"e"`
	Batch     int32 `json:"b"`
}

// atOrBefore reports whether p is q or earlier in the same partition. Positions in
// different partitions (after the topic grew) are not ordered: it reports false.
func (p position) atOrBefore(q position) bool {
	if p.Partition != q.Partition {
		return false
	}
	if p.Ledger != q.Ledger {
		return p.Ledger < q.Ledger
	}
	if p.Entry != q.Entry {
		return p.Entry < q.Entry
	}
	return p.Batch <= q.Batch
}

// openSession is a session being built, as kept in memory and in state records.
type openSession struct {
	schemas.Session
	// Seen holds a 64-bit hash of each messageId in the session.
	Seen []uint64 `json:"seen,omitempty"`
}

// keyState is everything known about one user key.
type keyState struct {
	tenant string
	open   *openSession // nil: no open session
	pos    *position    // last event applied; nil when unknown
	// writer is the instance whose record this state came from ("" once processed here).
	writer  string
	touched time.Time // processing time of the last event or record
	dirty   bool      // changed since the last checkpoint
	delta   map[int64]*Counts
	closed  []schemas.Session
	// lastEnded is the id of the key's last closed session: a second close of it (by
	// two instances expiring the same orphaned key) is not counted twice.
	lastEnded string
}

// sessionEnd is what a closed session adds to the aggregates of the minute it ended in.
type sessionEnd struct {
	ID         string `json:"id"`
	Minute     int64  `json:"m"` // Unix seconds
	DurationMs int64  `json:"ms"`
	Bounce     bool   `json:"b,omitempty"`
}

// Sessionizer keeps the state of each user key: pure logic, no I/O.
//
// Session rules, per user key, in corrected event time (schemas.Event.Timestamp):
//   - a new session starts after Inactivity without events (30 minutes by default);
//   - a session lasts at most MaxDuration (24 hours);
//   - a session ends at midnight in the source's time zone (UTC by default);
//   - a session ends when the campaign changes: a page event with a utm_source,
//     utm_medium or utm_campaign that differs from the session's, or that arrives from
//     another site's referrer.
type Sessionizer struct {
	rules SessionRules
	self  string // this instance, the writer of its records
	now   func() time.Time
	keys  map[string]*keyState
	open  int
	// tenants interns tenant names, so a million keys share a few strings.
	tenants map[string]string
}

// NewSessionizer returns an empty sessionizer writing records as instance self, with
// now as its processing clock.
func NewSessionizer(rules SessionRules, self string, now func() time.Time) *Sessionizer {
	d := DefaultSessionRules()
	if rules.Location == nil {
		rules.Location = d.Location
	}
	if rules.Inactivity <= 0 {
		rules.Inactivity = d.Inactivity
	}
	if rules.MaxDuration <= 0 {
		rules.MaxDuration = d.MaxDuration
	}
	if rules.IdleTimeout <= 0 {
		rules.IdleTimeout = rules.Inactivity
	}
	if rules.TombstoneTTL <= 0 {
		rules.TombstoneTTL = d.TombstoneTTL
	}
	if rules.OrphanGrace <= 0 {
		rules.OrphanGrace = min(time.Minute, rules.IdleTimeout/2)
	}
	if now == nil {
		now = time.Now
	}
	return &Sessionizer{rules: rules, self: self, now: now, keys: map[string]*keyState{}, tenants: map[string]string{}}
}

// Open reports how many sessions are open.
func (z *Sessionizer) Open() int { return z.open }

// Keys reports how many user keys are held, with or without an open session.
func (z *Sessionizer) Keys() int { return len(z.keys) }

// Owns reports whether this instance wrote or changed the last state of key. For such a
// key no record of another instance can be in flight; for any other key one can be (a
// previous owner's last record, sent just before it died).
func (z *Sessionizer) Owns(key string) bool {
	ks := z.keys[key]
	return ks != nil && (ks.writer == "" || ks.writer == z.self)
}

// Add applies one event found at pos (nil when not from a topic).
func (z *Sessionizer) Add(e *schemas.Event, pos *position) Outcome {
	key := e.UserKey()
	ks := z.keys[key]
	if ks == nil {
		ks = &keyState{tenant: z.intern(e.Tenant)}
		z.keys[key] = ks
	}
	if pos != nil && ks.pos != nil && pos.atOrBefore(*ks.pos) {
		return Replayed
	}
	now := z.now()
	if ks.open != nil && now.Sub(ks.touched) >= z.rules.IdleTimeout {
		// Quiet for longer than the idle timeout: closed, as Expire would have done.
		z.close(ks, EndInactivity)
	}
	ks.writer, ks.touched, ks.dirty = "", now, true
	if pos != nil {
		p := *pos
		ks.pos = &p
	}
	at := eventTime(e)
	id := hashID(e.MessageID)
	if cur := ks.open; cur != nil {
		if e.MessageID != "" && slices.Contains(cur.Seen, id) {
			return Duplicate
		}
		if at.Before(cur.EndedAt) {
			if e.MessageID != "" {
				cur.Seen = append(cur.Seen, id)
			}
			z.deltaAt(ks, at).AddEvent(e, false)
			if at.Before(cur.StartedAt.Add(-z.rules.Inactivity)) {
				return Late
			}
			z.count(cur, e, at, true)
			return Counted
		}
		if reason := z.endReason(cur, e, at); reason != "" {
			z.close(ks, reason)
		}
	}
	out := Counted
	if ks.open == nil {
		z.start(key, ks, e, at)
		out = Started
	}
	if e.MessageID != "" {
		ks.open.Seen = append(ks.open.Seen, id)
	}
	z.count(ks.open, e, at, false)
	z.deltaAt(ks, at).AddEvent(e, out == Started)
	return out
}

// Expire closes the sessions of keys this instance processed last that had no event
// for IdleTimeout, and those another instance wrote last after IdleTimeout plus
// OrphanGrace (that instance may have left; if not, its own close arrived first), and
// forgets keys without a session after TombstoneTTL.
func (z *Sessionizer) Expire() {
	now := z.now()
	for key, ks := range z.keys {
		idle := now.Sub(ks.touched)
		switch {
		case ks.open != nil && ks.writer == "" && idle >= z.rules.IdleTimeout,
			ks.open != nil && ks.writer != "" && idle >= z.rules.IdleTimeout+z.rules.OrphanGrace:
			ks.writer = ""
			z.close(ks, EndInactivity)
		case ks.open == nil && !ks.dirty && idle >= z.rules.TombstoneTTL:
			delete(z.keys, key)
		}
	}
}

// Record is the state of one user key as written to the session-state topic.
type Record struct {
	Writer string            `json:"w"`
	Tenant string            `json:"t,omitempty"`
	Pos    *position         `json:"p,omitempty"`
	Open   *openSession      `json:"o,omitempty"`
	Delta  map[int64]*Counts `json:"d,omitempty"` // by minute, Unix seconds
	// Ended are the sessions this record closed.
	Ended []sessionEnd `json:"x,omitempty"`
}

// Checkpoint gives emit the record of every key changed since the last checkpoint and
// the sessions it closed since. The record points into the sessionizer's state: emit
// encodes it before it returns.
func (z *Sessionizer) Checkpoint(emit func(key string, r *Record, closed []schemas.Session)) {
	for key, ks := range z.keys {
		if !ks.dirty {
			continue
		}
		r := &Record{Writer: z.self, Tenant: ks.tenant, Pos: ks.pos, Open: ks.open, Delta: ks.delta}
		for i := range ks.closed {
			s := &ks.closed[i]
			r.Ended = append(r.Ended, sessionEnd{ID: s.SessionID, Minute: s.EndedAt.Truncate(time.Minute).Unix(), DurationMs: s.DurationMs, Bounce: s.IsBounce})
		}
		emit(key, r, ks.closed)
		ks.dirty, ks.delta, ks.closed = false, nil, nil
	}
}

// Apply takes in a record of another instance read from the session-state topic. It
// reports whether the record's counts belong in the aggregates (false for a record
// behind what is held: written late by an owner that has since lost the key), and
// removes from r.Ended the sessions already counted as closed.
func (z *Sessionizer) Apply(key string, r *Record) (fold bool) {
	if r.Writer == z.self {
		return true // what it says is held already
	}
	ks := z.keys[key]
	if ks != nil && ks.pos != nil && r.Pos != nil && r.Pos.atOrBefore(*ks.pos) && *r.Pos != *ks.pos {
		return false
	}
	if ks == nil {
		ks = &keyState{}
		z.keys[key] = ks
	}
	ended := r.Ended[:0]
	for _, e := range r.Ended {
		if e.ID != ks.lastEnded {
			ended = append(ended, e)
		}
	}
	r.Ended = ended
	if len(r.Ended) > 0 {
		ks.lastEnded = r.Ended[len(r.Ended)-1].ID
	}
	if ks.dirty {
		// Another instance wrote this key while this one has unwritten changes: both
		// cannot own it. Keep the events held here (they are not acknowledged yet).
		return true
	}
	if ks.open != nil {
		z.open--
	}
	if r.Open != nil {
		z.open++
	}
	ks.tenant, ks.open, ks.pos, ks.writer, ks.touched = z.intern(r.Tenant), r.Open, r.Pos, r.Writer, z.now()
	return true
}

func (z *Sessionizer) endReason(cur *openSession, e *schemas.Event, at time.Time) string {
	switch {
	case at.Sub(cur.EndedAt) >= z.rules.Inactivity:
		return EndInactivity
	case at.Sub(cur.StartedAt) >= z.rules.MaxDuration:
		return EndMaxDuration
	case !sameDay(cur.StartedAt, at, z.rules.Location):
		return EndMidnight
	case e.Type == schemas.TypePage && campaignChanged(&cur.Session, e):
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

// SessionID is deterministic: the same first event of the same key gives the same id.
func SessionID(key, firstMessageID string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + firstMessageID))
	return hex.EncodeToString(sum[:12])
}

func (z *Sessionizer) start(key string, ks *keyState, e *schemas.Event, at time.Time) {
	s := schemas.Session{
		SessionID: SessionID(key, e.MessageID), Tenant: ks.tenant, Source: e.Source, UserKey: key,
		AnonymousID: e.AnonymousID, StartedAt: at, EndedAt: at,
		Referrer: e.Ctx.Page.Referrer, Campaign: e.Ctx.Campaign,
	}
	if en := e.Enrichment; en != nil {
		s.Browser, s.OS, s.DeviceType = en.Browser, en.OS, en.DeviceType
	}
	ks.open = &openSession{Session: s}
	z.open++
}

func (z *Sessionizer) count(s *openSession, e *schemas.Event, at time.Time, late bool) {
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

// close ends ks's open session: it joins ks.closed and the counts of its last minute.
func (z *Sessionizer) close(ks *keyState, reason string) {
	s := ks.open.Session
	ks.open = nil
	z.open--
	s.DurationMs = s.EndedAt.Sub(s.StartedAt).Milliseconds()
	s.IsBounce = s.EventCount == 1 // a visit of one event: one page, nothing else
	s.EndReason = reason
	s.StartedAt, s.EndedAt = s.StartedAt.UTC(), s.EndedAt.UTC()
	ks.dirty = true
	if s.SessionID == ks.lastEnded {
		return // another instance closed it already (an orphan both expired)
	}
	ks.lastEnded = s.SessionID
	ks.closed = append(ks.closed, s)
	z.deltaAt(ks, s.EndedAt) // the key was active in the minute its session ended
}

func (z *Sessionizer) deltaAt(ks *keyState, at time.Time) *Counts {
	m := at.Truncate(time.Minute).Unix()
	if ks.delta == nil {
		ks.delta = map[int64]*Counts{}
	}
	c := ks.delta[m]
	if c == nil {
		c = &Counts{}
		ks.delta[m] = c
	}
	return c
}

func (z *Sessionizer) intern(s string) string {
	if v, ok := z.tenants[s]; ok {
		return v
	}
	z.tenants[s] = s
	return s
}

func hashID(id string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return h.Sum64()
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
	if raw == "" {
		return ""
	}
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
