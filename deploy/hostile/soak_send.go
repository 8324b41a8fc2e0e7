package hostile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// SendReport is what a steady send got.
type SendReport struct {
	// Events sent, Accepted and Rejected by the collector's 200 answers.
	Events, Accepted, Rejected int
	// Refused counts the attempts answered 429 or 5xx, or not at all, each retried
	// (after Retry-After, at most a second); Failed the requests given up: another
	// status, or the send's context ended. FirstFailure describes the first.
	Refused, Failed int
	FirstFailure    string
	Elapsed         time.Duration
}

// EventsPerSecond is the rate the events went out at.
func (r SendReport) EventsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Events) / r.Elapsed.Seconds()
}

// SendSteady posts batches 0..batches-1 of body to the collector at addr, rate events
// a second (open loop: batch n is due at start + n×SoakBatch/rate; a send that fell
// behind catches up as the answers allow), at most inFlight at once, on kept-alive
// connections, until each is answered 200. logf is told the progress every 30 s.
func SendSteady(ctx context.Context, addr, writeKey string, batches int, rate float64, inFlight int,
	body func(b int, now time.Time) []byte, logf func(string, ...any)) SendReport {
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: inFlight, MaxIdleConnsPerHost: inFlight, IdleConnTimeout: 30 * time.Second},
		Timeout:   60 * time.Second,
	}
	defer client.CloseIdleConnections()
	var (
		mu     sync.Mutex
		rep    = SendReport{Events: batches * SoakBatch}
		wg     sync.WaitGroup
		tokens = make(chan struct{}, inFlight)
	)
	start, launched := time.Now(), 0
	progress := time.NewTicker(30 * time.Second)
	defer progress.Stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := 0; n < batches && ctx.Err() == nil; n++ {
		if wait := time.Until(start.Add(time.Duration(float64(n*SoakBatch) / rate * float64(time.Second)))); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				continue
			}
		}
		select {
		case <-progress.C:
			mu.Lock()
			logf("sent %d of %d batches in %.0fs, %d events accepted, %d attempts refused", n, batches, time.Since(start).Seconds(), rep.Accepted, rep.Refused)
			mu.Unlock()
		default:
		}
		select {
		case tokens <- struct{}{}:
		case <-ctx.Done():
			continue
		}
		wg.Add(1)
		launched++
		go func() {
			defer func() { <-tokens; wg.Done() }()
			a := post(ctx, client, addr, writeKey, body(n, time.Now()))
			mu.Lock()
			defer mu.Unlock()
			rep.Accepted += a.accepted
			rep.Rejected += a.rejected
			rep.Refused += a.refused
			if a.failure != "" {
				rep.Failed++
				if rep.FirstFailure == "" {
					rep.FirstFailure = fmt.Sprintf("batch %d: %s", n, a.failure)
				}
			}
		}()
	}
	wg.Wait()
	rep.Elapsed = time.Since(start)
	if launched < batches {
		rep.Failed += batches - launched
		if rep.FirstFailure == "" {
			rep.FirstFailure = fmt.Sprintf("%d batches not sent: %v", batches-launched, ctx.Err())
		}
	}
	return rep
}

// answered is what one batch got, over its attempts.
type answered struct {
	accepted, rejected, refused int
	failure                     string
}

// post sends body until it is answered 200 (see SendSteady).
func post(ctx context.Context, client *http.Client, addr, writeKey string, body []byte) answered {
	var a answered
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/v1/batch", bytes.NewReader(body))
		if err != nil {
			a.failure = err.Error()
			return a
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Write-Key", writeKey)
		resp, err := client.Do(req)
		retry := 100 * time.Millisecond
		switch {
		case err != nil:
			if ctx.Err() != nil {
				a.failure = err.Error()
				return a
			}
		case resp.StatusCode == http.StatusOK:
			var v struct {
				Accepted int               `json:"accepted"`
				Rejected []json.RawMessage `json:"rejected"`
			}
			err := json.NewDecoder(resp.Body).Decode(&v)
			resp.Body.Close()
			if err != nil {
				a.failure = "undecodable 200: " + err.Error()
				return a
			}
			a.accepted, a.rejected = v.Accepted, len(v.Rejected)
			return a
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
				retry = time.Second
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		default:
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			a.failure = fmt.Sprintf("%d %s", resp.StatusCode, b)
			return a
		}
		a.refused++
		select {
		case <-ctx.Done():
			a.failure = ctx.Err().Error()
			return a
		case <-time.After(retry):
		}
	}
}
