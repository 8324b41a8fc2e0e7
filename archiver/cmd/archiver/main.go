// Command archiver writes Clicktrail's events, rejected events and sessions as Parquet
// into S3-compatible storage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/clicktrail/clicktrail/archiver"
	"github.com/clicktrail/clicktrail/internal/obs"
)

func main() {
	cfg := archiver.DefaultConfig()
	fs := flag.NewFlagSet("archiver", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: archiver [flags]\n\nReads events, events-invalid and sessions of every source's namespace through the\nFailover subscription \"archiver\" and stores them as Parquet. Serves /healthz,\n/readyz and /metrics.\n\nFlags (each also read from the environment variable shown with a $):\n")
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
		fmt.Fprintln(os.Stderr, "archiver:", err)
		os.Exit(2)
	}
	log, err := obs.NewLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintln(os.Stderr, "archiver:", err)
		os.Exit(2)
	}
	a, err := archiver.New(cfg, log, obs.NewRegistry(), nil)
	if err != nil {
		log.Error("invalid configuration", "err", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := a.Run(ctx); err != nil {
		log.Error("archiver stopped", "err", err)
		os.Exit(1)
	}
}
