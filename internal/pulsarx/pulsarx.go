// Package pulsarx holds the Pulsar client options every Clicktrail service shares.
package pulsarx

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/pulsar-client-go/pulsar"
	plog "github.com/apache/pulsar-client-go/pulsar/log"
)

// DefaultURL is the development broker of deploy/local.
const DefaultURL = "pulsar://127.0.0.1:6650"

// NewClient builds the one Pulsar client a process uses. The client library's own
// chatter (reconnect attempts, lookups) goes to log at warn level and above.
func NewClient(url string, log *slog.Logger) (pulsar.Client, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c, err := pulsar.NewClient(pulsar.ClientOptions{
		URL:               url,
		ConnectionTimeout: 5 * time.Second,
		OperationTimeout:  30 * time.Second,
		Logger:            plog.NewLoggerWithSlog(slog.New(warnOnly{log.Handler()}).With("component", "pulsar-client")),
		MetricsRegisterer: nil,
	})
	if err != nil {
		return nil, fmt.Errorf("pulsar client %s: %w", url, err)
	}
	return c, nil
}

// warnOnly drops records below warn level; the client logs every lookup at info.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(a []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(a)} }
func (h warnOnly) WithGroup(n string) slog.Handler      { return warnOnly{h.Handler.WithGroup(n)} }
