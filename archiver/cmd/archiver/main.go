// Command archiver writes Clicktrail's events, rejected events and sessions as Parquet
// into S3-compatible storage.
package main

import (
	"context"
	"log/slog"

	"github.com/clicktrail/clicktrail/archiver"
	"github.com/clicktrail/clicktrail/internal/lifecycle"
	"github.com/clicktrail/clicktrail/internal/obs"
)

func main() {
	cfg := archiver.DefaultConfig()
	lifecycle.Main(lifecycle.Command{
		Name:     "archiver",
		About:    "Reads events, events-invalid and sessions of every source's namespace through the\nFailover subscription \"archiver\" and stores them as Parquet. Serves /healthz,\n/readyz and /metrics.",
		Register: cfg.RegisterFlags, Log: &cfg.Log,
		Run: func(ctx context.Context, log *slog.Logger) error {
			a, err := archiver.New(cfg, log, obs.NewRegistry(), nil)
			if err != nil {
				return &lifecycle.ConfigError{Err: err}
			}
			return a.Run(ctx)
		},
	})
}
