//go:build linux

package bench_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// batchSize is the SDK's batch: 20 events, one visitor's.
const batchSize = 20

// traffic builds the benchmark's batches, as the SDK sends them: one visitor's page
// views and clicks, about 600 bytes an event, the write key in a text/plain body. Every
// messageId is unique to the run, so that the processor's and the archiver's
// de-duplication keep every event.
type traffic struct {
	run      string // unique to the benchmark run
	writeKey string
	visitors int
}

// batch returns batch i: its user key and its events' JSON, stamped now. A sample
// batch (sample != "") is 20 track events named sample, so that the dashboard's API
// (events by name) and the events table's event column show exactly when it arrives.
func (t traffic) batch(i int, sample string, now time.Time) (key string, events [][]byte) {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	key = fmt.Sprintf("anon-%s-%06d", t.run, r.IntN(t.visitors))
	paths := []string{"/", "/pricing", "/docs/getting-started", "/blog/clickstream-at-scale", "/products/42", "/checkout"}
	ts := now.UTC().Format(time.RFC3339Nano)
	events = make([][]byte, 0, batchSize)
	for j := range batchSize {
		path := paths[r.IntN(len(paths))]
		var head string
		switch {
		case sample != "":
			head = fmt.Sprintf(`"type":"track","event":%q,"properties":{"batch":%d}`, sample, i)
		case j%3 == 2:
			head = `"type":"track","event":"Button Clicked","properties":{"label":"Start free trial","position":"hero","variant":"b"}`
		default:
			head = fmt.Sprintf(`"type":"page","name":%q`, path[1:])
		}
		events = append(events, fmt.Appendf(nil, `{%s,"messageId":"%s-%d-%d","anonymousId":%q,"timestamp":%q,"context":{"page":{"url":"https://www.example.com%s?utm_source=newsletter&utm_medium=email&utm_campaign=autumn","path":%q,"title":"Example — %s","referrer":"https://news.example.org/top"},"userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36","locale":"en-US","timezone":"America/New_York","screen":{"width":1920,"height":1080,"density":1},"library":{"name":"clicktrail-sdk","version":"0.1.0"}}}`,
			head, t.run, i, j, key, ts, path, path, path))
	}
	return key, events
}

// body is the request body of events, as the SDK's transport sends it.
func (t traffic) body(events [][]byte, sentAt time.Time) []byte {
	var b bytes.Buffer
	b.WriteString(`{"batch":[`)
	b.Write(bytes.Join(events, []byte{','}))
	fmt.Fprintf(&b, `],"sentAt":%q,"writeKey":%q}`, sentAt.UTC().Format(time.RFC3339Nano), t.writeKey)
	return b.Bytes()
}

// sender posts batches to the collector's /v1/batch.
type sender struct {
	url    string
	client *http.Client
}

func newSender(collectorAddr string) *sender {
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: 90 * time.Second}
	return &sender{url: "http://" + collectorAddr + "/v1/batch", client: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// post sends body as the SDK does (POST, text/plain, the write key in the body) until
// it is answered 200: no answer, a 429 or a 5xx is retried with the same events after
// Retry-After (at most a second) or 100 ms. It returns how many attempts were refused.
func (s *sender) post(ctx context.Context, body []byte) (refused int, err error) {
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
		if err != nil {
			return refused, err
		}
		req.Header.Set("Content-Type", "text/plain;charset=UTF-8")
		resp, err := s.client.Do(req)
		wait := 100 * time.Millisecond
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode == http.StatusOK:
				return refused, nil
			case resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500:
				return refused, fmt.Errorf("the collector answered %s", resp.Status)
			}
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				wait = min(time.Duration(s)*time.Second, time.Second)
			}
		}
		refused++
		select {
		case <-ctx.Done():
			return refused, ctx.Err()
		case <-time.After(wait):
		}
	}
}
