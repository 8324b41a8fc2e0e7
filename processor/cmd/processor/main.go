// Command processor turns Clicktrail's events into sessions and per-minute aggregates,
// and serves the live dashboard that reads them.
package main

import (
	"context"
	"log/slog"

	"github.com/clicktrail/clicktrail/internal/lifecycle"
	"github.com/clicktrail/clicktrail/internal/obs"
	"github.com/clicktrail/clicktrail/processor"
)

func main() {
	cfg := processor.DefaultConfig()
	lifecycle.Main(lifecycle.Command{
		Name: "processor",
		About: "Reads every source's events through the Key_Shared subscription \"processor\", builds\n" +
			"sessions and per-minute aggregates, publishes closed sessions, and serves the dashboard\n" +
			"at /, its API at /api/v1/stats, and /healthz, /readyz and /metrics.",
		Register: cfg.RegisterFlags, Log: &cfg.Log,
		Run: func(ctx context.Context, log *slog.Logger) error {
			p, err := processor.New(cfg, log, obs.NewRegistry())
			if err != nil {
				return &lifecycle.ConfigError{Err: err}
			}
			return p.Run(ctx)
		},
	})
}
