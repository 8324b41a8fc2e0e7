package sources_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/clicktrail/clicktrail/archiver"
	"github.com/clicktrail/clicktrail/collector"
	"github.com/clicktrail/clicktrail/processor"
)

// TestEveryServiceRefusesAMisspeltKey starts each service on a sources file, then on
// the same file with one key misspelt ("origin" for "origins"): every service accepts
// the first and refuses the second, naming the source and the key. A typo can no
// longer be refused by one service and silently ignored by another.
func TestEveryServiceRefusesAMisspeltKey(t *testing.T) {
	const good = "sources:\n  - {id: shop, writeKey: k, tenant: t, namespace: n, origins: [https://shop.example]}\n"
	const typo = "sources:\n  - {id: shop, writeKey: k, tenant: t, namespace: n, origin: [https://shop.example]}\n"
	log := slog.New(slog.DiscardHandler)
	services := map[string]func(sourcesFile string) error{
		"collector": func(file string) error {
			cfg := collector.DefaultConfig()
			cfg.SourcesFile = file
			_, err := collector.New(cfg, log, prometheus.NewRegistry())
			return err
		},
		"processor": func(file string) error {
			cfg := processor.DefaultConfig()
			cfg.SourcesFile = file
			_, err := processor.New(cfg, log, prometheus.NewRegistry())
			return err
		},
		"archiver": func(file string) error {
			cfg := archiver.DefaultConfig()
			cfg.SourcesFile = file
			_, err := archiver.New(cfg, log, prometheus.NewRegistry(), nil)
			return err
		},
	}
	dir := t.TempDir()
	goodFile, typoFile := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "typo.yaml")
	for file, content := range map[string]string{goodFile: good, typoFile: typo} {
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name, start := range services {
		t.Run(name, func(t *testing.T) {
			if err := start(goodFile); err != nil {
				t.Fatalf("the %s refuses a good sources file: %v", name, err)
			}
			err := start(typoFile)
			if err == nil || !strings.Contains(err.Error(), `source shop: unknown key "origin"`) {
				t.Fatalf("the %s on a misspelt key: %v, want it refused naming the source and the key", name, err)
			}
		})
	}
}
