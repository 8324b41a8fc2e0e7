package hostile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Target is the collector the cases are sent to, and what they send with.
type Target struct {
	// Addr is the collector's host:port.
	Addr string
	// WriteKey is the key requests carry unless their case says otherwise.
	WriteKey string
	Profile  Profile
}

const defaultTimeout = 20 * time.Second

// Do sends r on a connection of its own and reads the answer. It writes and reads at
// once, so an answer given before the whole request was written (413, 431) is read.
func (t *Target) Do(ctx context.Context, r Request, ids IDs) Outcome {
	raw, err := t.encode(r, ids)
	if err != nil {
		return Outcome{Err: err.Error()}
	}
	timeout := r.Timeout
	if timeout == 0 {
		timeout = defaultTimeout
	}
	return t.exchange(ctx, raw, r.HalfClose, timeout)
}

// encode builds the bytes of r.
func (t *Target) encode(r Request, ids IDs) ([]byte, error) {
	var body []byte
	if r.Body != nil {
		body = r.Body(ids)
	}
	if r.Gzip {
		body = gzipped(body)
	}
	method, path := r.Method, r.Path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/v1/batch"
	}
	has := func(name string) bool {
		for _, h := range r.Header {
			if strings.EqualFold(h.Name, name) {
				return true
			}
		}
		return false
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, t.Addr)
	if !r.NoContentType && !has("Content-Type") {
		b.WriteString("Content-Type: application/json\r\n")
	}
	if !r.NoKey && !has("X-Write-Key") && !has("Authorization") {
		key := r.Key
		if key == "" {
			key = t.WriteKey
		}
		b.WriteString("X-Write-Key: " + key + "\r\n")
	}
	if r.Gzip {
		b.WriteString("Content-Encoding: gzip\r\n")
	}
	for _, h := range r.Header {
		if h.Name == "" {
			b.WriteString(h.Value + "\r\n") // a raw line
			continue
		}
		b.WriteString(h.Name + ": " + h.Value + "\r\n")
	}
	switch {
	case r.Chunked:
		b.WriteString("Transfer-Encoding: chunked\r\n")
	case !r.NoContentLength:
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	if !r.KeepAlive {
		b.WriteString("Connection: close\r\n")
	}
	b.WriteString("\r\n")
	if !r.Chunked {
		b.Write(body)
		return b.Bytes(), nil
	}
	for len(body) > 0 {
		n := min(len(body), 16<<10)
		fmt.Fprintf(&b, "%x\r\n", n)
		b.Write(body[:n])
		b.WriteString("\r\n")
		body = body[n:]
	}
	b.WriteString("0\r\n\r\n")
	return b.Bytes(), nil
}

// exchange writes raw on a new connection while reading the answer.
func (t *Target) exchange(ctx context.Context, raw []byte, halfClose bool, timeout time.Duration) Outcome {
	start := time.Now()
	o := Outcome{At: start}
	d := net.Dialer{Timeout: 5 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", t.Addr)
	if err != nil {
		o.Err = err.Error()
		return o
	}
	defer conn.Close()
	_ = conn.SetDeadline(start.Add(timeout))
	go func() {
		if _, err := conn.Write(raw); err == nil && halfClose {
			_ = conn.(*net.TCPConn).CloseWrite()
		}
	}()
	return readAnswer(conn, start, o)
}

// readAnswer reads one answer from conn into o, with the latency since start.
func readAnswer(conn net.Conn, start time.Time, o Outcome) Outcome {
	br := bufio.NewReaderSize(conn, 64<<10)
	for {
		resp, err := http.ReadResponse(br, nil)
		o.Latency = time.Since(start)
		if err != nil {
			describeReadError(err, &o)
			return o
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue // an interim answer (100 Continue): the final one follows
		}
		defer resp.Body.Close()
		return fillAnswer(resp, o)
	}
}

func fillAnswer(resp *http.Response, o Outcome) Outcome {
	o.Status, o.Header = resp.StatusCode, resp.Header
	o.Body, _ = io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if o.Status == http.StatusOK {
		var v struct {
			Accepted int         `json:"accepted"`
			Rejected []Rejection `json:"rejected"`
		}
		if err := json.Unmarshal(o.Body, &v); err != nil {
			o.Err = "undecodable 200 body: " + err.Error()
		}
		o.Accepted, o.Rejected = v.Accepted, v.Rejected
	}
	return o
}

// describeReadError tells a close by the server from a timeout of ours.
func describeReadError(err error, o *Outcome) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		o.Closed = true
	case errors.As(err, &ne) && ne.Timeout(), errors.Is(err, os.ErrDeadlineExceeded):
		o.Err = fmt.Sprintf("no answer and still open after %s", o.Latency.Round(time.Second))
	default:
		o.Err = err.Error()
	}
}

// waitClosed reads from conn until the server closes it or limit passes, and says
// which: used by the cases that hold a connection open on purpose.
func waitClosed(conn net.Conn, start time.Time, limit time.Duration) Outcome {
	_ = conn.SetReadDeadline(start.Add(limit))
	o := Outcome{At: start}
	br := bufio.NewReader(conn)
	if _, err := br.Peek(1); err != nil {
		o.Latency = time.Since(start)
		describeReadError(err, &o)
		return o
	}
	// The server answered something: read it as an HTTP answer.
	resp, err := http.ReadResponse(br, nil)
	o.Latency = time.Since(start)
	if err != nil {
		describeReadError(err, &o)
		return o
	}
	defer resp.Body.Close()
	return fillAnswer(resp, o)
}

func gzipped(b []byte) []byte {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return out.Bytes()
}

// gzipZeros is a gzip stream of n zero bytes: a few KB per MB.
func gzipZeros(n int) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		_, _ = zw.Write(chunk[:k])
		n -= k
	}
	_ = zw.Close()
	return out.Bytes()
}
