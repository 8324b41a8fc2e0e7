// Command collector serves Clicktrail's ingest API (the Segment HTTP Tracking API).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/internal/obs"
)

func main() {
	cfg := collector.DefaultConfig()
	fs := flag.NewFlagSet("collector", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: collector [flags]\n\nAccepts events over HTTP (POST /v1/batch, /v1/track, ...) and answers 200 once\nPulsar holds them. Serves /healthz, /readyz and /metrics.\n\nFlags (each also read from the environment variable shown with a $):\n")
		fs.PrintDefaults()
	}
	env := cfg.RegisterFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if err := env.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "collector:", err)
		os.Exit(2)
	}
	log, err := obs.NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "collector:", err)
		os.Exit(2)
	}
	c, err := collector.New(cfg, log, obs.NewRegistry())
	if err != nil {
		log.Error("invalid configuration", "err", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := c.Run(ctx); err != nil {
		log.Error("collector stopped", "err", err)
		os.Exit(1)
	}
}
