// Command loadgen sends batches of realistic events to a collector over HTTP, from a
// separate process, and reports throughput, latency percentiles and status codes.
//
//	loadgen -url http://127.0.0.1:8088 -duration 20s -concurrency 32          # as fast as it goes
//	loadgen -url http://127.0.0.1:8088 -duration 20s -rate 1000               # 1,000 requests/s
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

type result struct {
	latency time.Duration
	code    int
}

func main() {
	url := flag.String("url", "http://127.0.0.1:8088", "collector base URL")
	key := flag.String("key", "dev", "write key")
	duration := flag.Duration("duration", 20*time.Second, "how long to send")
	concurrency := flag.Int("concurrency", 32, "requests in flight at most")
	rate := flag.Float64("rate", 0, "requests per second (0: as fast as responses allow)")
	perBatch := flag.Int("events", 20, "events per batch")
	users := flag.Int("users", 10000, "distinct visitors")
	jsonOut := flag.Bool("json", false, "print the report as one JSON line")
	flag.Parse()

	bodies := make([][]byte, 256)
	for i := range bodies {
		bodies[i] = batch(i, *perBatch, *users)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency * 2, MaxConnsPerHost: *concurrency * 2}, Timeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()

	var (
		mu      sync.Mutex
		results []result
	)
	tokens := make(chan struct{}, *concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	var tick <-chan time.Time
	if *rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / *rate))
		defer t.Stop()
		tick = t.C
	}
	for n := 0; ctx.Err() == nil; n++ {
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				continue
			}
		}
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		wg.Add(1)
		go func(body []byte) {
			defer func() { <-tokens; wg.Done() }()
			req, _ := http.NewRequest(http.MethodPost, *url+"/v1/batch", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Write-Key", *key)
			t0 := time.Now()
			resp, err := client.Do(req)
			r := result{latency: time.Since(t0)}
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				r.code = resp.StatusCode
			}
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		}(bodies[n%len(bodies)])
	}
	wg.Wait()
	elapsed := time.Since(start)
	report(results, elapsed, *perBatch, len(bodies[0]), *jsonOut)
}

func report(results []result, elapsed time.Duration, perBatch, bodyBytes int, asJSON bool) {
	codes := map[int]int{}
	var ok, refused []time.Duration
	for _, r := range results {
		codes[r.code]++
		switch r.code {
		case 200:
			ok = append(ok, r.latency)
		case 429, 503:
			refused = append(refused, r.latency)
		}
	}
	percentile := func(d []time.Duration, p float64) float64 {
		if len(d) == 0 {
			return 0
		}
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	pct := func(p float64) float64 { return percentile(ok, p) }
	out := map[string]any{
		"seconds": elapsed.Seconds(), "requests": len(results), "status": codes,
		"events_per_second":   float64(codes[200]*perBatch) / elapsed.Seconds(),
		"requests_per_second": float64(len(results)) / elapsed.Seconds(),
		"p50_ms":              pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1),
		"body_bytes": bodyBytes, "events_per_batch": perBatch,
		"refused_p99_ms": percentile(refused, 0.99),
	}
	if asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(out)
		return
	}
	var cs []string
	for _, c := range slices.Sorted(maps.Keys(codes)) {
		cs = append(cs, fmt.Sprintf("%d×%d", codes[c], c))
	}
	fmt.Printf("%d requests in %.1fs (%s): %.0f events/s accepted, latency of 200s p50 %.1f ms p90 %.1f ms p99 %.1f ms max %.1f ms; %d-event batches of %d bytes\n",
		len(results), elapsed.Seconds(), strings.Join(cs, ", "), out["events_per_second"], pct(.5), pct(.9), pct(.99), pct(1), perBatch, bodyBytes)
}

// batch builds a realistic batch: page views and clicks of one visitor, about 600
// bytes an event.
func batch(seed, n, users int) []byte {
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	user := fmt.Sprintf("anon-%08d", r.IntN(users))
	paths := []string{"/", "/pricing", "/docs/getting-started", "/blog/clickstream-at-scale", "/products/42", "/checkout"}
	now := time.Now().UTC()
	var events []string
	for i := range n {
		path := paths[r.IntN(len(paths))]
		typ, name := "page", fmt.Sprintf(`"name":%q`, strings.TrimPrefix(path, "/"))
		if i%3 == 2 {
			typ, name = "track", `"event":"Button Clicked","properties":{"label":"Start free trial","position":"hero","variant":"b"}`
		}
		events = append(events, fmt.Sprintf(`{"type":%q,%s,"messageId":"%s-%d-%d","anonymousId":%q,"timestamp":%q,"context":{"page":{"url":"https://www.example.com%s?utm_source=newsletter&utm_medium=email&utm_campaign=autumn","path":%q,"title":"Example — %s","referrer":"https://news.example.org/top"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36","locale":"en-US","timezone":"America/New_York","screen":{"width":1920,"height":1080,"density":1},"library":{"name":"clicktrail-sdk","version":"0.1.0"}}}`,
			typ, name, user, seed, i, user, now.Add(time.Duration(i)*time.Second).Format(time.RFC3339Nano), path, path, path))
	}
	return []byte(fmt.Sprintf(`{"batch":[%s],"sentAt":%q}`, strings.Join(events, ","), now.Add(time.Duration(n)*time.Second).Format(time.RFC3339Nano)))
}
