package processor

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/clicktrail/clicktrail/schemas"
)

// Minute is one tenant's aggregate of one minute as one processor instance counted it.
// Partials of the same minute from every instance combine with Merge: counts add up,
// the unique-visitor sketches merge, so any instance can serve the whole.
type Minute struct {
	Tenant string    `json:"tenant"`
	Start  time.Time `json:"start"`
	// Events by "type/name" (track events by name, pages by "page").
	Events    map[string]int64 `json:"events"`
	Pageviews map[string]int64 `json:"pageviews"` // by path
	// Visitors estimates the distinct user keys (HyperLogLog, about 1% error).
	Visitors        Sketch `json:"visitors"`
	SessionsStarted int64  `json:"sessionsStarted"`
	// SessionsEnded, Bounces and SessionDurationMs count sessions by the minute they
	// ended in; average duration = SessionDurationMs / SessionsEnded.
	SessionsEnded     int64            `json:"sessionsEnded"`
	Bounces           int64            `json:"bounces"`
	SessionDurationMs int64            `json:"sessionDurationMs"`
	Referrers         map[string]int64 `json:"referrers"`
	UTMSources        map[string]int64 `json:"utmSources"`
	Browsers          map[string]int64 `json:"browsers"`
	Devices           map[string]int64 `json:"devices"`
}

// NewMinute returns an empty aggregate of tenant's minute containing at.
func NewMinute(tenant string, at time.Time) *Minute {
	return &Minute{
		Tenant: tenant, Start: at.UTC().Truncate(time.Minute), Visitors: Sketch{hyperloglog.New14()},
		Events: map[string]int64{}, Pageviews: map[string]int64{}, Referrers: map[string]int64{},
		UTMSources: map[string]int64{}, Browsers: map[string]int64{}, Devices: map[string]int64{},
	}
}

// AddEvent counts one event; started says it began a session.
func (m *Minute) AddEvent(e *schemas.Event, started bool) {
	switch e.Type {
	case schemas.TypeTrack:
		m.Events["track/"+e.Event]++
	default:
		m.Events[e.Type]++
	}
	if e.Type == schemas.TypePage || e.Type == schemas.TypeScreen {
		m.Pageviews[pageOf(e)]++
	}
	m.Visitors.Insert([]byte(e.UserKey()))
	if started {
		m.SessionsStarted++
		if h := host(e.Ctx.Page.Referrer); h != "" {
			m.Referrers[h]++
		}
		if src := e.Ctx.Campaign.Source; src != "" {
			m.UTMSources[src]++
		}
		if en := e.Enrichment; en != nil {
			m.Browsers[en.Browser]++
			m.Devices[en.DeviceType]++
		}
	}
}

// AddSession counts a session that ended in this minute.
func (m *Minute) AddSession(s *schemas.Session) {
	m.SessionsEnded++
	m.SessionDurationMs += s.DurationMs
	if s.IsBounce {
		m.Bounces++
	}
}

// Merge adds o, another partial of the same tenant and minute, into m.
func (m *Minute) Merge(o *Minute) error {
	if o.Tenant != m.Tenant || !o.Start.Equal(m.Start) {
		return fmt.Errorf("merge %s@%s into %s@%s: not the same minute", o.Tenant, o.Start, m.Tenant, m.Start)
	}
	if err := m.Visitors.Merge(o.Visitors.Sketch); err != nil {
		return fmt.Errorf("merge visitor sketches: %w", err)
	}
	m.SessionsStarted += o.SessionsStarted
	m.SessionsEnded += o.SessionsEnded
	m.Bounces += o.Bounces
	m.SessionDurationMs += o.SessionDurationMs
	for _, pair := range [...][2]map[string]int64{
		{m.Events, o.Events}, {m.Pageviews, o.Pageviews}, {m.Referrers, o.Referrers},
		{m.UTMSources, o.UTMSources}, {m.Browsers, o.Browsers}, {m.Devices, o.Devices},
	} {
		for k, v := range pair[1] {
			pair[0][k] += v
		}
	}
	return nil
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
