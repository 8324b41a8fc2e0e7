package collector

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"time"

	"github.com/clicktrail/clicktrail/internal/lifecycle"
)

// checkLoopback reports an error unless addr (host:port) listens on a loopback address
// only: the profiler shows memory contents and must never face the network.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return errors.New("must be a loopback address such as 127.0.0.1:6061")
	}
	return nil
}

// pprofMux serves net/http/pprof on a mux of its own, on its own listener. (Importing
// net/http/pprof also registers it on http.DefaultServeMux, which nothing serves here.)
func pprofMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// servePprof is the actor of the Go profiler on ln. It is off unless
// --collector.pprof-addr is set; Validate keeps it on loopback. Its stop cuts the
// profiles in flight instead of waiting: a CPU profile or trace streams for as long as
// asked.
func servePprof(ln net.Listener) (run func() error, stop func(context.Context) error) {
	// No WriteTimeout, for the same reason.
	srv := &http.Server{Handler: pprofMux(), ReadHeaderTimeout: 10 * time.Second}
	run, _ = lifecycle.HTTP(srv, ln)
	return run, func(context.Context) error { return srv.Close() }
}
