package collector

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/clicktrail/clicktrail/schemas"
)

// send enriches and encodes every event of req, valid ones for the source's events
// topic and invalid ones, with their reason, for its events-invalid topic, and hands
// them all to the publisher; its result waits for the acknowledgements. What comes from
// the request's headers is info.headers, capped once per request: every message shares
// those strings.
func (a *api) send(ctx context.Context, req *batchRequest, info *requestInfo) *sent {
	src := info.source
	out := &sent{resp: &response{Rejected: []rejected{}}, acks: newAcks(), tenant: src.Tenant, metrics: a.metrics}
	hdr := &info.headers
	props := func(n int) map[string]string {
		p := make(map[string]string, n)
		p["source"], p["request_id"] = src.ID, hdr.requestID
		if hdr.traceparent != "" {
			p["traceparent"] = hdr.traceparent
		}
		return p
	}
	eventsTopic, invalidTopic := src.Topic(schemas.TopicEvents), src.Topic(schemas.TopicInvalid)
	// Every payload of the request is a slice of one buffer: one allocation, sized for
	// the events as sent plus what enrichment adds, instead of one per event.
	size := 0
	for _, raw := range req.Batch {
		size += len(raw) + 512
	}
	payloads := make([]byte, 0, size)
	msgs := make([]Message, len(req.events))
	topics := make([]string, len(req.events))

	for i, d := range req.events {
		ve := d.err
		if ve == nil {
			if err := a.enricher.enrich(d.event, info); err != nil {
				ve = asValidationError(err)
			}
		}
		if ve != nil {
			out.resp.Rejected = append(out.resp.Rejected, rejected{Index: i, Reason: ve.Error()})
			a.metrics.eventsRejected.WithLabelValues(src.Tenant, reasonLabel(ve)).Inc()
			raw := req.Batch[i]
			if !a.cfg.KeepFullIP {
				raw = withoutRawIP(raw)
			}
			payload := invalidRecord(raw, d.event, ve, i, info)
			topics[i], msgs[i] = invalidTopic, Message{Key: d.userKey(), Payload: payload, Properties: props(3), EventTime: info.receivedAt}
			continue
		}
		e := d.event
		start := len(payloads)
		payloads = appendEvent(payloads, e)
		p := props(4)
		p["message_id"] = e.MessageID
		topics[i], msgs[i] = eventsTopic, Message{Key: e.UserKey(), Payload: payloads[start:len(payloads):len(payloads)], Properties: p, EventTime: e.Timestamp.Time}
		out.resp.Accepted++
	}

	// Hand the messages over together, once all are built: the events of a request
	// (one visitor, one key) then land in the same key-based batch of the producer
	// instead of straddling its batching tick.
	a.metrics.pending.Add(float64(len(msgs)))
	for i := range msgs {
		out.acks.add()
		a.pub.PublishAsync(ctx, topics[i], &msgs[i], func(err error) {
			a.metrics.pending.Dec()
			out.acks.done(err)
		})
	}
	return out
}

// invalidRecord encodes the events-invalid record of the rejected event raw (e is what
// could be decoded of it, or nil). raw is valid UTF-8 by now (see repairUTF8), and the
// user agent is the capped header.
func invalidRecord(raw []byte, e *schemas.Event, ve *schemas.ValidationError, index int, info *requestInfo) []byte {
	inv := schemas.InvalidEvent{
		Reason: ve.Reason, Field: ve.Field, Index: index, ReceivedAt: info.receivedAt,
		Tenant: info.source.Tenant, Source: info.source.ID, RequestID: info.headers.requestID, UserAgent: info.headers.userAgent,
	}
	if json.Valid(raw) {
		inv.Raw = raw
	} else {
		inv.RawText = string(raw)
	}
	if e != nil {
		inv.MessageID, inv.UserKey = e.MessageID, e.UserKey()
	}
	payload, _ := json.Marshal(inv)
	return payload
}

// userKey is the message key of d: its user key when it could be decoded.
func (d decoded) userKey() string {
	if d.event == nil {
		return ""
	}
	return d.event.UserKey()
}

func asValidationError(err error) *schemas.ValidationError {
	var ve *schemas.ValidationError
	if !errors.As(err, &ve) {
		ve = &schemas.ValidationError{Reason: err.Error()}
	}
	return ve
}

// sent is a request whose events are with the publisher.
type sent struct {
	resp    *response
	acks    *acks
	tenant  string
	metrics *metrics
}

// wait returns the answer once Pulsar has acknowledged every event, or an error: ctx
// ended first, or a message failed. Any failure fails the request: the client retries
// it whole and de-duplication by messageId removes what had already been stored.
func (s *sent) wait(ctx context.Context) (*response, error) {
	if err := s.acks.wait(ctx); err != nil {
		return nil, err
	}
	s.metrics.eventsAccepted.WithLabelValues(s.tenant).Add(float64(s.resp.Accepted))
	return s.resp, nil
}

// acks counts a request's outstanding acknowledgements and keeps the first failure.
type acks struct {
	pending  atomic.Int64
	finished chan struct{}
	mu       sync.Mutex
	err      error
}

// newAcks starts with one pending count of its own, which wait releases: the count
// cannot reach zero while messages are still being handed over.
func newAcks() *acks {
	a := &acks{finished: make(chan struct{})}
	a.pending.Store(1)
	return a
}

func (a *acks) add() { a.pending.Add(1) }

func (a *acks) done(err error) {
	if err != nil {
		a.mu.Lock()
		if a.err == nil {
			a.err = err
		}
		a.mu.Unlock()
	}
	if a.pending.Add(-1) == 0 {
		close(a.finished)
	}
}

// wait returns once every message is acknowledged, with the first failure, or with
// ctx's error when it ends first.
func (a *acks) wait(ctx context.Context) error {
	a.done(nil)
	select {
	case <-a.finished:
	case <-ctx.Done():
		return ctx.Err()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}
