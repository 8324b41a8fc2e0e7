package collector

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/gin-gonic/gin"

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
// neither may panic, and an accepted batch holds between 1 and 2,500 events.
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
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := parseBatch(body)
		if err != nil {
			return
		}
		if n := len(req.Batch); n < 1 || n > schemas.MaxBatchEvents {
			t.Fatalf("accepted a batch of %d events", n)
		}
		for _, raw := range req.Batch {
			if e, err := schemas.ParseEvent(raw); err == nil {
				_ = e.Validate()
			}
		}
		_, _ = parseSingle(body, "track")
	})
}
