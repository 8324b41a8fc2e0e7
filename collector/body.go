package collector

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/clicktrail/clicktrail/schemas"
)

// Errors of reading a request, each with its HTTP status.
var (
	errTooLarge      = errors.New("request body too large")
	errUnsupported   = errors.New("unsupported content encoding")
	errNotJSON       = errors.New("unsupported content type")
	errTooManyEvents = errors.New("too many events in one batch")
	errReadTimeout   = errors.New("request body not received in time")
)

// checkBodyHeaders checks the request's Content-Type and Content-Encoding before any of
// its body is read, and reports whether the body is gzip.
func checkBodyHeaders(r *http.Request) (gzipped bool, err error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		switch strings.TrimSpace(strings.ToLower(mt)) {
		case "application/json", "text/plain", "application/x-www-form-urlencoded":
			// sendBeacon and fetch without a preflight send text/plain.
		default:
			return false, fmt.Errorf("%w %q: send application/json or text/plain", errNotJSON, mt)
		}
	}
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
		return false, nil
	case "gzip":
		return true, nil
	default:
		return false, fmt.Errorf("%w %q: send gzip or no encoding", errUnsupported, enc)
	}
}

// readBody reads the request body as sent into buf and stops past max bytes. buf grows
// with the bytes that arrive, never from the declared Content-Length: a client that
// announces 500 KB and sends 10 bytes costs its buffer (a pooled one holds at most
// maxPooledBody) and no more, and a slow one that plus what it has sent so far. A read that outlives the server's
// ReadTimeout fails with errReadTimeout. The returned bytes are buf's: they are only
// good until buf is reused.
func readBody(body io.Reader, max int64, buf *bytes.Buffer) ([]byte, error) {
	_, err := buf.ReadFrom(io.LimitReader(body, max+1))
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return nil, fmt.Errorf("%w: %w", errReadTimeout, err)
	case err != nil:
		return nil, fmt.Errorf("read body: %w", err)
	case int64(buf.Len()) > max:
		return nil, fmt.Errorf("%w: more than %d bytes sent", errTooLarge, max)
	}
	return buf.Bytes(), nil
}

// gunzip decompresses the gzip body b into buf and stops at max bytes of output, so a
// compressed bomb is cut off after max bytes, never inflated whole. It runs once the
// whole body has arrived, so a slow client holds no decompressor.
func gunzip(b []byte, max int64, buf *bytes.Buffer) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("malformed gzip body: %w", err)
	}
	defer zr.Close()
	_, err = buf.ReadFrom(io.LimitReader(zr, max+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("malformed gzip body: %w", err)
	case int64(buf.Len()) > max:
		return nil, fmt.Errorf("%w: more than %d bytes after decompression", errTooLarge, max)
	}
	return buf.Bytes(), nil
}

// bodyPool holds request body buffers. Only buffers of ordinary batches are kept, so
// one 500 KB request does not pin 500 KB for good.
type bodyPool struct{ p sync.Pool }

const maxPooledBody = 64 << 10

func (bp *bodyPool) get() *bytes.Buffer {
	if b, ok := bp.p.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

func (bp *bodyPool) put(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBody {
		b.Reset()
		bp.p.Put(b)
	}
}

// batchRequest is the body of POST /v1/batch.
type batchRequest struct {
	Batch    []json.RawMessage `json:"batch"`
	SentAt   *schemas.Time     `json:"sentAt"`
	WriteKey string            `json:"writeKey"`

	// events holds Batch decoded and validated, one per element (parseBatch and
	// parseSingle fill it).
	events []decoded
}

// decoded is one event of a request: event is nil when it could not be decoded, err
// says why it is rejected (nil when it is valid).
type decoded struct {
	event *schemas.Event
	err   *schemas.ValidationError
}

// parseBatch decodes a batch body and every event of it. parseBatchStrict
// (encoding/json) defines what is accepted and every error message; parseBatchFast
// takes the common shape of a body at a fraction of the cost, and hands anything else
// to parseBatchStrict. The raw events share body's bytes.
func parseBatch(body []byte) (*batchRequest, error) {
	if req, ok := parseBatchFast(body); ok && decodeEvents(req) {
		return req, nil
	}
	req, err := parseBatchStrict(body)
	if err != nil {
		return nil, err
	}
	decodeEvents(req) // true: encoding/json checked every event
	return req, nil
}

// decodeEvents decodes and validates every event of req into req.events. It reports
// false when an event is not well-formed JSON nested at most MaxDepth levels, which
// makes the whole body malformed: parseBatchFast leaves that check to ParseEvent,
// which does it anyway, instead of scanning every event twice.
func decodeEvents(req *batchRequest) bool {
	req.events = make([]decoded, len(req.Batch))
	for i, raw := range req.Batch {
		e, err := schemas.ParseEvent(raw)
		if err == nil {
			err = e.Validate()
		}
		if err == nil {
			req.events[i] = decoded{event: e}
			continue
		}
		if !json.Valid(raw) || schemas.CheckDepth(raw, schemas.MaxDepth) != nil {
			return false
		}
		req.events[i] = decoded{event: e, err: asValidationError(err)}
	}
	return true
}

// parseBatchStrict decodes a batch body with encoding/json.
func parseBatchStrict(body []byte) (*batchRequest, error) {
	if err := schemas.CheckDepth(body, schemas.MaxDepth+2); err != nil {
		return nil, fmt.Errorf("malformed body: %w", err)
	}
	var req batchRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("malformed body: %s", describeJSONError(err))
	}
	if len(req.Batch) == 0 {
		return nil, errors.New("malformed body: batch must be a non-empty array of events")
	}
	if len(req.Batch) > schemas.MaxBatchEvents {
		return nil, fmt.Errorf("%w: %d events, at most %d", errTooManyEvents, len(req.Batch), schemas.MaxBatchEvents)
	}
	return &req, nil
}

// parseBatchFast decodes a body that is a JSON object whose keys are plain ASCII,
// without repeats of batch, sentAt or writeKey in any letter case, with a non-empty
// batch array of at most MaxBatchEvents, sentAt a valid timestamp string and writeKey
// a plain string. It reports false for anything else, and parseBatchStrict decides.
//
// It walks the body once, checks each piece but the events (every other member's
// value) with json.Valid and CheckDepth, and leaves the events to decodeEvents. A body
// made of valid pieces joined by the object and array syntax checked here is valid
// JSON, nested as deep as its deepest piece plus the levels around it; so what
// parseBatchFast and decodeEvents accept together, and the events they return, are
// exactly parseBatchStrict's, without encoding/json's validity pass over the body and
// its decoding into the struct, which copies every event.
func parseBatchFast(body []byte) (*batchRequest, bool) {
	i := schemas.SkipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	req := &batchRequest{}
	var seenBatch, seenSentAt, seenWriteKey bool
	i = schemas.SkipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return nil, false // no batch
	}
	for {
		// "key"
		if i >= len(body) || body[i] != '"' {
			return nil, false
		}
		end := schemas.StringEnd(body, i)
		if end-i < 2 || body[end-1] != '"' || !plainKey(body[i+1:end-1]) {
			return nil, false // unterminated, or a key with escapes or beyond ASCII
		}
		key := body[i+1 : end-1]
		i = schemas.SkipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = schemas.SkipSpace(body, i+1)
		switch k := string(key); {
		case k == "batch":
			if seenBatch {
				return nil, false
			}
			seenBatch = true
			var ok bool
			if req.Batch, i, ok = fastEvents(body, i); !ok {
				return nil, false
			}
		case k == "sentAt":
			end := schemas.ValueEnd(body, i)
			if seenSentAt || i >= len(body) || body[i] != '"' || !json.Valid(body[i:end]) {
				return nil, false
			}
			seenSentAt = true
			t := &schemas.Time{}
			if t.UnmarshalJSON(body[i:end]) != nil {
				return nil, false
			}
			req.SentAt, i = t, end
		case k == "writeKey":
			end := schemas.ValueEnd(body, i)
			if seenWriteKey || i >= len(body) || body[i] != '"' || !json.Valid(body[i:end]) {
				return nil, false
			}
			s := body[i+1 : end-1]
			if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
				return nil, false
			}
			seenWriteKey = true
			req.WriteKey, i = string(s), end
		case strings.EqualFold(k, "batch"), strings.EqualFold(k, "sentAt"), strings.EqualFold(k, "writeKey"):
			return nil, false // encoding/json matches keys in any case
		default:
			end := schemas.ValueEnd(body, i)
			if v := body[i:end]; !json.Valid(v) || schemas.CheckDepth(v, schemas.MaxDepth+1) != nil {
				return nil, false
			}
			i = end
		}
		i = schemas.SkipSpace(body, i)
		if i >= len(body) {
			return nil, false
		}
		if body[i] == '}' {
			break
		}
		if body[i] != ',' {
			return nil, false
		}
		i = schemas.SkipSpace(body, i+1)
	}
	if !seenBatch || schemas.SkipSpace(body, i+1) != len(body) {
		return nil, false
	}
	return req, true
}

// fastEvents finds the events of the batch array starting at body[i], 1 to
// MaxBatchEvents of them, and returns them and the index past the array. Whether
// each is valid JSON is decodeEvents' to check.
func fastEvents(body []byte, i int) ([]json.RawMessage, int, bool) {
	if i >= len(body) || body[i] != '[' {
		return nil, i, false
	}
	events := make([]json.RawMessage, 0, 32)
	i = schemas.SkipSpace(body, i+1)
	for {
		if i >= len(body) || body[i] == ']' || len(events) == schemas.MaxBatchEvents {
			return nil, i, false // truncated, empty, or too many: the strict path words it
		}
		end := schemas.ValueEnd(body, i)
		if end == i {
			return nil, i, false // no value
		}
		events = append(events, body[i:end:end])
		i = schemas.SkipSpace(body, end)
		if i >= len(body) {
			return nil, i, false
		}
		switch body[i] {
		case ']':
			return events, i + 1, true
		case ',':
			i = schemas.SkipSpace(body, i+1)
		default:
			return nil, i, false
		}
	}
}

// plainKey reports whether an object key, as written between its quotes, is printable
// ASCII without escapes: then it means what it says, and encoding/json's case folding
// of it is ASCII folding.
func plainKey(k []byte) bool {
	for _, c := range k {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// parseSingle decodes the body of /v1/track and friends: one event whose type is the
// path's. It returns the event raw, as a one-event batch, and the body's write key.
func parseSingle(body []byte, typ string) (*batchRequest, error) {
	if err := schemas.CheckDepth(body, schemas.MaxDepth); err != nil {
		return nil, fmt.Errorf("malformed body: %w", err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("malformed body: %s", describeJSONError(err))
	}
	if fields == nil {
		return nil, errors.New("malformed body: the event must be a JSON object")
	}
	req := &batchRequest{}
	if wk, ok := fields["writeKey"]; ok {
		if err := json.Unmarshal(wk, &req.WriteKey); err != nil {
			return nil, errors.New("malformed body: writeKey must be a string")
		}
		delete(fields, "writeKey")
	}
	if _, ok := fields["type"]; !ok {
		fields["type"] = json.RawMessage(strconv.Quote(typ))
	}
	raw, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("re-encode event: %w", err)
	}
	req.Batch = []json.RawMessage{raw}
	decodeEvents(req) // true: raw was encoded from checked JSON
	return req, nil
}

func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		if te.Field == "" {
			return "the body must be a JSON object"
		}
		return fmt.Sprintf("%s must not be a JSON %s", te.Field, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	default:
		return err.Error()
	}
}
