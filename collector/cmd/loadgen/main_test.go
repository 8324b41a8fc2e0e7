package main

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRequestsGoOutOnKeptAliveConnectionsAndEveryAnswerIsRead(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Write-Key") != "k" || !strings.HasPrefix(string(body), `{"batch":[`) {
			w.WriteHeader(400)
			return
		}
		switch r.URL.Query().Get("answer") {
		case "chunked":
			_, _ = w.Write([]byte("part one "))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte("part two"))
		case "close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(503)
		default:
			_, _ = w.Write([]byte(`{"accepted":20}`))
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	p := &pool{addr: u.Host}
	defer p.close()
	body := batch(1, 20, 100)
	for _, tc := range []struct {
		query string
		code  int
	}{{"", 200}, {"", 200}, {"?answer=chunked", 200}, {"", 200}, {"?answer=close", 503}, {"", 200}} {
		u := *u
		u.Path = "/"
		req := request(&u, "k", body)
		if tc.query != "" {
			req = []byte(strings.Replace(string(req), "POST /v1/batch ", "POST /v1/batch"+tc.query+" ", 1))
		}
		if r := p.do(req); r.code != tc.code {
			t.Fatalf("%q: status %d, want %d", tc.query, r.code, tc.code)
		}
	}
	// One connection until the server closed it, then a second one.
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

// idleClosingServer serves every request after delay and closes a kept-alive
// connection once it has been idle for idle; it returns a pool for it and a request.
func idleClosingServer(t *testing.T, idle, delay time.Duration) (*pool, []byte) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		time.Sleep(delay)
		_, _ = w.Write([]byte(`{}`))
	}))
	srv.Config.IdleTimeout = idle
	srv.Start()
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	p := &pool{addr: u.Host}
	t.Cleanup(p.close)
	return p, request(u, "k", batch(1, 2, 10))
}

func TestAConnectionTheServerClosedWhileIdleIsReplaced(t *testing.T) {
	p, req := idleClosingServer(t, 20*time.Millisecond, 0)
	for i := range 3 {
		if r := p.do(req); r.code != 200 {
			t.Fatalf("request %d: status %d", i, r.code)
		}
		time.Sleep(60 * time.Millisecond) // the server closes the idle connection
	}
}

func TestARequestWithoutAnswerSaysWhy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	u, _ := url.Parse("http://" + addr)
	p := &pool{addr: addr}
	r := p.do(request(u, "k", batch(1, 2, 10)))
	if r.code != 0 || r.err == nil {
		t.Fatalf("got status %d, error %v; want no answer and its reason", r.code, r.err)
	}
	if got := errorKind(r.err); !strings.Contains(got, "dial") || !strings.Contains(got, "refused") || strings.Contains(got, addr) {
		t.Errorf("reason %q: want the dial failure, without the address", got)
	}
}

func TestSeveralConnectionsTheServerClosedWhileIdleAreAllSkipped(t *testing.T) {
	// 10 ms per answer keeps the three requests below in flight together.
	p, req := idleClosingServer(t, 30*time.Millisecond, 10*time.Millisecond)
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); p.do(req) }()
	}
	wg.Wait()
	if len(p.idle) != 3 {
		t.Fatalf("%d idle connections after three requests in flight together, want 3", len(p.idle))
	}
	time.Sleep(100 * time.Millisecond) // the server closes all three
	if r := p.do(req); r.code != 200 {
		t.Fatalf("status %d (%v), want 200 on a new connection", r.code, r.err)
	}
}
