package lifecycle

import (
	"net/http"
	"time"
)

// Timeouts of the processor's and the archiver's HTTP servers (the collector's API has
// settings of its own): a client that sends its headers or its request slowly, reads
// the answer slowly or keeps an idle connection holds a connection, and a goroutine,
// only this long.
const (
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 10 * time.Second
	// WriteTimeout leaves /metrics and a stats query over the longest range time to
	// answer on a busy process.
	WriteTimeout = 30 * time.Second
	IdleTimeout  = 60 * time.Second
	// MaxHeaderBytes bounds a request's header block; larger ones get 431.
	MaxHeaderBytes = 64 << 10
	// HTTPGrace is what these servers have at least, after the service's final flush,
	// to answer the requests in flight: the services stop them last, so that /metrics
	// shows the flush.
	HTTPGrace = 5 * time.Second
)

// NewHTTPServer serves h with every timeout above set.
func NewHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}
