package hostile

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// SoakTraffic builds the soak's request bodies. Both kinds have the same shape: batch
// b is SoakBatch events of one visitor (of Visitors), two page views to one track
// event, each with a page URL, path, title and referrer, a User-Agent, a locale, a
// screen and the library (600 bytes an ordinary event, 700 an adversarial one), and
// a messageId unique to the run.
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
type SoakTraffic struct {
	// Run is unique to the run, in every messageId, visitor and adversarial value.
	Run         string
	Adversarial bool
	// Batches is the run's batches; Visitors the visitors they are spread over.
	Batches, Visitors int
	// Until ends the adversarial timestamps (the run's start).
	Until time.Time
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
	buf.Grow(SoakBatch * 800)
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
		if t.Adversarial {
			e = t.adversarial(b, j)
		} else {
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
