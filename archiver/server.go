package archiver

import (
	"net/http"
	"time"
)

// Timeouts of the health and metrics server: a client that trickles its request or
// never reads the answer holds a connection (and a goroutine) only this long.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	// writeTimeout leaves /metrics time to gather on a busy process.
	writeTimeout = 30 * time.Second
	idleTimeout  = 60 * time.Second
)

// newHTTPServer serves h with every timeout set.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}
