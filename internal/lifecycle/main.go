package lifecycle

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/clicktrail/clicktrail/internal/flagenv"
	"github.com/clicktrail/clicktrail/internal/obs"
)

// Command is what a service's main hands to Main.
type Command struct {
	// Name and About make the first lines of --help.
	Name, About string
	// Register binds the service's config to flags and environment variables.
	Register func(*flag.FlagSet) *flagenv.Set
	// Log points into the config, read after flags are parsed.
	Log *flagenv.Log
	// Run starts the service and blocks until ctx (SIGINT or SIGTERM) is done.
	Run func(ctx context.Context, log *slog.Logger) error
}

// Main is the whole of a service's main: parse flags and environment, build the logger,
// run until a signal, and exit 0, 1 (the service failed) or 2 (bad configuration).
func Main(c Command) {
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s [flags]\n\n%s\n\nFlags (each also read from the environment variable shown with a $):\n", c.Name, c.About)
		fs.PrintDefaults()
	}
	env := c.Register(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if err := env.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", c.Name, err)
		os.Exit(2)
	}
	log, err := obs.NewLogger(os.Stderr, c.Log.LogLevel, c.Log.LogFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", c.Name, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err = c.Run(ctx, log)
	stop()
	var cerr *ConfigError
	switch {
	case errors.As(err, &cerr):
		log.Error("invalid configuration", "err", cerr.Err)
		os.Exit(2)
	case err != nil:
		log.Error(c.Name+" stopped", "err", err)
		os.Exit(1)
	}
}

// ConfigError marks an error of the configuration (exit status 2).
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }
