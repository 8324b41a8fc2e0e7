package compat_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/deploy/chaos"
	"github.com/clicktrail/clicktrail/deploy/compat"
	"github.com/clicktrail/clicktrail/deploy/hostile"
	"github.com/clicktrail/clicktrail/internal/testenv"
)

const (
	webKey    = "compat-web"
	serverKey = "compat-server"
	readKey   = "compat-read"
	chromium  = "/usr/bin/chromium"
)

// TestOfficialClientsDeliverEveryField installs Segment's and RudderStack's official
// clients from the package registries (on first use, into .cache/compat), sets each up
// with the README's settings as written, and has it make every call it offers, with
// nested properties and unicode, through the real collector, processor and archiver:
// analytics.js in Chromium in its default and batching modes, RudderStack's
// JavaScript SDK in Chromium over XHR and beacon, and Segment's and RudderStack's
// Python and Node libraries. Then every event the collector accepted is checked in
// Parquet, read with DuckDB, column by column against what the client sent and the
// call made, and the processor's aggregates against those rows. A failure names the
// client, the call and the column.
func TestOfficialClientsDeliverEveryField(t *testing.T) {
	began := time.Now()
	ctx := context.Background()
	root := testenv.Root(t)

	// Build, install and find DuckDB while the namespace is provisioned.
	type result struct {
		bins      chaos.Binaries
		installed compat.Installed
		python    string
		err       error
	}
	build, install, duck := make(chan result, 1), make(chan result, 1), make(chan result, 1)
	binDir := t.TempDir()
	go func() { b, err := chaos.Build(ctx, root, binDir); build <- result{bins: b, err: err} }()
	go func() {
		in, err := compat.Install(ctx, filepath.Join(root, ".cache", "compat"))
		install <- result{installed: in, err: err}
	}()
	go func() { p, err := chaos.DuckDBPython(ctx, root); duck <- result{python: p, err: err} }()
	env := testenv.New(t)
	if _, err := os.Stat(chromium); err != nil {
		if out, err := exec.Command(filepath.Join(root, "sdk-js", "scripts", "ensure-chromium.sh")).CombinedOutput(); err != nil {
			t.Fatalf("%s is missing and sdk-js/scripts/ensure-chromium.sh could not install it: %v\n%s", chromium, err, out)
		}
	}
	b, in, d := <-build, <-install, <-duck
	if b.err != nil {
		t.Fatal(b.err)
	}
	if in.err != nil {
		t.Fatalf("install the official clients from the package registries: %v", in.err)
	}
	if d.err != nil {
		t.Fatalf("DuckDB, to read the lake as an analyst would: %v", d.err)
	}
	snippets, _, err := compat.Snippets(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	installed := time.Now()

	// The customer's site and the tap in front of the collector.
	siteLn, tapLn := listen(t), listen(t)
	site := "http://" + siteLn.Addr().String()
	tapURL := "http://" + tapLn.Addr().String()

	svcs, err := hostile.StartServicesWith(ctx, t, b.bins, env, "compat", fmt.Sprintf(`sources:
  - id: compat-web
    writeKey: %s
    readKey: %s
    tenant: %s
    namespace: %s
    origins: [%q]
    timezone: UTC
  - id: compat-server
    writeKey: %s
    tenant: %s
    namespace: %s
    server: true
    timezone: UTC
`, webKey, readKey, env.Tenant, env.Namespace, site, serverKey, env.Tenant, env.Namespace),
		hostile.ServiceArgs{Archiver: []string{"--archiver.roll-age", "3s"}})
	if err != nil {
		t.Fatal(err)
	}
	collectorAddr := svcs.Collector.Addr

	run := "r" + randomHex()
	tap := compat.NewTap("http://"+collectorAddr, run)
	var retrying []string
	for _, c := range compat.Clients() {
		if c.RetryHeader != "" {
			retrying = append(retrying, c.Name)
		}
	}
	tap.FailFirst(retrying...)
	serve(t, tapLn, tap)
	siteHandler := compat.NewSite(in.installed.NodeDir, tap)
	serve(t, siteLn, siteHandler)

	// Every client, set up with its README snippet.
	clients := compat.Clients()
	sourceOf := map[string]string{}
	filled := map[string]string{}
	var browserClients []compat.BrowserClient
	for _, c := range clients {
		snippet, ok := snippets[c.Snippet]
		if !ok {
			t.Fatalf("the README's section %q has no code block %q for %s", compat.ReadmeSection, c.Snippet, c.Label)
		}
		key, src := serverKey, "compat-server"
		if c.Browser {
			key, src = webKey, "compat-web"
		}
		sourceOf[c.Name] = src
		filled[c.Name] = compat.Fill(snippet, key, tapURL)
		if c.Browser {
			if err := siteHandler.AddPage(c, filled[c.Name]); err != nil {
				t.Fatal(err)
			}
			u := site + compat.BrowserPagePath(c.Name) + "?utm_source=" + compat.UTMSource + "&utm_medium=test"
			browserClients = append(browserClients, compat.BrowserClient{Client: c, URL: u, Run: run})
		}
	}
	started := time.Now()
	t.Logf("run %s, namespace %s/%s: set up in %.0fs (install %.0fs)", run, env.Tenant, env.Namespace, started.Sub(began).Seconds(), installed.Sub(began).Seconds())

	// The browser clients in Chromium while the server libraries run.
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := map[string]compat.Outcome{}
	var runErrs []string
	record := func(out []compat.Outcome, err error, what string) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			runErrs = append(runErrs, what+": "+err.Error())
		}
		for _, o := range out {
			outcomes[o.Client] = o
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		out, err := compat.RunBrowser(ctx, in.installed, chromium, site, compat.BrowserReferrer, browserClients, 90*time.Second)
		record(out, err, "the browser clients")
	}()
	for _, c := range clients {
		if c.Browser {
			continue
		}
		out, err := compat.RunServer(ctx, in.installed, c, filled[c.Name], run)
		record(out, err, c.Name)
	}
	wg.Wait()
	sent := time.Now()
	for _, e := range runErrs {
		t.Error(e)
	}
	problems := tap.Problems()
	for _, c := range clients {
		o, ok := outcomes[c.Name]
		switch {
		case !ok:
			t.Errorf("%s: the runner said nothing of it", c.Name)
		case !o.OK:
			t.Errorf("%s: %s\n%s", c.Name, o.Error, strings.Join(o.Logs, "\n"))
		}
		for _, p := range problems[c.Name] {
			t.Errorf("%s: the collector answered %s", c.Name, p)
		}
		if c.RetryHeader != "" && !retriedWith(tap.Retried()[c.Name], c.RetryHeader) {
			t.Errorf("%s: no retry after the first request's 503 carried %s", c.Name, c.RetryHeader)
		}
	}

	// Every accepted event in the lake, then in the processor's aggregates.
	acceptedBy := tap.AcceptedEvents()
	total := 0
	for _, c := range clients {
		total += len(acceptedBy[c.Name])
	}
	var rows map[string][]compat.Row
	var files int
	deadline := time.Now().Add(90 * time.Second)
	for {
		lakeDir := t.TempDir()
		all, n, err := compat.ReadLake(ctx, env.S3(), env.Provision.Bucket, env.Prefix, lakeDir, d.python)
		if err != nil {
			t.Fatal(err)
		}
		rows, files = compat.RowsByMessageID(all, run), n
		if len(rows) >= total || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Second)
	}
	x := compat.Expect{Run: run, Tenant: env.Tenant, Sources: sourceOf, Started: started, Ended: sent}
	for _, c := range clients {
		for _, f := range x.CheckClient(c, acceptedBy[c.Name], rows) {
			t.Error(f)
		}
	}

	browserKey := func(key string) bool {
		for _, c := range clients {
			if c.Browser && key == compat.AnonymousID(run, c.Name) {
				return true
			}
		}
		return false
	}
	order := map[string]int{}
	for _, c := range clients {
		for i, s := range acceptedBy[c.Name] {
			id, _ := s.Event["messageId"].(string)
			order[id] = i
		}
	}
	want := compat.WantAggregates(rows, browserKey, order)
	var diff []string
	for deadline := time.Now().Add(60 * time.Second); ; {
		st, err := chaos.FetchStats(ctx, svcs.Processor.Addr, env.Tenant, readKey, started.Add(-time.Hour), time.Now().Add(time.Hour))
		if err != nil {
			diff = []string{err.Error()}
		} else {
			diff = want.Compare(st)
		}
		if len(diff) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for _, d := range diff {
		t.Errorf("processor's aggregates: %s", d)
	}
	t.Logf("%d clients, %d events accepted, %d rows of the run in %d files; durations: setup %.0fs, clients %.0fs, checks %.0fs",
		len(clients), total, len(rows), files, started.Sub(began).Seconds(), sent.Sub(started).Seconds(), time.Since(sent).Seconds())
}

// TestTheREADMEListsEveryClientWithItsVersion holds the README's compatibility table
// to the clients and versions the test installs.
func TestTheREADMEListsEveryClientWithItsVersion(t *testing.T) {
	snippets, section, err := compat.Snippets(filepath.Join(testenv.Root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range compat.Clients() {
		if _, ok := snippets[c.Snippet]; !ok {
			t.Errorf("no code block %q for %s", c.Snippet, c.Label)
		}
		if !strings.Contains(section, "| "+c.Label+" | "+c.Version+" |") {
			t.Errorf("the compatibility table has no row %q", "| "+c.Label+" | "+c.Version+" |")
		}
	}
}

func retriedWith(headers []http.Header, name string) bool {
	for _, h := range headers {
		if h.Get(name) != "" {
			return true
		}
	}
	return false
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func serve(t *testing.T, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

func randomHex() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
