// Command healthcheck is the HEALTHCHECK of Clicktrail's images: it GETs a service's
// health endpoint and exits 0 when the answer is 2xx, 1 otherwise (2 for bad usage).
//
//	healthcheck -addr-env CLICKTRAIL_COLLECTOR_ADDR /readyz
//	healthcheck http://127.0.0.1:8088/healthz
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/clicktrail/clicktrail/deploy/healthcheck"
)

func main() {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: healthcheck [flags] PATH|URL\n\nGETs PATH on the service's address (or URL) and exits 0 on a 2xx answer, 1 otherwise.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	addrEnv := fs.String("addr-env", "", "environment variable holding the service's listen address (host:port); it wins over -addr when set")
	addr := fs.String("addr", "", "the service's listen address (host:port) when -addr-env is not set")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := fs.Parse(os.Args[1:]); err != nil || fs.NArg() != 1 {
		if err == nil {
			fs.Usage()
		}
		os.Exit(2)
	}
	if *addrEnv != "" {
		if v := os.Getenv(*addrEnv); v != "" {
			*addr = v
		}
	}
	u, err := healthcheck.URL(*addr, fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := healthcheck.Probe(ctx, healthcheck.NewClient(), u); err != nil {
		fmt.Fprintln(os.Stderr, "healthcheck:", err)
		cancel()
		os.Exit(1)
	}
}
