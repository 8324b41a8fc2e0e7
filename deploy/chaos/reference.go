package chaos

import (
	"net/url"
	"sort"
	"time"

	"github.com/clicktrail/clicktrail/deploy/simulate"
	"github.com/clicktrail/clicktrail/processor/protocol"
)

// Session rules the reference applies: the processor's defaults (processor/doc.go),
// with midnight in UTC, the time zone of the suite's source.
const (
	inactivity = 30 * time.Minute
	maxSession = 24 * time.Hour
)

// Reference is what the processor should serve, computed from the accepted events
// alone, the straightforward way: per visitor, in the order the simulator sent them.
//
// Only the minute an event falls in needs the collector: it corrects the client's
// clock with its own (timestamp = receivedAt − (sentAt − timestamp)), so the stored
// time is the simulator's Time plus the request's transit. times gives each event's
// stored time (from the lake, checked against that window by CheckTimes); an event
// without one is placed at its Time.
type Reference struct {
	Events, Pageviews int64
	// ByEvent counts events by type, or "track/<name>" for track events (as the
	// stats' events list), ByPath pageviews by path, Referrers and UTMSources sessions
	// by the referrer host and utm_source of their first event.
	ByEvent, ByPath, Referrers, UTMSources map[string]int64
	Visitors                               int
	Sessions                               map[string]*RefSession
	Bounces                                int64
	Minutes                                map[int64]*RefMinute // by Unix second of the minute
}

// RefSession is a session as the reference sees it.
type RefSession struct {
	ID, UserKey       string
	Start, End        time.Time
	Events, Pageviews int
	Entry, Exit       string
	Bounce            bool
	Reason            string
	campaign          [3]string
}

// RefMinute is one minute of the reference, by event time.
type RefMinute struct {
	Events, Pageviews, Sessions, Bounces int64
	Keys                                 map[string]bool
}

// NewReference computes the reference of events.
func NewReference(events []simulate.Event, times map[string]time.Time) *Reference {
	ref := &Reference{
		ByEvent: map[string]int64{}, ByPath: map[string]int64{}, Referrers: map[string]int64{}, UTMSources: map[string]int64{},
		Sessions: map[string]*RefSession{}, Minutes: map[int64]*RefMinute{},
	}
	byKey := map[string][]simulate.Event{}
	for _, e := range events {
		byKey[e.AnonymousID] = append(byKey[e.AnonymousID], e)
	}
	ref.Visitors = len(byKey)
	minute := func(t time.Time) *RefMinute {
		k := t.UTC().Truncate(time.Minute).Unix()
		m := ref.Minutes[k]
		if m == nil {
			m = &RefMinute{Keys: map[string]bool{}}
			ref.Minutes[k] = m
		}
		return m
	}
	for key, evs := range byKey {
		sort.Slice(evs, func(i, j int) bool {
			a, b := evs[i], evs[j]
			if a.Visit != b.Visit {
				return a.Visit < b.Visit
			}
			if a.Page != b.Page {
				return a.Page < b.Page
			}
			return a.Index < b.Index
		})
		var cur *RefSession
		seen := map[string]bool{}
		closeCur := func(reason string) {
			cur.Reason, cur.Bounce = reason, cur.Events == 1
			ref.Sessions[cur.ID] = cur
			if cur.Bounce {
				ref.Bounces++
				minute(cur.End).Bounces++
			}
			cur = nil
		}
		for _, e := range evs {
			if seen[e.MessageID] {
				continue // the same event twice: counted once
			}
			seen[e.MessageID] = true
			at := e.Time
			if t, ok := times[e.MessageID]; ok {
				at = t
			}
			late := false
			if cur != nil {
				if at.Before(cur.End) {
					// Older than the session's last event: counted in it, without
					// changing its exit page (processor/doc.go, late events).
					late = true
				} else if reason := endReason(cur, e, at); reason != "" {
					closeCur(reason)
				}
			}
			m := minute(at)
			m.Events++
			m.Keys[key] = true
			ref.Events++
			if e.Type == "track" {
				ref.ByEvent["track/"+e.Event]++
			} else {
				ref.ByEvent[e.Type]++
			}
			if cur == nil {
				cur = &RefSession{ID: protocol.SessionID(key, e.MessageID), UserKey: key, Start: at, End: at, campaign: campaignOf(e.URL)}
				m.Sessions++
				if h := hostOf(e.Referrer); h != "" {
					ref.Referrers[h]++
				}
				if src := cur.campaign[0]; src != "" {
					ref.UTMSources[src]++
				}
			}
			cur.Events++
			if at.Before(cur.Start) {
				cur.Start = at
			}
			if at.After(cur.End) {
				cur.End = at
			}
			if e.Type == "page" {
				m.Pageviews++
				ref.Pageviews++
				ref.ByPath[e.Path]++
				cur.Pageviews++
				if cur.Entry == "" {
					cur.Entry = e.Path
				}
				if !late {
					cur.Exit = e.Path
				}
			}
		}
		if cur != nil {
			closeCur(protocol.EndInactivity)
		}
	}
	return ref
}

// endReason says why an event at at ends the open session s, or "".
func endReason(s *RefSession, e simulate.Event, at time.Time) string {
	switch {
	case at.Sub(s.End) >= inactivity:
		return protocol.EndInactivity
	case at.Sub(s.Start) >= maxSession:
		return protocol.EndMaxDuration
	case !sameUTCDay(s.Start, at):
		return protocol.EndMidnight
	}
	if e.Type != "page" {
		return ""
	}
	if c := campaignOf(e.URL); c != ([3]string{}) && c != s.campaign {
		return protocol.EndCampaignChange
	}
	if rh, ph := hostOf(e.Referrer), hostOf(e.URL); rh != "" && ph != "" && rh != ph {
		return protocol.EndCampaignChange
	}
	return ""
}

// campaignOf reads utm_source, utm_medium and utm_campaign from a page URL, as the
// collector fills context.campaign when the SDK sent none.
func campaignOf(raw string) [3]string {
	u, err := url.Parse(raw)
	if err != nil {
		return [3]string{}
	}
	q := u.Query()
	return [3]string{q.Get("utm_source"), q.Get("utm_medium"), q.Get("utm_campaign")}
}

func hostOf(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func sameUTCDay(a, b time.Time) bool {
	ay, am, ad := a.UTC().Date()
	by, bm, bd := b.UTC().Date()
	return ay == by && am == bm && ad == bd
}
