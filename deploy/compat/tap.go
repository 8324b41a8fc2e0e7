package compat

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Tap stands between the clients and the collector: it relays every request unchanged
// (Origin and every header included, so the collector's CORS, origin and key checks
// apply) and keeps what each client sent and what the collector answered. It is the
// ground truth the stored rows are checked against.
type Tap struct {
	collector string
	run       string
	client    *http.Client

	mu       sync.Mutex
	requests []Request
	// failFirst holds the clients whose first request is answered 503 (then false).
	failFirst map[string]bool
}

// FailFirst makes the tap answer the first request of each client named 503 with
// Retry-After, as an overloaded collector does, so that the client retries: the retry
// carries the client's retry headers (X-Retry-Count, Rsa-Retry-Attempt, ...), which
// the collector's CORS preflight must allow.
func (tp *Tap) FailFirst(clients ...string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	tp.failFirst = map[string]bool{}
	for _, c := range clients {
		tp.failFirst[c] = true
	}
}

// Request is one request a client made, as the collector saw it.
type Request struct {
	Method, Path, Query string
	Header              http.Header
	// Body is the body decompressed (gzip).
	Body   []byte
	Status int
	Answer []byte
	// Sent is the events of the body, with the batch's sentAt; Accepted says, per
	// event, whether the collector accepted it.
	Sent     []Sent
	Accepted []bool
	// Injected says the tap answered 503 itself (FailFirst).
	Injected bool
}

// Sent is one event as a client sent it.
type Sent struct {
	Event map[string]any
	// Raw is the event's JSON as sent.
	Raw json.RawMessage
	// BatchSentAt is the request's sentAt ("" for none or a one-event request).
	BatchSentAt string
	// Path is the path it was posted to; Received when the tap relayed it.
	Path     string
	Received time.Time
}

// NewTap relays to the collector at base; run is the run's id, in every client's ids.
func NewTap(base, run string) *Tap {
	return &Tap{collector: base, run: run, client: &http.Client{Timeout: 30 * time.Second}}
}

func (tp *Tap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, tp.collector+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	req.Header = r.Header.Clone()
	received := time.Now()
	if r.Method == http.MethodPost && tp.failOnce(body, r) {
		if origin := r.Header.Get("Origin"); origin != "" {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
		}
		w.Header().Set("Retry-After", "1")
		http.Error(w, `{"error":"collector overloaded: try again shortly"}`, http.StatusServiceUnavailable)
		tp.mu.Lock()
		tp.requests = append(tp.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(),
			Body: body, Status: http.StatusServiceUnavailable, Injected: true})
		tp.mu.Unlock()
		return
	}
	resp, err := tp.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)

	rec := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Status: resp.StatusCode, Answer: answer}
	rec.Body = body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		if zr, err := gzip.NewReader(bytes.NewReader(body)); err == nil {
			if plain, err := io.ReadAll(zr); err == nil {
				rec.Body = plain
			}
		}
	}
	if r.Method == http.MethodPost {
		rec.Sent = parseSent(rec.Body, r.URL.Path, received)
		rec.Accepted = accepted(len(rec.Sent), resp.StatusCode, answer)
	}
	tp.mu.Lock()
	tp.requests = append(tp.requests, rec)
	tp.mu.Unlock()
}

// failOnce reports whether the request is the first of a FailFirst client.
func (tp *Tap) failOnce(body []byte, r *http.Request) bool {
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		return false // only browser clients are failed, and they do not compress
	}
	for _, s := range parseSent(body, r.URL.Path, time.Time{}) {
		c := tp.ClientOfEvent(s.Event)
		tp.mu.Lock()
		fail := tp.failFirst[c]
		if fail {
			tp.failFirst[c] = false
		}
		tp.mu.Unlock()
		if fail {
			return true
		}
	}
	return false
}

// Retried lists the headers of the requests that followed an injected 503, by
// client: what its retries carried.
func (tp *Tap) Retried() map[string][]http.Header {
	out := map[string][]http.Header{}
	failed := map[string]bool{}
	for _, r := range tp.Requests() {
		client := ""
		if r.Injected {
			for _, s := range parseSent(r.Body, r.Path, time.Time{}) {
				client = tp.ClientOfEvent(s.Event)
			}
			failed[client] = true
			continue
		}
		for _, s := range r.Sent {
			client = tp.ClientOfEvent(s.Event)
		}
		if failed[client] {
			out[client] = append(out[client], r.Header)
		}
	}
	return out
}

// parseSent reads the events of a request body: a batch ({"batch": [...], "sentAt"}) or
// one event.
func parseSent(body []byte, path string, received time.Time) []Sent {
	var batch struct {
		Batch  []json.RawMessage `json:"batch"`
		SentAt string            `json:"sentAt"`
	}
	raws := []json.RawMessage{body}
	sentAt := ""
	if json.Unmarshal(body, &batch) == nil && batch.Batch != nil {
		raws, sentAt = batch.Batch, batch.SentAt
	}
	out := make([]Sent, 0, len(raws))
	for _, raw := range raws {
		var e map[string]any
		if err := json.Unmarshal(raw, &e); err != nil {
			continue
		}
		out = append(out, Sent{Event: e, Raw: raw, BatchSentAt: sentAt, Path: path, Received: received})
	}
	return out
}

// accepted says per event whether the answer accepts it: a 200 whose rejected list
// does not name it.
func accepted(n, status int, answer []byte) []bool {
	out := make([]bool, n)
	if status != http.StatusOK {
		return out
	}
	var a struct {
		Rejected []struct {
			Index int `json:"index"`
		} `json:"rejected"`
	}
	_ = json.Unmarshal(answer, &a)
	for i := range out {
		out[i] = true
	}
	for _, r := range a.Rejected {
		if r.Index >= 0 && r.Index < n {
			out[r.Index] = false
		}
	}
	return out
}

// Requests returns what was relayed so far.
func (tp *Tap) Requests() []Request {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return append([]Request(nil), tp.requests...)
}

// ClientOfEvent is the client an event belongs to, by its anonymousId or userId.
func (tp *Tap) ClientOfEvent(e map[string]any) string {
	for _, k := range []string{"anonymousId", "userId"} {
		if s, ok := e[k].(string); ok {
			if c := ClientOf(tp.run, s); c != "" {
				return c
			}
		}
	}
	return ""
}

// AcceptedEvents returns the distinct events (by messageId) the collector accepted,
// by client: the first accepted copy of each.
func (tp *Tap) AcceptedEvents() map[string][]Sent {
	out := map[string][]Sent{}
	seen := map[string]bool{}
	for _, r := range tp.Requests() {
		for i, s := range r.Sent {
			id, _ := s.Event["messageId"].(string)
			if !r.Accepted[i] || seen[id] {
				continue
			}
			seen[id] = true
			c := tp.ClientOfEvent(s.Event)
			out[c] = append(out[c], s)
		}
	}
	return out
}

// Problems lists the requests a client made that the collector did not answer 2xx,
// or whose events it rejected, by client.
func (tp *Tap) Problems() map[string][]string {
	out := map[string][]string{}
	for _, r := range tp.Requests() {
		client := ""
		for _, s := range r.Sent {
			if c := tp.ClientOfEvent(s.Event); c != "" {
				client = c
			}
		}
		if !r.Injected && (r.Status >= 300 || bytes.Contains(r.Answer, []byte(`"reason"`))) {
			out[client] = append(out[client], fmt.Sprintf("%s %s: %d %s", r.Method, r.Path, r.Status, bytes.TrimSpace(r.Answer)))
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}
