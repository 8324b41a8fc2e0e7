// Package simulate sends the traffic of simulated website visitors to a collector, over
// HTTP as the browser SDK does: visits of several pages with think time between them,
// campaigns and referrers, desktop and mobile browsers, logged-in users, a share of bots
// and a share of malformed requests. It reports what was sent, accepted and rejected,
// and can record every accepted messageId as ground truth for end-to-end checks.
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
		case <-tick.C:
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
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
	anon := fmt.Sprintf("sim-%d-%08x", r.cfg.Seed, rng.Uint32())
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
		r.send(ctx, rng, batch, now.Add(time.Duration(len(batch))*100*time.Millisecond))
		if p < nPages-1 {
			think := time.Duration(rng.ExpFloat64() * float64(r.cfg.ThinkTime))
			select {
			case <-ctx.Done():
				return
			case <-time.After(think):
			}
		}
	}
}

// send posts one batch as the SDK does (text/plain, write key in the body) and records
// the answer; a share of requests is deliberately malformed.
func (r *run) send(ctx context.Context, rng *rand.Rand, batch []map[string]any, sentAt time.Time) {
	body := map[string]any{"batch": batch, "sentAt": sentAt.Format(time.RFC3339Nano), "writeKey": r.cfg.WriteKey}
	payload, _ := json.Marshal(body)
	malformed := rng.Float64() < r.cfg.MalformedShare
	if malformed {
		switch rng.IntN(3) {
		case 0: // truncated JSON
			payload = payload[:len(payload)/2]
		case 1: // an event without type nor ids
			batch[0] = map[string]any{"event": "Broken", "properties": "not an object"}
			payload, _ = json.Marshal(body)
		default: // wrong type of a field
			batch[len(batch)-1]["userId"] = 42
			payload, _ = json.Marshal(body)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.cfg.URL+"/v1/batch", bytes.NewReader(payload))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
	start := time.Now()
	resp, err := r.cfg.Client.Do(req)
	lat := time.Since(start)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rep.Requests++
	r.rep.Sent += len(batch)
	if malformed {
		r.rep.MalformedSent++
	}
	if err != nil {
		r.rep.Status[0]++
		return
	}
	defer resp.Body.Close()
	r.rep.Status[resp.StatusCode]++
	r.latencies = append(r.latencies, lat)
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return
	}
	var ans struct {
		Accepted int `json:"accepted"`
		Rejected []struct {
			Index int `json:"index"`
		} `json:"rejected"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
		return
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
		}
	}
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
