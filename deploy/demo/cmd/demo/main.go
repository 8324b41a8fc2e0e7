// Command demo serves the Clicktrail demo site: a few static pages that embed the
// browser SDK as a customer's site does and send their events to a collector.
package main

import (
	"context"
	"log/slog"

	"github.com/clicktrail/clicktrail/deploy/demo"
	"github.com/clicktrail/clicktrail/internal/lifecycle"
	"github.com/clicktrail/clicktrail/internal/obs"
)

func main() {
	cfg := demo.DefaultConfig()
	lifecycle.Main(lifecycle.Command{
		Name: "demo",
		About: "Serves a small demo website (home, pricing, docs, a blog post, a signup form) whose\n" +
			"pages load the Clicktrail SDK (" + demo.SDKScript + ", from --demo.sdk) and send their\n" +
			"events to the collector at --demo.collector-url. Serves /healthz, /readyz and /metrics.",
		Register: cfg.RegisterFlags, Log: &cfg.Log,
		Run: func(ctx context.Context, log *slog.Logger) error {
			s, err := demo.New(cfg, log, obs.NewRegistry())
			if err != nil {
				return &lifecycle.ConfigError{Err: err}
			}
			return s.Run(ctx)
		},
	})
}
