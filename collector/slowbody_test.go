package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSlowBodiesDoNotLockOrdinaryClientsOut opens 320 connections that announce a
// 100 KB body and trickle it a byte at a time, against a collector with 16 in-flight
// slots: ordinary requests made meanwhile are answered 200 at once (the trickling ones
// hold no slot), and each trickling connection is answered 408 and closed once the
// read timeout has passed, not before.
func TestSlowBodiesDoNotLockOrdinaryClientsOut(t *testing.T) {
	const (
		slow        = 320
		readTimeout = 2 * time.Second
	)
	c := newCollectorForTest(t, func(c *Config) {
		c.MaxInFlight = 16
		c.ReadHeaderTimeout = time.Second
		c.ReadTimeout = readTimeout
		c.WriteTimeout = readTimeout + c.PublishTimeout + time.Second
	})
	base := serveForTest(t, c, &fakePublisher{})
	addr := strings.TrimPrefix(base, "http://")

	type outcome struct {
		status  string // the answer's status line, or how the connection ended
		elapsed time.Duration
	}
	outcomes := make(chan outcome, slow)
	var started sync.WaitGroup
	start := time.Now()
	for range slow {
		started.Add(1)
		go func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				started.Done()
				outcomes <- outcome{status: "dial: " + err.Error()}
				return
			}
			defer conn.Close()
			opened := time.Now()
			fmt.Fprintf(conn, "POST /v1/batch HTTP/1.1\r\nHost: x\r\nX-Write-Key: wk-api\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
			started.Done()
			answered := make(chan string, 1)
			go func() {
				line, err := bufio.NewReader(conn).ReadString('\n')
				if err != nil {
					answered <- "closed: " + err.Error()
					return
				}
				answered <- strings.TrimSpace(line)
			}()
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case status := <-answered:
					outcomes <- outcome{status: status, elapsed: time.Since(opened)}
					return
				case <-tick.C:
					if _, err := conn.Write([]byte(" ")); err != nil {
						outcomes <- outcome{status: <-answered, elapsed: time.Since(opened)}
						return
					}
				}
			}
		}()
	}
	started.Wait()
	time.Sleep(300 * time.Millisecond) // every slow request is now reading its body

	for i := range 20 {
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/batch", strings.NewReader(`{"batch":[`+goodEvent+`]}`))
		req.Header.Set("X-Write-Key", "wk-api")
		sent := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("ordinary request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || time.Since(sent) > time.Second {
			t.Fatalf("ordinary request %d while %d clients trickle: %d %s after %s", i, slow, resp.StatusCode, body, time.Since(sent))
		}
	}
	if reading := testGauge(c.metrics.reading); reading < slow/2 {
		t.Errorf("%v requests reading their body, want most of the %d slow ones", reading, slow)
	}
	if inFlight := testGauge(c.metrics.inFlight); inFlight != 0 {
		t.Errorf("%v requests in flight while only slow ones are open", inFlight)
	}

	for range slow {
		select {
		case o := <-outcomes:
			if !strings.Contains(o.status, "408") || o.elapsed < readTimeout-200*time.Millisecond || o.elapsed > readTimeout+3*time.Second {
				t.Fatalf("a slow client got %q after %s, want 408 after the %s read timeout", o.status, o.elapsed.Round(time.Millisecond), readTimeout)
			}
		case <-time.After(readTimeout + 10*time.Second):
			t.Fatalf("slow clients still connected %s after they started", time.Since(start))
		}
	}
}

func TestABodyBufferGrowsWithTheBytesReceivedNotTheDeclaredLength(t *testing.T) {
	tests := []struct {
		name    string
		sent    int
		maxCap  int
		wantErr error
	}{
		{"10 bytes under a declared 500 KB take under 1 KB", 10, 1 << 10, nil},
		{"20 KB take under 64 KB", 20 << 10, 64 << 10, nil},
		{"a body over the limit is refused having read one byte past it", 600 << 10, 2 << 20, errTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, "/v1/batch", io.LimitReader(zeros{}, int64(tc.sent)))
			req.ContentLength = 500 << 10 // what the client claims, whatever it sends
			var buf bytes.Buffer
			b, err := readBody(req.Body, 500<<10, &buf)
			if tc.wantErr != nil {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr.Error()) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
			} else if err != nil || len(b) != tc.sent {
				t.Fatalf("read %d bytes, %v", len(b), err)
			}
			if buf.Cap() > tc.maxCap {
				t.Errorf("buffer of %d bytes for %d received, want at most %d", buf.Cap(), tc.sent, tc.maxCap)
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestTheServerHasTheContractsBounds(t *testing.T) {
	srv := newCollectorForTest(t, nil).httpServer(http.NotFoundHandler())
	if srv.MaxHeaderBytes != 64<<10 || srv.ReadHeaderTimeout != 5*time.Second || srv.ReadTimeout != 10*time.Second ||
		srv.IdleTimeout != 60*time.Second || srv.WriteTimeout <= srv.ReadTimeout+10*time.Second {
		t.Errorf("server: max header bytes %d, read header %s, read %s, write %s, idle %s",
			srv.MaxHeaderBytes, srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout)
	}
}
