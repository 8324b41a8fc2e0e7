package collector

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/clicktrail/clicktrail/schemas"
)

// Errors of reading a request, each with its HTTP status.
var (
	errTooLarge      = errors.New("request body too large")
	errUnsupported   = errors.New("unsupported content encoding")
	errNotJSON       = errors.New("unsupported content type")
	errTooManyEvents = errors.New("too many events in one batch")
)

// readBody reads the request body, decompressing gzip, and stops at max bytes both
// before and after decompression, so a compressed bomb is cut off after max bytes of
// output, never inflated whole.
func readBody(r *http.Request, max int64) ([]byte, error) {
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		switch strings.TrimSpace(strings.ToLower(mt)) {
		case "application/json", "text/plain", "application/x-www-form-urlencoded":
			// sendBeacon and fetch without a preflight send text/plain.
		default:
			return nil, fmt.Errorf("%w %q: send application/json or text/plain", errNotJSON, mt)
		}
	}
	var body io.Reader = http.MaxBytesReader(nil, r.Body, max)
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, fmt.Errorf("malformed gzip body: %w", err)
		}
		defer zr.Close()
		body = zr
	default:
		return nil, fmt.Errorf("%w %q: send gzip or no encoding", errUnsupported, enc)
	}
	b, err := io.ReadAll(io.LimitReader(body, max+1))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, fmt.Errorf("%w: more than %d bytes sent", errTooLarge, max)
	case err != nil:
		return nil, fmt.Errorf("read body: %w", err)
	case int64(len(b)) > max:
		return nil, fmt.Errorf("%w: more than %d bytes after decompression", errTooLarge, max)
	}
	return b, nil
}

// batchRequest is the body of POST /v1/batch.
type batchRequest struct {
	Batch    []json.RawMessage `json:"batch"`
	SentAt   *schemas.Time     `json:"sentAt"`
	WriteKey string            `json:"writeKey"`
}

// parseBatch decodes a batch body; the events stay raw for per-event validation.
func parseBatch(body []byte) (*batchRequest, error) {
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
