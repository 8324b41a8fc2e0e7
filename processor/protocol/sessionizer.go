package protocol

import (
	"crypto/sha256"
	"encoding/binary"
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
	// Retention: an event whose minute lies more than this before the processing
	// clock's, or more than MaxFutureSkew after it, is ignored (outcome Outside) [48h].
	Retention time.Duration
}

// MaxFutureSkew is how far after the processing clock an event may lie and still be
// counted (a client clock the collector could not correct).
const MaxFutureSkew = 10 * time.Minute

// DefaultRetention is the default of SessionRules.Retention and Config.Retention.
const DefaultRetention = 48 * time.Hour

// DefaultSessionRules are the defaults.
func DefaultSessionRules() SessionRules {
	return SessionRules{
		Inactivity: 30 * time.Minute, MaxDuration: 24 * time.Hour, Location: time.UTC,
		IdleTimeout: 30 * time.Minute, TombstoneTTL: 10 * time.Minute, Retention: DefaultRetention,
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
	Outside                  // outside the retention window: ignored (see Sessionizer)
	Invalid                  // a user key longer than maxKeyBytes: ignored
)

func (o Outcome) String() string {
	return [...]string{"counted", "started", "duplicate", "late", "replayed", "outside", "invalid"}[o]
}

// Position is where an event lies in its partition of the events topic.
type Position struct {
	Ledger    int64
	Entry     int64
	Partition int32
	Batch     int32
}

// atOrBefore reports whether p is q or earlier in the same partition. Positions in
// different partitions (after the topic grew) are not ordered: it reports false.
func (p Position) atOrBefore(q Position) bool {
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

// maxSeen bounds the messageId hashes kept per open session: a retry is recognised
// among the session's last maxSeen events, and a state record stays small.
const maxSeen = 1000

// openSession is a session being built, as kept in memory and in state records.
type openSession struct {
	schemas.Session
	// Seen holds a 64-bit hash of each messageId in the session (the last maxSeen).
	Seen []uint64
}

// keyState is everything known about one user key: what this instance's processing
// made of it, and the committed view (what the session-state topic says, read in
// order), which decides whether a commit counts.
type keyState struct {
	open   *openSession // nil: no open session
	tenant string
	// writer is the writer of the commit this state came from ("" once processed here).
	writer string
	pos    Position // last event applied, when flags&ksPos
	// cpos is the position in the key's last valid commit, when flags&ksCommitted.
	cpos Position
	// cended is the hash of the id of the key's last session whose end was counted: a
	// second close of it (two instances expiring the same orphaned key) counts once.
	cended  uint64
	touched int64 // processing time (Unix nanoseconds) of the last event or record
	// While a checkpoint is built: the index of the key's record in its commit, and
	// the index of that commit.
	rec   int32
	group int32
	// Since the last checkpoint: a bound of what the key's contributions and session
	// ends add to its commit (see contribBound), and the minute (Unix minutes) of its
	// last contribution, whose minute is counted already.
	cost    int32
	lastMin int32
	flags   uint8
	shard   uint8 // shardOf(key)
}

// keyState flags.
const (
	ksPos       = 1 << iota // pos is set
	ksCommitted             // cpos is set
	ksDirty                 // changed since the last checkpoint
	ksEvents                // events applied since the last checkpoint (not only a close)
	ksInflight              // in a commit of this instance not read back yet
	ksRefused               // while a checkpoint is built: its contributions do not fit
)

// sessionEnd is what a closed session adds to the aggregates of the minute it ended in.
type sessionEnd struct {
	ID         string
	Minute     int64 // Unix seconds
	DurationMs int64
	Bounce     bool
}

// contrib is what one event (or one session end) adds to its minute's aggregate; the
// contributions of a checkpoint are summed per commit into its partial aggregates.
type contrib struct {
	ks     *keyState
	key    string
	tenant string
	minute int64 // Unix seconds
	// event is "" for a session end (the key was active in that minute); else the
	// event's type, or "track/<name>".
	event string
	page  string // pageview path, "" when not a page or screen event
	// Set when the event started a session.
	started                     bool
	referrer, utm, browser, dev string
}

// closedSession is a session closed since the last checkpoint.
type closedSession struct {
	key string
	s   schemas.Session
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
	self  string // this instance, the writer of its commits
	now   func() time.Time
	keys  map[string]*keyState
	open  int
	// strs interns tenant and writer names, so a million keys share a few strings.
	strs map[string]string

	// Since the last checkpoint: keys changed (in order), contributions, closes, and
	// whether a key's cost reached keyBudget.
	dirty    []string
	contribs []contrib
	closed   []closedSession
	planned  []*keyState // the dirty keys' states, while a checkpoint is built
	full     bool
	seq      uint64 // last commit sequence number used

	counts Counters
}

// Counters are what a sessionizer cut or left out, for metrics (see TakeCounters).
type Counters struct {
	// ValuesCapped counts aggregate dimension values cut to MaxValueBytes and session
	// texts cut to MaxSessionValueBytes.
	ValuesCapped int64
	// Refused counts contributions left out of the aggregates because their key's
	// record could not fit a commit (see Checkpoint); never when the caller checkpoints
	// when NeedsCheckpoint says so.
	Refused int64
}

// TakeCounters returns the counters and resets them.
func (z *Sessionizer) TakeCounters() Counters {
	c := z.counts
	z.counts = Counters{}
	return c
}

// NewSessionizer returns an empty sessionizer writing commits as self, with now as
// its processing clock.
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
	if rules.Retention <= 0 {
		rules.Retention = d.Retention
	}
	if now == nil {
		now = time.Now
	}
	return &Sessionizer{rules: rules, self: self, now: now, keys: map[string]*keyState{}, strs: map[string]string{}}
}

// Open reports how many sessions are open.
func (z *Sessionizer) Open() int { return z.open }

// Keys reports how many user keys are held, with or without an open session.
func (z *Sessionizer) Keys() int { return len(z.keys) }

// Owns reports whether this instance processed key last. For such a key no commit of
// another instance can be in flight; for any other key one can be (a previous owner's
// last commit, sent just before it died).
func (z *Sessionizer) Owns(key string) bool {
	ks := z.keys[key]
	return ks != nil && ks.writer == ""
}

// Add applies one event found at pos (nil when not from a topic).
//
// An event whose minute lies outside the window [now − Retention, now +
// MaxFutureSkew] of the processing clock is ignored, neither aggregated nor
// sessionized (outcome Outside): the store keeps no minute there (see Store), and a
// session holding it would carry that time into the sessions and minutes it does
// count (a year-1 or year-9999 timestamp would make every later event of the key
// "late", or end its session). Its key's state is not touched.
func (z *Sessionizer) Add(e *schemas.Event, pos *Position) Outcome {
	key := e.UserKey()
	if len(key) > maxKeyBytes {
		return Invalid
	}
	at := eventTime(e)
	clock := z.now()
	if !z.inWindow(at, clock) {
		return Outside
	}
	ks := z.keys[key]
	if ks == nil {
		ks = &keyState{tenant: z.intern(e.Tenant), shard: uint8(shardOf(key))}
		z.keys[key] = ks
	}
	if pos != nil && ks.flags&ksPos != 0 && pos.atOrBefore(ks.pos) {
		return Replayed
	}
	now := clock.UnixNano()
	if ks.open != nil && time.Duration(now-ks.touched) >= z.rules.IdleTimeout {
		// Quiet for longer than the idle timeout: closed, as Expire would have done.
		z.close(key, ks, EndInactivity)
	}
	z.markDirty(key, ks)
	ks.writer, ks.touched = "", now
	ks.flags |= ksEvents
	if pos != nil {
		ks.pos = *pos
		ks.flags |= ksPos
	}
	id := hashID(e.MessageID)
	if cur := ks.open; cur != nil {
		if e.MessageID != "" && slices.Contains(cur.Seen, id) {
			return Duplicate
		}
		if at.Before(cur.EndedAt) {
			if e.MessageID != "" {
				cur.see(id)
			}
			z.contribute(key, ks, e, at, false)
			if at.Before(cur.StartedAt.Add(-z.rules.Inactivity)) {
				return Late
			}
			z.count(cur, e, at, true)
			return Counted
		}
		if reason := z.endReason(cur, e, at); reason != "" {
			z.close(key, ks, reason)
		}
	}
	out := Counted
	if ks.open == nil {
		z.start(key, ks, e, at)
		out = Started
	}
	if e.MessageID != "" {
		ks.open.see(id)
	}
	z.count(ks.open, e, at, false)
	z.contribute(key, ks, e, at, out == Started)
	return out
}

// inWindow reports whether the minute of at lies in [now − Retention, now +
// MaxFutureSkew].
func (z *Sessionizer) inWindow(at, now time.Time) bool {
	m := at.Truncate(time.Minute)
	return !m.Before(now.Add(-z.rules.Retention).Truncate(time.Minute)) && !m.After(now.Add(MaxFutureSkew))
}

// NeedsCheckpoint reports whether a key's contributions since the last checkpoint
// reached keyBudget: the caller must checkpoint before the next Add, so that every
// key's record and contributions fit one commit (see Checkpoint).
func (z *Sessionizer) NeedsCheckpoint() bool { return z.full }

// see records a messageId hash, keeping the last maxSeen.
func (s *openSession) see(id uint64) {
	if len(s.Seen) >= maxSeen {
		s.Seen = append(s.Seen[:0], s.Seen[len(s.Seen)-maxSeen+1:]...)
	}
	s.Seen = append(s.Seen, id)
}

// Expire closes the sessions of keys this instance processed last that had no event
// for IdleTimeout, and those another instance wrote last after IdleTimeout plus
// OrphanGrace (that instance may have left; if not, its own close arrived first), and
// forgets keys without a session after TombstoneTTL.
func (z *Sessionizer) Expire() {
	now := z.now().UnixNano()
	for key, ks := range z.keys {
		idle := time.Duration(now - ks.touched)
		switch {
		case ks.flags&ksInflight != 0:
		case ks.open != nil && ks.writer == "" && idle >= z.rules.IdleTimeout,
			ks.open != nil && ks.writer != "" && idle >= z.rules.IdleTimeout+z.rules.OrphanGrace:
			ks.writer = ""
			z.markDirty(key, ks)
			z.close(key, ks, EndInactivity)
		case ks.open == nil && ks.flags&ksDirty == 0 && idle >= z.rules.TombstoneTTL:
			delete(z.keys, key)
		}
	}
}

func (z *Sessionizer) markDirty(key string, ks *keyState) {
	if ks.flags&ksDirty == 0 {
		ks.flags |= ksDirty
		z.dirty = append(z.dirty, key)
	}
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
// The session holds its campaign cut to MaxSessionValueBytes: the event's is compared
// cut alike.
func campaignChanged(s *schemas.Session, e *schemas.Event) bool {
	c := e.Ctx.Campaign
	if c.Source != "" || c.Medium != "" || c.Name != "" {
		same := func(ev, held string) bool {
			ev, _ = capValue(ev, MaxSessionValueBytes)
			return ev == held
		}
		if !same(c.Source, s.Campaign.Source) || !same(c.Medium, s.Campaign.Medium) || !same(c.Name, s.Campaign.Name) {
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
	c := e.Ctx.Campaign
	s := schemas.Session{
		SessionID: SessionID(key, e.MessageID), Tenant: ks.tenant, Source: z.text(e.Source), UserKey: key,
		AnonymousID: z.text(e.AnonymousID), StartedAt: at, EndedAt: at,
		Referrer: z.text(e.Ctx.Page.Referrer),
		Campaign: schemas.Campaign{Name: z.text(c.Name), Source: z.text(c.Source), Medium: z.text(c.Medium), Term: z.text(c.Term), Content: z.text(c.Content)},
	}
	if en := e.Enrichment; en != nil {
		s.Browser, s.OS, s.DeviceType = z.text(en.Browser), z.text(en.OS), z.text(en.DeviceType)
	}
	ks.open = &openSession{Session: s}
	z.open++
}

func (z *Sessionizer) count(s *openSession, e *schemas.Event, at time.Time, late bool) {
	s.EventCount++
	if e.UserID != "" && !late {
		s.UserID = z.text(e.UserID)
	}
	if e.Type == schemas.TypePage || e.Type == schemas.TypeScreen {
		s.PageviewCount++
		page := z.text(pageOf(e))
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

// text caps a session's text field (see MaxSessionValueBytes).
func (z *Sessionizer) text(v string) string {
	v, cut := capValue(v, MaxSessionValueBytes)
	if cut {
		z.counts.ValuesCapped++
	}
	return v
}

// keyBudget is what a key's contributions and session ends may add to a commit
// before the sessionizer asks for a checkpoint (NeedsCheckpoint). One event adds
// at most contribBound of six values of MaxValueBytes, a minute (minuteBound) and two
// session ends (an idle close and an end reason), about 2 KB; a record with texts of
// at most MaxSessionValueBytes, a key of at most maxKeyBytes and maxSeen hashes is
// about 40 KB. So a key's part of a commit stays under keyBudget + 42 KB, within
// maxCommitBytes, however many events of whatever content it receives.
const keyBudget = maxCommitBytes / 2

// contribute notes what event e of key adds to the aggregates of its minute.
func (z *Sessionizer) contribute(key string, ks *keyState, e *schemas.Event, at time.Time, started bool) {
	c, capped := eventContrib(e, started)
	z.counts.ValuesCapped += int64(capped)
	c.ks, c.key, c.tenant, c.minute = ks, key, ks.tenant, at.Truncate(time.Minute).Unix()
	z.charge(ks, c.minute, contribBound(&c))
	z.contribs = append(z.contribs, c)
}

// charge adds n bytes, and the minute's own when the key's last contribution was to
// another minute, to what ks adds to its next commit.
func (z *Sessionizer) charge(ks *keyState, minute int64, n int) {
	if m := int32(minute / 60); m != ks.lastMin {
		ks.lastMin = m
		n += minuteBound(ks.tenant)
	}
	ks.cost = int32(min(int64(ks.cost)+int64(n), 1<<30))
	if ks.cost >= keyBudget {
		z.full = true
	}
}

// close ends ks's open session: it joins the closed sessions of the checkpoint, and the
// key counts as active in the minute its session ended.
func (z *Sessionizer) close(key string, ks *keyState, reason string) {
	s := ks.open.Session
	ks.open = nil
	z.open--
	s.DurationMs = s.EndedAt.Sub(s.StartedAt).Milliseconds()
	s.IsBounce = s.EventCount == 1 // a visit of one event: one page, nothing else
	s.EndReason = reason
	s.StartedAt, s.EndedAt = s.StartedAt.UTC(), s.EndedAt.UTC()
	if hashID(s.SessionID) == ks.cended {
		return // another instance's close of it was committed already (an orphan both expired)
	}
	z.closed = append(z.closed, closedSession{key, s})
	c := contrib{ks: ks, key: key, tenant: ks.tenant, minute: s.EndedAt.Truncate(time.Minute).Unix()}
	end := sessionEnd{ID: s.SessionID, Minute: c.minute, DurationMs: s.DurationMs, Bounce: s.IsBounce}
	z.charge(ks, c.minute, sketchInsertBytes+sizeEnd(&end)+binary.MaxVarintLen32) // the record's count of ends may grow
	z.contribs = append(z.contribs, c)
}

// Interning: strings of at most maxInternBytes are interned, in a table of at most
// maxInterned strings, emptied when full (the strings in use stay where they are
// used; new ones are shared again from then on). Browser names and the like come
// from clients: whatever they send, the table stays bounded.
const (
	maxInterned    = 4096
	maxInternBytes = 64
)

func (z *Sessionizer) intern(s string) string {
	if len(s) > maxInternBytes {
		return s
	}
	if v, ok := z.strs[s]; ok {
		return v
	}
	if len(z.strs) >= maxInterned {
		clear(z.strs)
	}
	z.strs[s] = s
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
