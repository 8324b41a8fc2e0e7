// Command loadgen sends batches of realistic events to a collector over HTTP, from a
// separate process, and reports throughput, latency percentiles and status codes.
//
//	loadgen -url http://127.0.0.1:8088 -duration 20s -concurrency 32          # as fast as it goes
//	loadgen -url http://127.0.0.1:8088 -duration 20s -rate 1000               # 1,000 requests/s
//
// It shares the machine with the collector and the broker in the benchmark, so it is
// built to cost little: every request (headers and body) is built before the run and
// goes out in one write on a kept-alive connection; the answer's status line and
// headers are read from a buffer and its body discarded, without net/http's client
// (its goroutine hand-offs and allocations cost several times as much per request).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clicktrail/clicktrail/internal/obs"
)

type result struct {
	latency time.Duration
	code    int   // 0: no answer, err says why
	err     error // why there was no answer
}

func main() {
	target := flag.String("url", "http://127.0.0.1:8088", "collector base URL (http only)")
	key := flag.String("key", "dev", "write key")
	duration := flag.Duration("duration", 20*time.Second, "how long to send")
	concurrency := flag.Int("concurrency", 32, "requests in flight at most")
	rate := flag.Float64("rate", 0, "requests per second (0: as fast as responses allow)")
	perBatch := flag.Int("events", 20, "events per batch")
	users := flag.Int("users", 10000, "distinct visitors")
	jsonOut := flag.Bool("json", false, "print the report as one JSON line")
	flag.Parse()
	if err := run(*target, *key, *duration, *concurrency, *rate, *perBatch, *users, *jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(target, key string, duration time.Duration, concurrency int, rate float64, perBatch, users int, jsonOut bool) error {
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("-url %q: want http://host:port", target)
	}
	requests := make([][]byte, 256)
	var bodyBytes int
	for i := range requests {
		body := batch(i, perBatch, users)
		bodyBytes = len(body)
		requests[i] = request(u, key, body)
	}
	conns := &pool{addr: u.Host}
	defer conns.close()
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()

	var (
		mu      sync.Mutex
		results = make([]result, 0, 1<<16)
		wg      sync.WaitGroup
	)
	tokens := make(chan struct{}, concurrency)
	send := func(req []byte) {
		defer func() { <-tokens; wg.Done() }()
		r := conns.do(req)
		mu.Lock()
		results = append(results, r)
		mu.Unlock()
	}
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := 0; ctx.Err() == nil; n++ {
		if rate > 0 {
			// Open loop: request n is due at start + n/rate. A run that fell behind
			// (every token taken) catches up at once, as clients with a schedule would.
			if wait := time.Until(start.Add(time.Duration(float64(n) / rate * float64(time.Second)))); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					continue
				}
			}
		}
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		wg.Add(1)
		go send(requests[n%len(requests)])
	}
	wg.Wait()
	elapsed := time.Since(start)
	report(results, elapsed, perBatch, bodyBytes, rate, jsonOut)
	return nil
}

// request returns the whole HTTP/1.1 request: headers and body.
func request(u *url.URL, key string, body []byte) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "POST %s/v1/batch HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-Write-Key: %s\r\nUser-Agent: clicktrail-loadgen\r\nContent-Length: %d\r\n\r\n",
		strings.TrimSuffix(u.Path, "/"), u.Host, key, len(body))
	b.Write(body)
	return b.Bytes()
}

// pool keeps kept-alive connections, the most recently used first (as net/http does),
// so a steady load uses as few connections as it needs.
type pool struct {
	addr string
	mu   sync.Mutex
	idle []*conn
}

type conn struct {
	c net.Conn
	r *bufio.Reader
}

func (p *pool) get() (*conn, bool, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, true, nil
	}
	p.mu.Unlock()
	c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
	if err != nil {
		return nil, false, err
	}
	return &conn{c: c, r: bufio.NewReaderSize(c, 4096)}, false, nil
}

func (p *pool) put(c *conn) {
	p.mu.Lock()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.idle {
		c.c.Close()
	}
	p.idle = nil
}

// do sends req and reads the answer. A kept-alive connection the server has closed
// meanwhile (after its idle timeout) fails before any answer; the request then goes
// again on the next one, until one answers or a new connection fails. The idle ones
// are finite: each that failed is closed, not put back.
func (p *pool) do(req []byte) result {
	for {
		c, reused, err := p.get()
		if err != nil {
			return result{err: err}
		}
		t0 := time.Now()
		code, keep, err := c.roundTrip(req)
		r := result{latency: time.Since(t0), code: code}
		if err != nil {
			c.c.Close()
			if reused && code == 0 {
				continue
			}
			return result{latency: r.latency, err: err}
		}
		if keep {
			p.put(c)
		} else {
			c.c.Close()
		}
		return r
	}
}

// roundTrip writes req and reads one answer: its status code, and whether the
// connection may carry another request.
func (c *conn) roundTrip(req []byte) (code int, keep bool, err error) {
	_ = c.c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.c.Write(req); err != nil {
		return 0, false, err
	}
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	code, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("malformed status line %q", line)
	}
	length, chunked, keep := -1, false, true
	for {
		line, err := c.r.ReadSlice('\n')
		if err != nil {
			return code, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return code, false, fmt.Errorf("malformed Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keep = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = discardChunked(c.r)
	case length >= 0:
		_, err = c.r.Discard(length)
	default: // the body lasts until the server closes the connection
		_, err = io.Copy(io.Discard, c.r)
		keep = false
	}
	return code, keep && err == nil, err
}

func discardChunked(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(size), 16, 64)
		if err != nil {
			return fmt.Errorf("malformed chunk size %q", line)
		}
		if n == 0 { // trailers, then an empty line
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := r.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

func report(results []result, elapsed time.Duration, perBatch, bodyBytes int, rate float64, asJSON bool) {
	codes := map[int]int{}
	errs := map[string]int{} // why requests went unanswered, by reason
	var ok, refused []time.Duration
	for _, r := range results {
		codes[r.code]++
		if r.err != nil {
			errs[errorKind(r.err)]++
		}
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
		"target_rate":         rate,
		"p50_ms":              pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1),
		"body_bytes": bodyBytes, "events_per_batch": perBatch,
		"refused_p50_ms": percentile(refused, 0.50), "refused_p99_ms": percentile(refused, 0.99),
		"cpu_seconds": obs.ProcessCPU().Seconds(), "errors": errs,
	}
	if asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(out)
		return
	}
	var cs []string
	for _, c := range slices.Sorted(maps.Keys(codes)) {
		cs = append(cs, fmt.Sprintf("%d×%d", codes[c], c))
	}
	fmt.Printf("%d requests in %.1fs (%s): %.0f events/s accepted, latency of 200s p50 %.1f ms p90 %.1f ms p99 %.1f ms max %.1f ms; %d-event batches of %d bytes; loadgen used %.1f s of CPU\n",
		len(results), elapsed.Seconds(), strings.Join(cs, ", "), out["events_per_second"], pct(.5), pct(.9), pct(.99), pct(1), perBatch, bodyBytes, obs.ProcessCPU().Seconds())
	for _, e := range slices.Sorted(maps.Keys(errs)) {
		fmt.Printf("  no answer %d×: %s\n", errs[e], e)
	}
}

// errorKind is err without what differs from one connection to the next (the
// local port), so the same failure counts once in the report.
func errorKind(err error) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Op + ": " + op.Err.Error()
	}
	return err.Error()
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
