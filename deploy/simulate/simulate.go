// Package simulate sends the traffic of simulated website visitors to a collector, over
// HTTP as the browser SDK does: visits of several pages with think time between them,
// campaigns and referrers, desktop and mobile browsers, logged-in users, a share of bots
// and a share of malformed requests. It reports what was sent, accepted and rejected,
// and can record every accepted messageId (and, with RecordEvents, every accepted
// event) as ground truth for end-to-end checks.
//
// With RetryFor set it retries as the SDK does: a request that got no answer, a 5xx or
// a 429 is sent again with the same events (the same messageIds, so a request that was
// stored but not answered arrives twice and the pipeline must remove the copy) until
// it is answered or RetryFor has passed.
package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Config of a simulation.
type Config struct {
	// URL is the collector's base URL.
	URL string
	// WriteKey of the source to send as.
	WriteKey string
	// Visitors is how many visits to simulate (0: until ctx ends).
	Visitors int
	// Rate is new visitors per second.
	Rate float64
	// Concurrency bounds visits in progress.
	Concurrency int
	// ThinkTime is the mean pause between two pages of a visit (exponential).
	ThinkTime time.Duration
	// BotShare and MalformedShare are the fractions of bot visits and of malformed
	// requests.
	BotShare, MalformedShare float64
	// Seed makes a run repeatable.
	Seed uint64
	// Now is the clock stamped on events.
	Now func() time.Time
	// Client sends the requests.
	Client *http.Client
	// RetryFor keeps retrying a request that got no answer, a 5xx or a 429 for this
	// long after its first attempt, with the same events and a fresh sentAt (as the SDK
	// stamps it at each send); pauses double from 100 ms to 5 s and honour Retry-After.
	// A visit sends its next page only once the page before is answered. 0: every
	// request is sent once.
	RetryFor time.Duration
	// Drain, when closed, ends the run gently: no new visit starts, and a visit in
	// progress stops once the request it is sending is answered or given up (retries
	// included). Cancelling ctx instead abandons the requests in flight.
	Drain <-chan struct{}
	// RecordEvents keeps every accepted event in Report.AcceptedEvents, and every event
	// of a request given up unanswered or with a 5xx in Report.UnconfirmedEvents.
	RecordEvents bool
	// OnAttempt, when set, is called after every HTTP request, from the visits'
	// goroutines at once.
	OnAttempt func(Attempt)
}

// Attempt is one HTTP request, as Config.OnAttempt sees it.
type Attempt struct {
	Start, End time.Time
	// Status is the answer's HTTP status; 0 when there was none (connection refused or
	// reset, timeout).
	Status int
	// Retry counts the attempts of the same request before this one.
	Retry int
	// Events is the number of events in the request.
	Events int
	// Accepted are the events the collector accepted, on the request's final attempt
	// when it was answered 200.
	Accepted []Event
}

// Event is one event as the simulator sent it: what a ground truth needs.
type Event struct {
	MessageID   string
	Type        string // page, track or identify
	Event       string // a track event's name
	Name        string // a page's name
	AnonymousID string
	UserID      string
	URL         string // the page's URL, with its utm_* query on a visit's first page
	Path        string
	Referrer    string
	UserAgent   string
	// Visit numbers the visit, Page the page within it and Index the event within the
	// page's batch: (Visit, Page, Index) is the order in which they were sent.
	Visit, Page, Index int
	// Time is when the event happened by the clock of the machine the simulator runs
	// on. The collector's skew correction (timestamp = receivedAt − (sentAt −
	// timestamp)) stores Time plus the transit time of the request that delivered it:
	// a time in [Time, Time+Transit].
	Time time.Time
	// Transit is the duration of the longest attempt of the event's request.
	Transit time.Duration
	// Refused is when its request was first refused (no answer, a 5xx or a 429); zero
	// if its first attempt was answered otherwise.
	Refused time.Time
}

// Report is what a run did.
type Report struct {
	Visits        int         `json:"visits"`
	Requests      int         `json:"requests"`
	Sent          int         `json:"eventsSent"`
	Accepted      int         `json:"eventsAccepted"`
	Rejected      int         `json:"eventsRejected"`
	MalformedSent int         `json:"malformedRequests"`
	Status        map[int]int `json:"status"`
	LatencyP50Ms  float64     `json:"latencyP50Ms"`
	LatencyP99Ms  float64     `json:"latencyP99Ms"`
	AcceptedIDs   []string    `json:"-"`
	// Retries counts the requests sent again (see Config.RetryFor); Requests includes
	// them.
	Retries int `json:"retries"`
	// Unconfirmed counts the events of requests given up without an answer or with a
	// 5xx: they were not accepted, but they may have been stored.
	Unconfirmed int `json:"eventsUnconfirmed"`
	// AcceptedEvents and UnconfirmedEvents are kept with Config.RecordEvents.
	AcceptedEvents    []Event `json:"-"`
	UnconfirmedEvents []Event `json:"-"`
}

// Run simulates visits until cfg.Visitors are done or ctx ends.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.URL == "" || cfg.WriteKey == "" {
		return nil, fmt.Errorf("simulate: a collector URL and a write key are required")
	}
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 16
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 30 * time.Second}
	}
	r := &run{cfg: cfg, rep: &Report{Status: map[int]int{}}}
	slots := make(chan struct{}, cfg.Concurrency)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
	defer tick.Stop()
	for i := 0; cfg.Visitors == 0 || i < cfg.Visitors; i++ {
		select {
		case <-ctx.Done():
		case <-cfg.Drain:
		case <-tick.C:
		}
		if ctx.Err() != nil || r.draining() {
			break
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		case <-cfg.Drain:
		}
		if ctx.Err() != nil || r.draining() {
			break
		}
		wg.Add(1)
		go func(n int) {
			defer func() { <-slots; wg.Done() }()
			r.visit(ctx, rand.New(rand.NewPCG(cfg.Seed, uint64(n))), n)
		}(i)
	}
	wg.Wait()
	r.finish()
	return r.rep, nil
}

type run struct {
	cfg       Config
	mu        sync.Mutex
	rep       *Report
	latencies []time.Duration
}

// draining reports whether Config.Drain is closed.
func (r *run) draining() bool {
	select {
	case <-r.cfg.Drain:
		return true
	default:
		return false
	}
}

var (
	userAgents = []struct{ ua, kind string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36", "desktop"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", "desktop"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", "desktop"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "mobile"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36", "mobile"},
		{"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "tablet"},
	}
	bots     = []string{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"}
	pages    = []string{"/", "/pricing", "/features", "/docs/getting-started", "/docs/sdk", "/blog/clickstream-at-scale", "/blog/sessions-done-right", "/signup", "/checkout"}
	sources  = []struct{ referrer, utmSource, utmMedium, utmCampaign string }{{"", "", "", ""}, {"https://www.google.com/", "", "", ""}, {"https://news.example.org/top", "", "", ""}, {"", "newsletter", "email", "autumn"}, {"https://social.example/feed", "social", "cpc", "launch"}}
	titles   = map[string]string{"/": "Home", "/pricing": "Pricing", "/features": "Features", "/signup": "Sign up", "/checkout": "Checkout"}
	clickers = []string{"CTA Clicked", "Video Played", "Plan Selected", "Search Submitted"}
)

// visit simulates one visitor: a visit of one to eight pages, with clicks, maybe a
// login, sent page by page as the SDK's batches.
func (r *run) visit(ctx context.Context, rng *rand.Rand, n int) {
	// The visit's number keeps two visits from ever sharing an anonymousId (and so
	// their messageIds), which ground truth relies on.
	anon := fmt.Sprintf("sim-%d-%d-%08x", r.cfg.Seed, n, rng.Uint32())
	ua := userAgents[rng.IntN(len(userAgents))].ua
	if rng.Float64() < r.cfg.BotShare {
		ua = bots[rng.IntN(len(bots))]
	}
	src := sources[rng.IntN(len(sources))]
	loggedIn := rng.Float64() < 0.2
	userID := ""
	nPages := 1 + rng.IntN(8)
	r.mu.Lock()
	r.rep.Visits++
	r.mu.Unlock()
	for p := range nPages {
		path := pages[rng.IntN(len(pages))]
		if p == 0 {
			path = pages[rng.IntN(3)]
		}
		query := ""
		if p == 0 && src.utmSource != "" {
			query = fmt.Sprintf("?utm_source=%s&utm_medium=%s&utm_campaign=%s", src.utmSource, src.utmMedium, src.utmCampaign)
		}
		referrer := "https://www.example.com" + pages[rng.IntN(len(pages))]
		if p == 0 {
			referrer = src.referrer
		}
		var batch []map[string]any
		var sent []Event
		now := r.cfg.Now().UTC()
		ctxt := map[string]any{
			"page":      map[string]any{"url": "https://www.example.com" + path + query, "path": path, "title": titles[path], "referrer": referrer, "search": query},
			"userAgent": ua, "locale": "en-US", "timezone": "Europe/Berlin",
			"library": map[string]any{"name": "clicktrail-sdk", "version": "0.1.0"},
		}
		ev := func(typ string, extra map[string]any) {
			e := map[string]any{"type": typ, "messageId": fmt.Sprintf("%s-%d-%d", anon, p, len(batch)), "anonymousId": anon,
				"timestamp": now.Add(time.Duration(len(batch)) * 100 * time.Millisecond).Format(time.RFC3339Nano), "context": ctxt}
			if userID != "" {
				e["userId"] = userID
			}
			for k, v := range extra {
				e[k] = v
			}
			name, _ := e["name"].(string)
			track, _ := e["event"].(string)
			sent = append(sent, Event{
				MessageID: e["messageId"].(string), Type: typ, Event: track, Name: name, AnonymousID: anon, UserID: userID,
				URL: "https://www.example.com" + path + query, Path: path, Referrer: referrer, UserAgent: ua,
				Visit: n, Page: p, Index: len(batch), Time: now.Add(time.Duration(len(batch)) * 100 * time.Millisecond),
			})
			batch = append(batch, e)
		}
		ev("page", map[string]any{"name": titles[path]})
		for range rng.IntN(3) {
			ev("track", map[string]any{"event": clickers[rng.IntN(len(clickers))], "properties": map[string]any{"path": path}})
		}
		if loggedIn && userID == "" && p == nPages/2 {
			userID = fmt.Sprintf("user-%d", rng.IntN(100000))
			ev("identify", map[string]any{"userId": userID, "traits": map[string]any{"plan": []string{"free", "pro", "team"}[rng.IntN(3)]}})
		}
		r.send(ctx, rng, batch, sent, now.Add(time.Duration(len(batch))*100*time.Millisecond))
		if r.draining() {
			return
		}
		if p < nPages-1 {
			think := time.Duration(rng.ExpFloat64() * float64(r.cfg.ThinkTime))
			select {
			case <-ctx.Done():
				return
			case <-r.cfg.Drain:
				return
			case <-time.After(think):
			}
		}
	}
}

// send posts one batch as the SDK does (text/plain, write key in the body), retrying
// as Config.RetryFor says, and records the answer; a share of requests is deliberately
// malformed. sent describes the batch's events, in order.
func (r *run) send(ctx context.Context, rng *rand.Rand, batch []map[string]any, sent []Event, sentAt time.Time) {
	body := map[string]any{"batch": batch, "sentAt": sentAt.Format(time.RFC3339Nano), "writeKey": r.cfg.WriteKey}
	malformed := rng.Float64() < r.cfg.MalformedShare
	truncated := false
	if malformed {
		switch rng.IntN(3) {
		case 0: // truncated JSON
			truncated = true
		case 1: // an event without type nor ids
			batch[0] = map[string]any{"event": "Broken", "properties": "not an object"}
		default: // wrong type of a field
			batch[len(batch)-1]["userId"] = 42
		}
	}
	r.mu.Lock()
	r.rep.Sent += len(batch)
	if malformed {
		r.rep.MalformedSent++
	}
	r.mu.Unlock()

	// The collector stores receivedAt − (sentAt − timestamp): with sentAt moved on by
	// the time spent retrying, every attempt places an event at the same time plus
	// that attempt's transit time.
	first := time.Now()
	for i := range sent {
		sent[i].Time = first.Add(-sentAt.Sub(sent[i].Time))
	}
	var transit time.Duration
	var refused time.Time
	for try := 0; ; try++ {
		start := time.Now()
		body["sentAt"] = sentAt.Add(start.Sub(first)).Format(time.RFC3339Nano)
		payload, _ := json.Marshal(body)
		if truncated {
			payload = payload[:len(payload)/2]
		}
		status, ans, retryAfter := r.post(ctx, payload)
		end := time.Now()
		transit = max(transit, end.Sub(start))
		r.mu.Lock()
		r.rep.Requests++
		if try > 0 {
			r.rep.Retries++
		}
		r.rep.Status[status]++
		if status != 0 {
			r.latencies = append(r.latencies, end.Sub(start))
		}
		r.mu.Unlock()
		a := Attempt{Start: start, End: end, Status: status, Retry: try, Events: len(batch)}

		retryable := status == 0 || status == http.StatusTooManyRequests || status >= 500
		if retryable && refused.IsZero() {
			refused = end
		}
		if retryable && r.cfg.RetryFor > 0 && ctx.Err() == nil {
			pause := max(min(100*time.Millisecond<<min(try, 6), 5*time.Second), retryAfter)
			if time.Since(first)+pause <= r.cfg.RetryFor {
				if r.cfg.OnAttempt != nil {
					r.cfg.OnAttempt(a)
				}
				select {
				case <-ctx.Done():
				case <-time.After(pause):
				}
				continue
			}
		}
		for i := range sent {
			sent[i].Transit, sent[i].Refused = transit, refused
		}
		a.Accepted = r.record(status, ans, batch, sent)
		if r.cfg.OnAttempt != nil {
			r.cfg.OnAttempt(a)
		}
		return
	}
}

// answer is the collector's answer to an accepted request.
type answer struct {
	Accepted int `json:"accepted"`
	Rejected []struct {
		Index int `json:"index"`
	} `json:"rejected"`
}

// post sends one request and returns its status (0: no answer), the decoded answer of
// a 200 and the Retry-After of a refusal.
func (r *run) post(ctx context.Context, payload []byte) (status int, ans *answer, retryAfter time.Duration) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL+"/v1/batch", bytes.NewReader(payload))
	if err != nil {
		return 0, nil, 0
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	resp, err := r.cfg.Client.Do(req)
	if err != nil {
		return 0, nil, 0
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			retryAfter = time.Duration(s) * time.Second
		}
		return resp.StatusCode, nil, retryAfter
	}
	var a answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		// Answered 200 with a body cut short: stored, but which events were rejected
		// is unknown. record counts them as unconfirmed.
		return resp.StatusCode, nil, 0
	}
	return resp.StatusCode, &a, 0
}

// record counts the final answer to a request and returns the events it accepted.
func (r *run) record(status int, ans *answer, batch []map[string]any, sent []Event) (accepted []Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if status == 0 || status >= 500 || status == http.StatusOK && ans == nil {
		r.rep.Unconfirmed += len(batch)
		if r.cfg.RecordEvents {
			r.rep.UnconfirmedEvents = append(r.rep.UnconfirmedEvents, sent...)
		}
		return nil
	}
	if status != http.StatusOK {
		return nil
	}
	r.rep.Accepted += ans.Accepted
	r.rep.Rejected += len(ans.Rejected)
	rejected := map[int]bool{}
	for _, x := range ans.Rejected {
		rejected[x.Index] = true
	}
	for i, e := range batch {
		if id, ok := e["messageId"].(string); ok && !rejected[i] {
			r.rep.AcceptedIDs = append(r.rep.AcceptedIDs, id)
			accepted = append(accepted, sent[i])
		}
	}
	if r.cfg.RecordEvents {
		r.rep.AcceptedEvents = append(r.rep.AcceptedEvents, accepted...)
	}
	return accepted
}

func (r *run) finish() {
	slices.Sort(r.latencies)
	pct := func(p float64) float64 {
		if len(r.latencies) == 0 {
			return 0
		}
		return float64(r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))].Microseconds()) / 1000
	}
	r.rep.LatencyP50Ms, r.rep.LatencyP99Ms = pct(0.5), pct(0.99)
}
