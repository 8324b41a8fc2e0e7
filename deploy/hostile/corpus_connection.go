package hostile

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// Server timeouts of the contract, and the slack the suite allows over them on a busy
// two-core machine.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	idleTimeout       = 60 * time.Second
	timeoutSlack      = 2 * time.Second
)

// connectionCases: slow bodies and slow headers cut by the server's timeouts, many
// slow connections that must not lock an ordinary client out, pipelining and clients
// that go away.
func connectionCases() []*Case {
	cutByRead := Expect{Status: 400, Closed: true, Within: readTimeout + timeoutSlack, Alt: &Expect{Status: 408, Within: readTimeout + timeoutSlack}}
	cutByHeader := Expect{Closed: true, Within: readHeaderTimeout + timeoutSlack, Alt: &Expect{Status: 408, Within: readHeaderTimeout + timeoutSlack}}
	return []*Case{
		{Name: "a body trickled one byte a second is cut by the read timeout", Background: true, Unlabelled: true, Run: trickleBody, Want: cutByRead},
		{Name: "headers trickled one line a second are cut by the header timeout", Background: true, Run: trickleHeaders, Want: cutByHeader},
		{Name: "a connection that sends nothing is closed by the header timeout", Background: true, Run: silent, Want: cutByHeader},
		{Name: "a body sent after a 3 s pause is accepted", Background: true, Run: pausedBody, Want: Expect{Status: 200, Accepted: 1, Within: 6 * time.Second}},
		{Name: "an idle keep-alive connection is closed by the idle timeout", Background: true, LongOnly: true, Run: idleKeepAlive,
			Want: Expect{Closed: true, Within: idleTimeout + timeoutSlack}},
		{Name: "slow connections held open do not lock out an ordinary request", Run: heldOpen,
			Want: Expect{Status: 200, Accepted: 5, Within: 2 * time.Second}},
		{Name: "50 concurrent ordinary requests all get 200", Run: concurrent(50),
			Want: Expect{Status: 200, Accepted: 50 * 3, Check: all(200, 50), Within: 10 * time.Second}},
		{Name: "two pipelined requests on one connection both get 200", Run: pipelined, Want: Expect{Status: 200, Accepted: 2, Check: all(200, 2)}},
		{Name: "a client that disconnects before its answer leaves the collector serving", Unlabelled: true, Run: disconnects, Want: ok(1)},
	}
}

// stalled is the start of a request whose body (1,000 bytes declared) stops after 10.
func stalled(t *Target, ids IDs) []byte {
	raw, _ := t.encode(Request{NoContentLength: true, Header: []Header{{"Content-Length", "1000"}}, Body: raw(`{"batch":[`)}, ids)
	return raw
}

func dial(ctx context.Context, t *Target) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	return d.DialContext(ctx, "tcp", t.Addr)
}

func trickleBody(ctx context.Context, t *Target, ids IDs) Outcome {
	conn, err := dial(ctx, t)
	if err != nil {
		return Outcome{Err: err.Error()}
	}
	defer conn.Close()
	start := time.Now()
	_, _ = conn.Write(stalled(t, ids))
	go func() {
		for range 30 {
			time.Sleep(time.Second)
			if _, err := conn.Write([]byte(" ")); err != nil {
				return
			}
		}
	}()
	return waitClosed(conn, start, readTimeout+timeoutSlack+time.Second)
}

func trickleHeaders(ctx context.Context, t *Target, _ IDs) Outcome {
	conn, err := dial(ctx, t)
	if err != nil {
		return Outcome{Err: err.Error()}
	}
	defer conn.Close()
	start := time.Now()
	_, _ = fmt.Fprintf(conn, "POST /v1/batch HTTP/1.1\r\nHost: %s\r\n", t.Addr)
	go func() {
		for i := range 30 {
			time.Sleep(time.Second)
			if _, err := fmt.Fprintf(conn, "X-Slow-%d: %d\r\n", i, i); err != nil {
				return
			}
		}
	}()
	return waitClosed(conn, start, readHeaderTimeout+timeoutSlack+time.Second)
}

func silent(ctx context.Context, t *Target, _ IDs) Outcome {
	conn, err := dial(ctx, t)
	if err != nil {
		return Outcome{Err: err.Error()}
	}
	defer conn.Close()
	return waitClosed(conn, time.Now(), readHeaderTimeout+timeoutSlack+time.Second)
}

func pausedBody(ctx context.Context, t *Target, ids IDs) Outcome {
	conn, err := dial(ctx, t)
	if err != nil {
		return Outcome{Err: err.Error()}
	}
	defer conn.Close()
	body := batch(ids.track(0))
	head, _ := t.encode(Request{NoContentLength: true, Header: []Header{{"Content-Length", itoa(len(body))}}}, ids)
	start := time.Now()
	_, _ = conn.Write(head)
	time.Sleep(3 * time.Second)
	_, _ = conn.Write(body)
	_ = conn.SetDeadline(start.Add(defaultTimeout))
	return readAnswer(conn, start, Outcome{At: start})
}

func idleKeepAlive(ctx context.Context, t *Target, ids IDs) Outcome {
	conn, err := dial(ctx, t)
	if err != nil {
		return Outcome{Err: err.Error()}
	}
	defer conn.Close()
	raw, _ := t.encode(Request{KeepAlive: true, Body: one()}, ids)
	_, _ = conn.Write(raw)
	br := bufio.NewReader(conn)
	_ = conn.SetDeadline(time.Now().Add(defaultTimeout))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return Outcome{Err: "first request: " + err.Error()}
	}
	first := fillAnswer(resp, Outcome{})
	resp.Body.Close()
	if first.Status != 200 {
		return first
	}
	_ = conn.SetDeadline(time.Time{})
	o := waitClosed(&bufferedConn{Conn: conn, r: br}, time.Now(), idleTimeout+timeoutSlack+5*time.Second)
	o.Accepted = first.Accepted
	return o
}

// heldOpen holds Profile.SlowConnections connections whose bodies stall, then sends
// an ordinary request, which must get its 200 at once.
func heldOpen(ctx context.Context, t *Target, ids IDs) Outcome {
	n := t.Profile.SlowConnections
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := dial(ctx, t)
			if err == nil {
				_, err = conn.Write(stalled(t, IDs{Prefix: ids.Prefix + "slow" + itoa(i) + "-"}))
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed++
				return
			}
			conns[i] = conn
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	time.Sleep(500 * time.Millisecond) // the server has read their headers
	o := t.Do(ctx, Request{Body: func(ids IDs) []byte { return batch(ids.tracks(5)...) }}, ids)
	o.Detail = fmt.Sprintf("while %d slow connections were held", n-failed)
	if failed > 0 {
		o.Detail += fmt.Sprintf(" (%d could not be opened)", failed)
	}
	return o
}

// concurrent sends n requests of 3 events at once; the outcome is the first that is
// not a 200 (or the slowest), with the accepted events summed.
func concurrent(n int) func(ctx context.Context, t *Target, ids IDs) Outcome {
	return func(ctx context.Context, t *Target, ids IDs) Outcome {
		outs := make([]Outcome, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				outs[i] = t.Do(ctx, Request{Body: func(IDs) []byte {
					return batch(ids.track(3*i), ids.track(3*i+1), ids.track(3*i+2))
				}}, ids)
			}()
		}
		wg.Wait()
		return combine(outs)
	}
}

// combine sums the accepted events of several answers and keeps the first that is not
// a 200 (or the slowest), noting the count of each status.
func combine(outs []Outcome) Outcome {
	counts := map[int]int{}
	worst, accepted := outs[0], 0
	for _, o := range outs {
		counts[o.Status]++
		accepted += o.Accepted
		if worst.Status == 200 && (o.Status != 200 || o.Latency > worst.Latency) {
			worst = o
		}
	}
	worst.Accepted, worst.Rejected, worst.Counts = accepted, nil, counts
	worst.Detail = fmt.Sprintf("%d requests, status counts %v", len(outs), counts)
	return worst
}

func pipelined(ctx context.Context, t *Target, ids IDs) Outcome {
	conn, err := dial(ctx, t)
	if err != nil {
		return Outcome{Err: err.Error()}
	}
	defer conn.Close()
	first, _ := t.encode(Request{KeepAlive: true, Body: func(ids IDs) []byte { return batch(ids.track(0)) }}, ids)
	second, _ := t.encode(Request{Body: func(ids IDs) []byte { return batch(ids.track(1)) }}, ids)
	start := time.Now()
	_ = conn.SetDeadline(start.Add(defaultTimeout))
	_, _ = conn.Write(append(first, second...))
	br := bufio.NewReader(conn)
	var outs []Outcome
	for range 2 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			o := Outcome{Latency: time.Since(start)}
			describeReadError(err, &o)
			outs = append(outs, o)
			break
		}
		outs = append(outs, fillAnswer(resp, Outcome{Latency: time.Since(start), At: start}))
		resp.Body.Close()
	}
	return combine(outs)
}

func disconnects(ctx context.Context, t *Target, ids IDs) Outcome {
	conn, err := dial(ctx, t)
	if err != nil {
		return Outcome{Err: err.Error()}
	}
	raw, _ := t.encode(Request{Body: func(ids IDs) []byte { return batch(ids.tracks(200)...) }}, IDs{Prefix: ids.Prefix + "gone-"})
	_, _ = conn.Write(raw)
	conn.Close()
	time.Sleep(200 * time.Millisecond)
	return t.Do(ctx, Request{Body: one()}, ids)
}

// bufferedConn reads through r, which may hold bytes already read from Conn.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
