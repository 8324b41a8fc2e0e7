// Command collector serves Clicktrail's ingest API (the Segment HTTP Tracking API).
package main

import (
	"context"
	"log/slog"

	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/internal/lifecycle"
	"github.com/clicktrail/clicktrail/internal/obs"
)

func main() {
	cfg := collector.DefaultConfig()
	lifecycle.Main(lifecycle.Command{
		Name:     "collector",
		About:    "Accepts events over HTTP (POST /v1/batch, /v1/track, ...) and answers 200 once\nPulsar holds them. Serves /healthz, /readyz and /metrics.",
		Register: cfg.RegisterFlags, Log: &cfg.Log,
		Run: func(ctx context.Context, log *slog.Logger) error {
			c, err := collector.New(cfg, log, obs.NewRegistry())
			if err != nil {
				return &lifecycle.ConfigError{Err: err}
			}
			return c.Run(ctx)
		},
	})
}
