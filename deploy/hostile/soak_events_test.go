package hostile

import (
	"bytes"
	"compress/flate"
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
	// minutes counts the events of each minute (Unix seconds of its start); long
	// holds the paths and referrers of 1 KB and more, hostLen the longest referrer host.
	minutes map[int64]int
	long    []string
	hostLen int
}

// readSoak decodes every body of tr as the collector does (ParseEvent, Validate, the
// year range) and collects its values.
func readSoak(t *testing.T, tr SoakTraffic, now time.Time) soakValues {
	t.Helper()
	v := soakValues{paths: map[string]bool{}, names: map[string]bool{}, referrers: map[string]bool{}, sources: map[string]bool{},
		browsers: map[string]bool{}, timestamps: map[string]bool{}, minutes: map[int64]int{}}
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
			v.hostLen = max(v.hostLen, len(ref.Hostname()))
			for _, s := range []string{e.Ctx.Page.Path, e.Ctx.Page.Referrer} {
				if len(s) >= 1024 {
					v.long = append(v.long, s)
				}
			}
			page, err := url.Parse(e.Ctx.Page.URL)
			if err != nil {
				t.Fatal(err)
			}
			v.sources[page.Query().Get("utm_source")] = true
			v.browsers[useragent.Parse(e.Ctx.UserAgent).Name] = true
			ts := e.Timestamp.Time
			v.timestamps[ts.String()] = true
			v.minutes[ts.Truncate(time.Minute).Unix()]++
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
	tr := SoakTraffic{Run: "s0a1b2c3d", Kind: SoakAdversarial, Batches: 150, Visitors: 40, Until: now}
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

func TestAdversarialRecentSoakEventsHaveValuesOfTheirOwnSomeLongAndAllWithinTheWindow(t *testing.T) {
	now := time.Now()
	tr := SoakTraffic{Run: "s0a1b2c3d", Kind: SoakRecent, Batches: 150, Visitors: 40, Until: now}
	v := readSoak(t, tr, now)
	events := tr.Batches * SoakBatch
	for what, set := range map[string]map[string]bool{
		"page paths": v.paths, "event names": v.names, "referrer hosts": v.referrers,
		"UTM sources": v.sources, "browsers": v.browsers,
	} {
		if len(set) != events {
			t.Errorf("%d distinct %s in %d events, want one each", len(set), what, events)
		}
	}
	// An eighth of the events has a path and a referrer of 1 to 2 KB (and a host over
	// the processor's 200-byte cap), random enough that compression keeps most of it.
	if len(v.long) != 2*events/8 {
		t.Errorf("%d paths and referrers of 1 KB or more in %d events, want an eighth of each", len(v.long), events)
	}
	if v.hostLen <= 200 {
		t.Errorf("the longest referrer host is %d bytes, want some over 200", v.hostLen)
	}
	var raw, packed bytes.Buffer
	w, _ := flate.NewWriter(&packed, flate.BestCompression)
	for _, s := range v.long {
		if len(s) > 2400 {
			t.Errorf("a long value of %d bytes, want 1 to 2 KB and its prefix", len(s))
		}
		raw.WriteString(s)
		_, _ = w.Write([]byte(s))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if 10*packed.Len() < 7*raw.Len() {
		t.Errorf("the long values compress from %d to %d bytes, want at least 70%% kept", raw.Len(), packed.Len())
	}
	// Every timestamp lies within the last 47 hours (the processor keeps 48), evenly
	// spread but for a sixteenth of them in one minute an hour ago.
	if v.first.Before(now.Add(-soakRecentSpan)) || v.last.After(now) {
		t.Errorf("timestamps from %s to %s, want within the 47 hours before %s", v.first, v.last, now)
	}
	busiest, at := 0, int64(0)
	for m, n := range v.minutes {
		if n > busiest {
			busiest, at = n, m
		}
	}
	burst := now.Add(-soakBurstAgo).Truncate(time.Minute)
	if busiest < events/soakBurstEvery || at != burst.Unix() {
		t.Errorf("the busiest minute %s has %d events, want the minute %s with at least %d", time.Unix(at, 0).UTC(), busiest, burst.UTC(), events/soakBurstEvery)
	}
	if len(v.minutes) < events/2 {
		t.Errorf("%d minutes hold the %d events, want them spread", len(v.minutes), events)
	}
}

func TestSoakEventsOfEveryKindWeighAboutTheSameButTheLongOnes(t *testing.T) {
	now := time.Now()
	size := func(kind SoakKind) int {
		tr := SoakTraffic{Run: "s0a1b2c3d", Kind: kind, Batches: 100, Visitors: 40, Until: now}
		n := 0
		for b := range tr.Batches {
			n += len(tr.Body(b, now))
		}
		return n / (tr.Batches * SoakBatch)
	}
	ordinary, adversarial, recent := size(SoakOrdinary), size(SoakAdversarial), size(SoakRecent)
	if ordinary < 500 || 10*adversarial > 13*ordinary {
		t.Errorf("%d bytes an ordinary event, %d an adversarial one: want about the same (within 30%%)", ordinary, adversarial)
	}
	// An eighth of the adversarial-recent events carry about 6 KB more: a path of 1 to
	// 2 KB three times (path, URL, title) and a referrer of as much.
	if recent < adversarial+500 || recent > adversarial+1000 {
		t.Errorf("%d bytes an adversarial-recent event, %d an adversarial one: want 500 to 1,000 more", recent, adversarial)
	}
	t.Logf("%d bytes an ordinary event, %d an adversarial one, %d an adversarial-recent one", ordinary, adversarial, recent)
}
