package hostile

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeCollector answers each batch as its answer says, given the attempt (1, 2, ...)
// of that body.
func fakeCollector(t *testing.T, answer func(body string, attempt int) (int, string)) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	attempts := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Write-Key") != "k" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mu.Lock()
		attempts[string(b)]++
		n := attempts[string(b)]
		mu.Unlock()
		code, body := answer(string(b), n)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func batchBody(b int, _ time.Time) []byte { return []byte(fmt.Sprintf(`{"b":%d}`, b)) }

func TestASteadySendRetriesRefusalsUntilEveryBatchIsAccepted(t *testing.T) {
	srv := fakeCollector(t, func(body string, attempt int) (int, string) {
		if strings.HasSuffix(body, `0}`) && attempt < 3 { // every tenth batch: refused twice
			return http.StatusServiceUnavailable, `{"error":"busy"}`
		}
		return http.StatusOK, fmt.Sprintf(`{"accepted":%d}`, SoakBatch)
	})
	rep := SendSteady(context.Background(), strings.TrimPrefix(srv.URL, "http://"), "k", 50, 50*SoakBatch*10, 8, batchBody, t.Logf)
	if rep.Accepted != 50*SoakBatch || rep.Refused != 2*5 || rep.Failed != 0 || rep.Events != 50*SoakBatch {
		t.Errorf("got %+v, want every event accepted after 10 refusals", rep)
	}
}

func TestASteadySendKeepsItsRate(t *testing.T) {
	srv := fakeCollector(t, func(string, int) (int, string) { return http.StatusOK, fmt.Sprintf(`{"accepted":%d}`, SoakBatch) })
	rep := SendSteady(context.Background(), strings.TrimPrefix(srv.URL, "http://"), "k", 20, 40*SoakBatch, 8, batchBody, t.Logf)
	// 20 batches at 40 a second: the last is due after 475 ms.
	if rep.Elapsed < 450*time.Millisecond || rep.Elapsed > 2*time.Second {
		t.Errorf("20 batches at 40/s took %s", rep.Elapsed)
	}
}

func TestASteadySendCountsWhatItGaveUp(t *testing.T) {
	srv := fakeCollector(t, func(body string, _ int) (int, string) {
		if body == `{"b":3}` {
			return http.StatusBadRequest, `{"error":"bad"}`
		}
		return http.StatusOK, `{"accepted":19,"rejected":[{"index":4,"reason":"x"}]}`
	})
	rep := SendSteady(context.Background(), strings.TrimPrefix(srv.URL, "http://"), "k", 10, 10000, 4, batchBody, t.Logf)
	if rep.Failed != 1 || !strings.Contains(rep.FirstFailure, "batch 3: 400") || rep.Accepted != 9*19 || rep.Rejected != 9 {
		t.Errorf("got %+v, want batch 3 failed and one event of each other batch rejected", rep)
	}
}
