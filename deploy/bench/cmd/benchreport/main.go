// Command benchreport prints the report of `make bench` in markdown: each figure, the
// baseline measured in the same run, their ratio and the issues' goal, met or not.
//
//	go run ./deploy/bench/cmd/benchreport                     # reads .cache/bench, writes .cache/bench/report.md
//	go run ./deploy/bench/cmd/benchreport -dir DIR -out ''    # print only
//
// It reads every *.txt in -dir as Go benchmark output (and for the SDK's size line),
// and the collector benchmark's JSON reports there. A step that did not run shows as
// "not run"; the report fails only on an unreadable input.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/clicktrail/clicktrail/deploy/bench"
)

func main() {
	dir := flag.String("dir", ".cache/bench", "folder of the bench steps' outputs")
	out := flag.String("out", ".cache/bench/report.md", "also write the report here (empty: print only)")
	sdk := flag.String("sdk", "sdk-js/dist/clicktrail.min.js", "SDK build to gzip when no `npm run test:size` output is found")
	command := flag.String("command", "make bench", "the command named in the report as its source")
	flag.Parse()
	if err := run(*dir, *out, *sdk, *command); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

func run(dir, out, sdk, command string) error {
	in, err := bench.LoadInputs(dir, sdk)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := bench.Report(&buf, in, command, time.Now()); err != nil {
		return err
	}
	if _, err := os.Stdout.Write(buf.Bytes()); err != nil {
		return err
	}
	if out == "" {
		return nil
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}
