package collector

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/schemas"
)

func ginContext(remote, xff string) *gin.Context {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", "/v1/batch", nil)
	c.Request.RemoteAddr = remote
	if xff != "" {
		c.Request.Header.Set("X-Forwarded-For", xff)
	}
	return c
}

// FuzzParseBatch feeds request bodies to the decoder and every event to the schema:
// neither may panic, an accepted batch holds between 1 and 2,500 events, and once
// repaired (repairUTF8) every text of it that would be stored is valid UTF-8.
func FuzzParseBatch(f *testing.F) {
	b, err := os.ReadFile("../schemas/testdata/vectors.json")
	if err != nil {
		f.Fatal(err)
	}
	var vectors struct {
		Valid, Invalid []struct {
			Event json.RawMessage `json:"event"`
		}
	}
	if err := json.Unmarshal(b, &vectors); err != nil {
		f.Fatal(err)
	}
	// Each shared vector as a one-event batch: small seeds the fuzzer mutates quickly.
	for _, v := range append(vectors.Valid, vectors.Invalid...) {
		if len(v.Event) < 1024 {
			f.Add([]byte(`{"batch":[` + string(v.Event) + `]}`))
		}
	}
	f.Add([]byte(`{"batch":[` + goodEvent + `],"sentAt":"2026-11-25T10:00:00Z","writeKey":"k"}`))
	f.Add([]byte(`{"batch":[{"type":"page","anonymousId":"a","context":{"page":{"url":7}}}]}`))
	f.Add([]byte(`[]`))
	for _, body := range fastPathBodies {
		f.Add([]byte(body))
	}
	f.Add([]byte("{\"batch\":[{\"type\":\"track\",\"event\":\"\xff\",\"anonymousId\":\"a\",\"properties\":{\"\xc3\":\"\xed\xa0\x80\"}}]}"))
	a := &api{metrics: newMetrics(prometheus.NewRegistry())}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkSameAsStrict(t, body)
		req, err := parseBatch(body)
		if err != nil {
			return
		}
		if n := len(req.Batch); n < 1 || n > schemas.MaxBatchEvents {
			t.Fatalf("accepted a batch of %d events", n)
		}
		if !utf8.Valid(body) {
			a.repairUTF8(req)
		}
		for i, d := range req.events {
			stored := [][]byte{req.Batch[i]}
			if d.err == nil {
				e := d.event
				stored = append(stored, e.Context, e.Properties, e.Traits, e.Integrations, []byte(e.Type+e.Event+e.Name+e.MessageID+e.AnonymousID+e.UserID+e.GroupID+e.PreviousID))
			}
			for _, b := range stored {
				if !utf8.Valid(b) {
					t.Fatalf("event %d keeps invalid UTF-8 after repair: %q", i, b)
				}
			}
		}
		for _, raw := range req.Batch {
			if e, err := schemas.ParseEvent(raw); err == nil {
				_ = e.Validate()
			}
		}
		_, _ = parseSingle(body, "track")
	})
}

// fastPathBodies are bodies on both sides of what parseBatchFast takes.
var fastPathBodies = []string{
	`{"batch":[` + goodEvent + `]}`,
	` {"sentAt":"2026-11-25T10:00:00Z", "batch" : [ ` + goodEvent + ` , {"type":"page"} ] , "writeKey":"k"} ` + "\n",
	`{"batch":[` + goodEvent + `],"extra":{"deep":[1,2,{"x":null}]},"n":-1.5e3,"t":true}`,
	`{"batch":[1,"x",null,[],{}]}`,
	`{"batch":[]}`, `{}`, `[]`, `null`, ``, `{"batch":null}`, `{"batch":{}}`, `{"batch":"x"}`,
	`{"batch":[` + goodEvent + `]`, `{"batch":[` + goodEvent + `]}}`, `{"batch":[` + goodEvent + `]} x`,
	`{"batch":[` + goodEvent + ` ` + goodEvent + `]}`, `{"batch":[` + goodEvent + `,]}`, `{"batch":[,` + goodEvent + `]}`,
	`{"batch":[{"a":}]}`, `{"batch":[{"a":1]}`, `{"batch":[{"a":"\x01"}]}`, "{\"batch\":[{\"a\":\"\x01\"}]}",
	`{"Batch":[` + goodEvent + `]}`, `{"BATCH":[` + goodEvent + `],"batch":[{"type":"page"}]}`,
	`{"batch":[{"type":"page"}],"batch":[` + goodEvent + `]}`, `{"b\u0061tch":[` + goodEvent + `]}`,
	`{"sentat":"2026-11-25T10:00:00Z","batch":[` + goodEvent + `]}`, `{"batch":[` + goodEvent + `],"sentAt":null}`,
	`{"batch":[` + goodEvent + `],"sentAt":"yesterday"}`, `{"batch":[` + goodEvent + `],"sentAt":5}`,
	`{"batch":[` + goodEvent + `],"writeKey":5}`, `{"batch":[` + goodEvent + `],"writeKey":"a\"b"}`,
	`{"batch":[` + goodEvent + `],"writeKey":"caf\u00e9"}`, "{\"batch\":[" + goodEvent + "],\"writeKey\":\"caf\xe9\"}",
	`{"batch":[` + goodEvent + `],"writeKey":"ok","writeKey":"again"}`, "{\"batch\":[" + goodEvent + "],\"\xe2\x84\xaaey\":1}",
	`{"batch":[{"properties":` + strings.Repeat("[", 32) + strings.Repeat("]", 32) + `}]}`,
	`{"batch":[{"properties":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}]}`,
	`{"batch":[{}],"x":` + strings.Repeat("[", 33) + strings.Repeat("]", 33) + `}`,
	`{"batch":[{}],"x":` + strings.Repeat("[", 34) + strings.Repeat("]", 34) + `}`,
	`{"batch":[` + strings.TrimSuffix(strings.Repeat(`{},`, schemas.MaxBatchEvents), ",") + `]}`,
	`{"batch":[` + strings.TrimSuffix(strings.Repeat(`{},`, schemas.MaxBatchEvents+1), ",") + `]}`,
	`{"batch":["\"]"]}`, `{"batch":["\\"]}`, `{"batch":["\\\"]}`, `{"\"":1,"batch":[{}]}`, `{"batch` + "\"",
	`{"batch":[{}], "a":"` + "\\" + `"}`, `{"batch":[{}],"a":tru}`, `{"batch":[{}],"a":01}`, `{"batch":[{}],"a":}`,
}

// checkSameAsStrict fails unless parseBatch and parseBatchStrict agree on body: the
// same error, or the same events, sentAt and writeKey.
func checkSameAsStrict(t *testing.T, body []byte) {
	t.Helper()
	got, gotErr := parseBatch(body)
	want, wantErr := parseBatchStrict(body)
	switch {
	case (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error():
		t.Fatalf("body %.200q: error %v, strict %v", body, gotErr, wantErr)
	case gotErr != nil:
		return
	case got.WriteKey != want.WriteKey || (got.SentAt == nil) != (want.SentAt == nil) ||
		got.SentAt != nil && !got.SentAt.Equal(want.SentAt.Time) || len(got.Batch) != len(want.Batch):
		t.Fatalf("body %.200q: got %+v, strict %+v", body, got, want)
	}
	for i := range got.Batch {
		if !bytes.Equal(got.Batch[i], want.Batch[i]) {
			t.Fatalf("body %.200q: event %d is %s, strict %s", body, i, got.Batch[i], want.Batch[i])
		}
	}
}

func TestTheFastBatchParserAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range fastPathBodies {
		checkSameAsStrict(t, []byte(body))
	}
	for _, raw := range vectorEvents(t) {
		checkSameAsStrict(t, []byte(`{"batch":[`+string(raw)+`,`+string(raw)+`],"sentAt":"2026-11-25T10:00:00.5+01:00"}`))
	}
	// The fast path must take the ordinary bodies, or it is no faster.
	for _, body := range fastPathBodies[:4] {
		if _, ok := parseBatchFast([]byte(body)); !ok {
			t.Errorf("fast path refused %s", body)
		}
	}
}
