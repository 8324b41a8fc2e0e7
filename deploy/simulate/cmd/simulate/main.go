// Command simulate sends simulated visitors' traffic to a collector and reports what
// was sent, accepted and rejected.
//
//	simulate -url http://127.0.0.1:8088 -key dev -rate 20 -duration 5m
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/clicktrail/clicktrail/deploy/simulate"
)

func main() {
	var cfg simulate.Config
	flag.StringVar(&cfg.URL, "url", "http://127.0.0.1:8088", "collector base URL")
	flag.StringVar(&cfg.WriteKey, "key", "dev", "write key")
	flag.IntVar(&cfg.Visitors, "visitors", 0, "visits to simulate (0: until -duration or Ctrl-C)")
	flag.Float64Var(&cfg.Rate, "rate", 10, "new visitors per second")
	flag.IntVar(&cfg.Concurrency, "concurrency", 200, "visits in progress at most")
	flag.DurationVar(&cfg.ThinkTime, "think", 3*time.Second, "mean pause between two pages of a visit")
	flag.Float64Var(&cfg.BotShare, "bots", 0.05, "share of bot visits")
	flag.Float64Var(&cfg.MalformedShare, "malformed", 0.02, "share of malformed requests")
	flag.Uint64Var(&cfg.Seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	flag.DurationVar(&cfg.RetryFor, "retry-for", 0, "retry a request that got no answer, a 5xx or a 429 for this long, with the same messageIds (0: no retries)")
	duration := flag.Duration("duration", 0, "stop after this long (0: no limit)")
	record := flag.String("record", "", "write every accepted messageId to this file, one a line")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	fmt.Fprintf(os.Stderr, "simulate: sending to %s as %q, %.0f new visitors/s\n", cfg.URL, cfg.WriteKey, cfg.Rate)
	rep, err := simulate.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *record != "" {
		if err := writeIDs(*record, rep.AcceptedIDs); err != nil {
			fmt.Fprintln(os.Stderr, "simulate:", err)
			os.Exit(1)
		}
	}
	out, _ := json.Marshal(rep)
	fmt.Println(string(out))
}

func writeIDs(path string, ids []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, id := range ids {
		fmt.Fprintln(w, id)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
