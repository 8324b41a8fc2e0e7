package protocol

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/clicktrail/clicktrail/schemas"
)

// Counts are the additive part of a minute's aggregate: what one key contributed in
// one checkpoint, or what every key contributed in all. Two Counts add up with Add.
type Counts struct {
	// Events by "type" ("page", "identify", ...) or "track/<event name>".
	Events    map[string]int64 `json:"events,omitempty"`
	Pageviews map[string]int64 `json:"pageviews,omitempty"` // by path
	// SessionsStarted and the session-level breakdowns (referrer host, utm_source,
	// browser, device) count sessions by the minute of their first event.
	SessionsStarted int64            `json:"sessionsStarted,omitempty"`
	Referrers       map[string]int64 `json:"referrers,omitempty"`
	UTMSources      map[string]int64 `json:"utmSources,omitempty"`
	Browsers        map[string]int64 `json:"browsers,omitempty"`
	Devices         map[string]int64 `json:"devices,omitempty"`
	// SessionsEnded, Bounces and SessionDurationMs count closed sessions by the minute of
	// their last event; average duration = SessionDurationMs / SessionsEnded.
	SessionsEnded     int64 `json:"sessionsEnded,omitempty"`
	Bounces           int64 `json:"bounces,omitempty"`
	SessionDurationMs int64 `json:"sessionDurationMs,omitempty"`
}

// eventContrib is what event e adds to its minute's counts; started says it began a
// session. Its values are capped to MaxValueBytes; capped counts how many were cut.
func eventContrib(e *schemas.Event, started bool) (ct contrib, capped int) {
	one := func(v string) string {
		v, cut := capValue(v, MaxValueBytes)
		if cut {
			capped++
		}
		return v
	}
	ct.event = one(e.Type)
	if e.Type == schemas.TypeTrack {
		ct.event = one("track/" + e.Event)
	}
	if e.Type == schemas.TypePage || e.Type == schemas.TypeScreen {
		ct.page = one(pageOf(e))
	}
	if started {
		ct.started = true
		ct.referrer, ct.utm = one(host(e.Ctx.Page.Referrer)), one(e.Ctx.Campaign.Source)
		// A server-side event (a server library's, see schemas.Enrichment.ServerSide)
		// has no browser or device: counting it as "unknown" would inflate them.
		if en := e.Enrichment; en != nil && !en.ServerSide {
			ct.browser, ct.dev = one(orUnknown(en.Browser)), one(orUnknown(en.DeviceType))
		}
	}
	return ct, capped
}

// add counts one contribution of a checkpoint (an event, or the key's activity in the
// minute its session ended, which only the visitor sketch notes) and notes its key as
// a visitor. Its values are capped already (eventContrib).
func (m *Minute) add(ct *contrib) {
	m.Visitors.Insert([]byte(ct.key))
	if ct.event == "" {
		return
	}
	m.Count(DimEvents, ct.event, 1)
	if ct.page != "" {
		m.Count(DimPageviews, ct.page, 1)
	}
	if !ct.started {
		return
	}
	m.SessionsStarted++
	if ct.referrer != "" {
		m.Count(DimReferrers, ct.referrer, 1)
	}
	if ct.utm != "" {
		m.Count(DimUTMSources, ct.utm, 1)
	}
	if ct.browser != "" {
		m.Count(DimBrowsers, ct.browser, 1)
		m.Count(DimDevices, ct.dev, 1)
	}
}

// AddSession counts a session that ended in this minute.
func (c *Counts) AddSession(s *schemas.Session) {
	c.SessionsEnded++
	c.SessionDurationMs += s.DurationMs
	if s.IsBounce {
		c.Bounces++
	}
}

// Add adds o into c, without bounds (a sum over a range of minutes).
func (c *Counts) Add(o *Counts) {
	c.SessionsStarted += o.SessionsStarted
	c.SessionsEnded += o.SessionsEnded
	c.Bounces += o.Bounces
	c.SessionDurationMs += o.SessionDurationMs
	addMap(&c.Events, o.Events)
	addMap(&c.Pageviews, o.Pageviews)
	addMap(&c.Referrers, o.Referrers)
	addMap(&c.UTMSources, o.UTMSources)
	addMap(&c.Browsers, o.Browsers)
	addMap(&c.Devices, o.Devices)
}

// TotalEvents is the sum of Events.
func (c *Counts) TotalEvents() int64 { return sum(c.Events) }

// TotalPageviews is the sum of Pageviews.
func (c *Counts) TotalPageviews() int64 { return sum(c.Pageviews) }

// Minute is one tenant's aggregate of one minute (UTC, by corrected event time):
// the counts, and a HyperLogLog sketch of the user keys active in it. Partial minutes
// combine with Merge: counts add up, sketches merge. Each dimension keeps at most
// MaxDistinctValues values of at most MaxValueBytes (see Minute.Count).
type Minute struct {
	Tenant string    `json:"tenant"`
	Start  time.Time `json:"start"`
	Counts
	// Visitors estimates the distinct user keys (HyperLogLog, precision 14: exact up
	// to a few thousand keys in its sparse form, about 1% error beyond).
	Visitors Sketch `json:"visitors"`

	// full holds the kept values of the dimensions that overflowed (see count).
	full *[NumDims]*keptHeap
}

// NewMinute returns an empty aggregate of tenant's minute containing at.
func NewMinute(tenant string, at time.Time) *Minute {
	return &Minute{Tenant: tenant, Start: at.UTC().Truncate(time.Minute), Visitors: Sketch{hyperloglog.New14()}}
}

// AddEvent counts one event of the user key e.UserKey(); started says it began a session.
func (m *Minute) AddEvent(e *schemas.Event, started bool) {
	ct, _ := eventContrib(e, started)
	ct.key = e.UserKey()
	m.add(&ct)
}

// Merge adds o, another partial of the same tenant and minute, into m, under the
// bounds on values (see Minute.Count): the result does not depend on the order of
// merges.
func (m *Minute) Merge(o *Minute) error {
	if o.Tenant != m.Tenant || !o.Start.Equal(m.Start) {
		return fmt.Errorf("merge %s@%s into %s@%s: not the same minute", o.Tenant, o.Start, m.Tenant, m.Start)
	}
	if err := m.Visitors.Merge(o.Visitors.Sketch); err != nil {
		return fmt.Errorf("merge visitor sketches: %w", err)
	}
	m.MergeCounts(&o.Counts)
	return nil
}

// Fold adds o into m whatever their starts: m is a bucket (an hour, a day, a
// range) that contains o's minute. Sketches of precision 14 always merge.
func (m *Minute) Fold(o *Minute) {
	_ = m.Visitors.Merge(o.Visitors.Sketch)
	m.MergeCounts(&o.Counts)
}

// Sketch is a HyperLogLog sketch that travels in JSON as its binary form (base64).
type Sketch struct{ *hyperloglog.Sketch }

// MarshalJSON encodes the sketch's binary form.
func (s Sketch) MarshalJSON() ([]byte, error) {
	b, err := s.Sketch.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(b)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (s *Sketch) UnmarshalJSON(data []byte) error {
	var b []byte
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("visitor sketch: %w", err)
	}
	s.Sketch = hyperloglog.New14()
	return s.Sketch.UnmarshalBinary(b)
}

func inc(m *map[string]int64, k string, n int64) {
	if *m == nil {
		*m = map[string]int64{}
	}
	(*m)[k] += n
}

func addMap(dst *map[string]int64, src map[string]int64) {
	for k, v := range src {
		inc(dst, k, v)
	}
}

func sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
