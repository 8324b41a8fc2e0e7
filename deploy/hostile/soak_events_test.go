package hostile

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/mileusna/useragent"

	"github.com/clicktrail/clicktrail/schemas"
)

// soakValues are the values of a run's events the processor aggregates by.
type soakValues struct {
	paths, names, referrers, sources, browsers, timestamps map[string]bool
	longPaths                                              int
	first, last                                            time.Time
}

// readSoak decodes every body of tr as the collector does (ParseEvent, Validate, the
// year range) and collects its values.
func readSoak(t *testing.T, tr SoakTraffic, now time.Time) soakValues {
	t.Helper()
	v := soakValues{paths: map[string]bool{}, names: map[string]bool{}, referrers: map[string]bool{}, sources: map[string]bool{},
		browsers: map[string]bool{}, timestamps: map[string]bool{}}
	ids := map[string]bool{}
	for b := range tr.Batches {
		body := tr.Body(b, now)
		if len(body) > schemas.MaxRequestBytes {
			t.Fatalf("batch %d is %d bytes, over the collector's limit", b, len(body))
		}
		var req struct {
			Batch  []json.RawMessage `json:"batch"`
			SentAt string            `json:"sentAt"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			t.Fatalf("batch %d: %v\n%s", b, err, body)
		}
		if len(req.Batch) != SoakBatch {
			t.Fatalf("batch %d has %d events", b, len(req.Batch))
		}
		for _, raw := range req.Batch {
			e, err := schemas.ParseEvent(raw)
			if err == nil {
				err = e.Validate()
			}
			if err == nil {
				err = schemas.CheckYearRange("timestamp", e.Timestamp)
			}
			if err != nil {
				t.Fatalf("batch %d: an event the collector rejects: %v\n%s", b, err, raw)
			}
			if ids[e.MessageID] {
				t.Fatalf("messageId %s repeated", e.MessageID)
			}
			ids[e.MessageID] = true
			name := e.Name
			if e.Type == schemas.TypeTrack {
				name = e.Event
			}
			v.names[e.Type+"/"+name] = true
			v.paths[e.Ctx.Page.Path] = true
			if len(e.Ctx.Page.Path) > 200 {
				v.longPaths++
			}
			ref, err := url.Parse(e.Ctx.Page.Referrer)
			if err != nil {
				t.Fatal(err)
			}
			v.referrers[ref.Host] = true
			page, err := url.Parse(e.Ctx.Page.URL)
			if err != nil {
				t.Fatal(err)
			}
			v.sources[page.Query().Get("utm_source")] = true
			v.browsers[useragent.Parse(e.Ctx.UserAgent).Name] = true
			ts := e.Timestamp.Time
			v.timestamps[ts.String()] = true
			if v.first.IsZero() || ts.Before(v.first) {
				v.first = ts
			}
			if ts.After(v.last) {
				v.last = ts
			}
		}
	}
	return v
}

func TestEveryAdversarialSoakEventHasValuesAndATimestampOfItsOwn(t *testing.T) {
	now := time.Now()
	tr := SoakTraffic{Run: "s0a1b2c3d", Adversarial: true, Batches: 150, Visitors: 40, Until: now}
	v := readSoak(t, tr, now)
	events := tr.Batches * SoakBatch
	for what, set := range map[string]map[string]bool{
		"page paths": v.paths, "event names": v.names, "referrer hosts": v.referrers,
		"UTM sources": v.sources, "browsers": v.browsers, "timestamps": v.timestamps,
	} {
		if len(set) != events {
			t.Errorf("%d distinct %s in %d events, want one each", len(set), what, events)
		}
	}
	if v.longPaths == 0 || v.longPaths > events/2 {
		t.Errorf("%d of %d paths are longer than the processor's 200-byte cap, want some", v.longPaths, events)
	}
	if v.first.Year() != 1 || v.last.After(now) || v.last.Year() < now.Year()-1 {
		t.Errorf("timestamps from %s to %s, want years 0001 to now", v.first, v.last)
	}
}

func TestOrdinarySoakEventsRepeatAFewHundredValuesStampedNow(t *testing.T) {
	now := time.Now()
	tr := SoakTraffic{Run: "s0a1b2c3d", Batches: 150, Visitors: 40, Until: now}
	v := readSoak(t, tr, now)
	if len(v.paths) > soakPaths || len(v.paths) < 100 {
		t.Errorf("%d distinct page paths, want a few hundred", len(v.paths))
	}
	if len(v.browsers) > len(soakAgents) || len(v.referrers) != len(soakReferrers) || len(v.sources) != 2 {
		t.Errorf("%d browsers, %d referrer hosts, %d UTM sources (with none): want a handful", len(v.browsers), len(v.referrers), len(v.sources))
	}
	if len(v.timestamps) != 1 || !v.first.Equal(now) {
		t.Errorf("timestamps from %s to %s, want all %s", v.first, v.last, now)
	}
}

func TestSoakEventsOfBothKindsWeighAboutTheSame(t *testing.T) {
	now := time.Now()
	size := func(adversarial bool) int {
		tr := SoakTraffic{Run: "s0a1b2c3d", Adversarial: adversarial, Batches: 100, Visitors: 40, Until: now}
		n := 0
		for b := range tr.Batches {
			n += len(tr.Body(b, now))
		}
		return n / (tr.Batches * SoakBatch)
	}
	ordinary, adversarial := size(false), size(true)
	if ordinary < 500 || 10*adversarial > 13*ordinary {
		t.Errorf("%d bytes an ordinary event, %d an adversarial one: want about the same (within 30%%)", ordinary, adversarial)
	}
	t.Logf("%d bytes an ordinary event, %d an adversarial one", ordinary, adversarial)
}
