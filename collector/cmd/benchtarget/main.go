// Command benchtarget serves the baselines the collector's load benchmark compares
// against, in the same process setup as the collector (deploy/local/bench-collector.sh):
//
//	-mode decode  the collector's own handler with a publisher that acknowledges at once:
//	              parsing, validation and enrichment, nothing stored (the upper bound)
//	-mode naive   the common pattern: a Gin handler that calls a synchronous
//	              producer.Send for each event, with the client's default options
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/apache/pulsar-client-go/pulsar"
	"github.com/gin-gonic/gin"

	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/internal/obs"
	"github.com/clicktrail/clicktrail/internal/pulsarx"
	"github.com/clicktrail/clicktrail/schemas"
)

func main() {
	mode := flag.String("mode", "decode", "decode or naive")
	addr := flag.String("addr", "127.0.0.1:8091", "listen address")
	sources := flag.String("sources", "deploy/local/sources.yaml", "sources file")
	pulsarURL := flag.String("pulsar.url", pulsarx.DefaultURL, "Pulsar service URL (naive mode)")
	topic := flag.String("topic", schemas.Topic("clicktrail", "bench", schemas.TopicEvents), "topic (naive mode)")
	flag.Parse()
	if err := run(*mode, *addr, *sources, *pulsarURL, *topic); err != nil {
		fmt.Fprintln(os.Stderr, "benchtarget:", err)
		os.Exit(1)
	}
}

func run(mode, addr, sources, pulsarURL, topic string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var h http.Handler
	switch mode {
	case "decode":
		cfg := collector.DefaultConfig()
		cfg.SourcesFile = sources
		c, err := collector.New(cfg, log, obs.NewRegistry())
		if err != nil {
			return err
		}
		c.TuneRuntime() // as the collector's own process does: the same runtime
		api := c.Handler(collector.PublisherFunc(func(_ context.Context, _ string, _ *collector.Message, done func(error)) { done(nil) }))
		mux := http.NewServeMux()
		mux.Handle("/", api)
		// Nothing to connect to: ready at once.
		mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ready\n")) })
		h = mux
	case "naive":
		client, err := pulsarx.NewClient(pulsarURL, log)
		if err != nil {
			return err
		}
		defer client.Close()
		producer, err := client.CreateProducer(pulsar.ProducerOptions{Topic: topic})
		if err != nil {
			return fmt.Errorf("create producer: %w", err)
		}
		defer producer.Close()
		h = naive(producer)
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	srv := &http.Server{Addr: addr, Handler: h}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { <-ctx.Done(); _ = srv.Shutdown(context.Background()) }()
	if err := srv.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// naive parses and validates like the collector, then sends each event synchronously.
func naive(producer pulsar.Producer) http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/readyz", func(c *gin.Context) { c.String(200, "ready") })
	r.POST("/v1/batch", func(c *gin.Context) {
		var req struct {
			Batch []json.RawMessage `json:"batch"`
		}
		if err := c.ShouldBindJSON(&req); err != nil {
			c.JSON(400, gin.H{"error": err.Error()})
			return
		}
		for _, raw := range req.Batch {
			e, err := schemas.ParseEvent(raw)
			if err == nil {
				err = e.Validate()
			}
			if err != nil {
				continue
			}
			if _, err := producer.Send(c.Request.Context(), &pulsar.ProducerMessage{Key: e.UserKey(), Payload: raw}); err != nil {
				c.JSON(503, gin.H{"error": err.Error()})
				return
			}
		}
		c.JSON(200, gin.H{"accepted": len(req.Batch)})
	})
	return r
}
