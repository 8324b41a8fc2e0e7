package processor

import (
	"bufio"
	"net"
	"net/http"
	"testing"
	"time"
)

// The dashboard's HTTP server disconnects clients that are slow to send their
// request or read the answer, and idle connections.
func TestTheHTTPServerHasTimeouts(t *testing.T) {
	srv := newHTTPServer(http.NotFoundHandler())
	for name, v := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if v <= 0 || v > time.Minute {
			t.Errorf("%s is %v, want set, at most a minute", name, v)
		}
	}
	if srv.ReadHeaderTimeout > srv.ReadTimeout {
		t.Errorf("the header timeout %v is longer than the request's %v", srv.ReadHeaderTimeout, srv.ReadTimeout)
	}
}

// A client that never finishes its headers is disconnected after readHeaderTimeout.
func TestASlowClientIsDisconnected(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the header timeout")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(http.NotFoundHandler())
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n")); err != nil { // and nothing more
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(readHeaderTimeout + 5*time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n') // a 408, or the connection closed
	if waited := time.Since(start); waited < readHeaderTimeout-time.Second || waited > readHeaderTimeout+4*time.Second {
		t.Errorf("answered or disconnected after %v (%v), want after about %v", waited, err, readHeaderTimeout)
	}
}
