package hostile

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// SoakTraffic builds the soak's request bodies. Every kind has the same shape: batch
// b is SoakBatch events of one visitor (of Visitors), two page views to one track
// event, each with a page URL, path, title and referrer, a User-Agent, a locale, a
// screen and the library (600 bytes an ordinary event, 700 an adversarial one, 1,400
// on average an adversarial-recent one), and a messageId unique to the run.
//
// Ordinary events are what sites send: one of 300 page paths, one of six event names,
// eight referrer hosts, six browsers' User-Agents, a UTM source on a quarter of the
// batches, stamped when sent.
//
// Adversarial events each have a page path (an eighth of them longer than the
// processor's 200-byte cap), an event or page name, a referrer host, a UTM source
// and a User-Agent whose browser token is their own, and a timestamp of their own:
// the run's timestamps are spread evenly from 0001-01-02 to Until, a batch's events
// centuries apart. sentAt is the send time, so the collector's skew correction keeps
// the timestamps as they are.
//
// Adversarial-recent events have the same values of their own, but an eighth of them
// carry a random page path and referrer of 1 to 2 KB (the referrer's host over 200
// bytes), which no compression takes away, and their timestamps lie within the
// processor's retention window, so that every event is aggregated and sessionized:
// spread evenly over the 47 hours before Until, but for one event in 16 stamped
// within one minute an hour before Until, so that this minute holds more distinct
// values than the processor names in a dimension (1,000): page paths from 24,000
// events a run on (two thirds are page views), event names from 48,000.
type SoakTraffic struct {
	// Run is unique to the run, in every messageId, visitor and adversarial value.
	Run  string
	Kind SoakKind
	// Batches is the run's batches; Visitors the visitors they are spread over.
	Batches, Visitors int
	// Until ends the adversarial timestamps (the run's start).
	Until time.Time
}

// SoakKind is the events of a soak run.
type SoakKind int

// The kinds of soak runs, in the order BenchmarkSoak runs them.
const (
	SoakOrdinary SoakKind = iota
	SoakAdversarial
	SoakRecent // adversarial, within the processor's retention window
)

// String is the run's name in the benchmark's metrics.
func (k SoakKind) String() string {
	switch k {
	case SoakAdversarial:
		return "adversarial"
	case SoakRecent:
		return "adversarial-recent"
	default:
		return "ordinary"
	}
}

// soakFirst is the adversarial run's first timestamp: a day after the first instant
// of year 0001, so that no correction of the send's few milliseconds moves it out.
var soakFirst = time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC)

// Ordinary traffic's values.
var (
	soakSections  = [...]string{"docs", "blog", "products", "pricing", "help", "careers"}
	soakEvents    = [...]string{"Button Clicked", "Signup Started", "Signup Completed", "Video Played", "Search", "Add To Cart"}
	soakReferrers = [...]string{"www.google.com", "news.ycombinator.com", "www.bing.com", "duckduckgo.com", "t.co", "www.reddit.com", "github.com", "news.example.org"}
	soakAgents    = [...]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
	}
)

const soakPaths = 300

// soakEvent is the values of one event.
type soakEvent struct {
	track                       bool
	name, path, referrer, agent string
	utmSource, timestamp        string
}

// Body is batch b's request body, sent at now.
func (t SoakTraffic) Body(b int, now time.Time) []byte {
	var buf bytes.Buffer
	buf.Grow(SoakBatch * 2000)
	buf.WriteString(`{"batch":[`)
	v := b % max(t.Visitors, 1)
	visitor := t.Run + "-v" + strconv.Itoa(v)
	r := rand.New(rand.NewPCG(uint64(b), 11))
	for j := range SoakBatch {
		if j > 0 {
			buf.WriteByte(',')
		}
		k := b*SoakBatch + j
		var e soakEvent
		switch t.Kind {
		case SoakAdversarial:
			e = t.adversarial(b, j)
		case SoakRecent:
			e = t.recent(b, j)
		default:
			e = t.ordinary(r, b, v, j, now)
		}
		head := fmt.Sprintf(`"type":"page","name":%q`, e.name)
		if e.track {
			head = fmt.Sprintf(`"type":"track","event":%q,"properties":{"label":"hero","position":%d}`, e.name, j)
		}
		url := "https://www.example.com" + e.path
		if e.utmSource != "" {
			url += "?utm_source=" + e.utmSource + "&utm_medium=email&utm_campaign=autumn"
		}
		fmt.Fprintf(&buf, `{%s,"messageId":"%s-%d","anonymousId":%q,"timestamp":%q,"context":{"page":{"url":%q,"path":%q,"title":%q,"referrer":%q},"userAgent":%q,"locale":"en-US","timezone":"Europe/Berlin","screen":{"width":1920,"height":1080,"density":1},"library":{"name":"clicktrail-sdk","version":"0.1.0"}}}`,
			head, t.Run, k, visitor, e.timestamp, url, e.path, "Example - "+e.path, e.referrer, e.agent)
	}
	fmt.Fprintf(&buf, `],"sentAt":%q}`, now.UTC().Format(time.RFC3339Nano))
	return buf.Bytes()
}

func (t SoakTraffic) ordinary(r *rand.Rand, b, visitor, j int, now time.Time) soakEvent {
	p := r.IntN(soakPaths)
	e := soakEvent{
		track:     j%3 == 2,
		path:      "/" + soakSections[p%len(soakSections)] + "/" + strconv.Itoa(p),
		referrer:  "https://" + soakReferrers[r.IntN(len(soakReferrers))] + "/",
		agent:     soakAgents[visitor%len(soakAgents)], // a visitor keeps its browser
		timestamp: now.UTC().Format(time.RFC3339Nano),
	}
	e.name = e.path[1:]
	if e.track {
		e.name = soakEvents[r.IntN(len(soakEvents))]
	}
	if b%4 == 0 {
		e.utmSource = "newsletter"
	}
	return e
}

// adversarial is event j of batch b: values of its own, and the timestamp at index
// j×Batches+b of the run's spread (a one-to-one map of the run's events).
func (t SoakTraffic) adversarial(b, j int) soakEvent {
	i := b*SoakBatch + j
	k := strconv.Itoa(i)
	// An eighth of the paths are longer than the processor's 200-byte cap.
	fill := 0
	if i%8 == 0 {
		fill = 200 + i%60
	}
	e := soakEvent{
		track:     j%3 == 2,
		path:      "/a/" + t.Run + "/" + k + "/" + strings.Repeat("x", fill),
		referrer:  "https://r" + k + "-" + t.Run + ".example.net/",
		agent:     "Mozilla/5.0 (X11; Linux x86_64) B" + t.Run + "x" + k + "/" + strconv.Itoa(b%100) + ".0",
		utmSource: "u" + k + "-" + t.Run,
		timestamp: t.spread(j*t.Batches + b).Format(time.RFC3339Nano),
	}
	e.name = "p-" + t.Run + "-" + k
	if e.track {
		e.name = "e-" + t.Run + "-" + k
	}
	return e
}

// spread is the i-th of the run's timestamps, evenly spaced from soakFirst to Until
// in whole seconds (time.Duration holds ±292 years only).
func (t SoakTraffic) spread(i int) time.Time {
	n := int64(max(t.Batches*SoakBatch, 1))
	step := max(1, (t.Until.Unix()-soakFirst.Unix())/n)
	return time.Unix(soakFirst.Unix()+int64(i)*step, 0).UTC()
}

// Adversarial-recent timestamps: soakRecentSpan is their spread, inside the
// processor's 48-hour retention with an hour to spare for the run; one event in
// soakBurstEvery lies in the minute starting soakBurstAgo before Until (truncated).
const (
	soakRecentSpan = 47 * time.Hour
	soakBurstEvery = 16
	soakBurstAgo   = time.Hour
)

// recent is event j of batch b of an adversarial-recent run: the adversarial event's
// values, an eighth of them (those whose path an adversarial run makes longer than
// 200 bytes) with a random path and referrer of 1 to 2 KB instead (randomText's
// base64 characters, 6 bits each), and a timestamp from recentSpread.
func (t SoakTraffic) recent(b, j int) soakEvent {
	e := t.adversarial(b, j)
	i := b*SoakBatch + j
	k := strconv.Itoa(i)
	if i%8 == 0 {
		r := rand.New(rand.NewPCG(uint64(i), 13))
		e.path = "/a/" + t.Run + "/" + k + "/" + randomText(r, 1024+r.IntN(1024))
		e.referrer = "https://r" + k + "-" + t.Run + "-" + hostLabel(r, 200+r.IntN(50)) +
			".example.net/" + randomText(r, 1024+r.IntN(1024))
	}
	e.timestamp = t.recentSpread(j*t.Batches + b).Format(time.RFC3339Nano)
	return e
}

// recentSpread is the i-th of the adversarial-recent run's timestamps: evenly spaced
// over the soakRecentSpan before Until, but for every soakBurstEvery-th, evenly
// spaced over the burst minute.
func (t SoakTraffic) recentSpread(i int) time.Time {
	n := max(t.Batches*SoakBatch, 1)
	if i%soakBurstEvery == 0 {
		start := t.Until.Add(-soakBurstAgo).Truncate(time.Minute)
		step := time.Minute / time.Duration(n/soakBurstEvery+1)
		return start.Add(time.Duration(i/soakBurstEvery) * step).UTC()
	}
	step := soakRecentSpan / time.Duration(n)
	return t.Until.Add(-soakRecentSpan + time.Duration(i)*step).UTC()
}

// hostLabel is n random characters a host name keeps as they are (randomText's,
// lowercased, its '+' and '/' made '-').
func hostLabel(r *rand.Rand, n int) string {
	return strings.Map(func(c rune) rune {
		if c == '+' || c == '/' {
			return '-'
		}
		return unicode.ToLower(c)
	}, randomText(r, n))
}
