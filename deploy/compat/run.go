package compat

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Outcome is what a runner said of one client: ok, or the error (with the page's last
// console lines for a browser client).
type Outcome struct {
	Client string   `json:"client"`
	OK     bool     `json:"ok"`
	Error  string   `json:"error"`
	Logs   []string `json:"logs"`
}

// BrowserClient is one browser client for RunBrowser.
type BrowserClient struct {
	Client Client
	URL    string
	Run    string
}

// RunBrowser drives the browser clients in Chromium (chromium is its path) with
// playwright-core from in.NodeDir, on the pages of site, coming from referrer; it
// waits up to timeout per client for the collector to accept every event.
func RunBrowser(ctx context.Context, in Installed, chromium, site, referrer string, clients []BrowserClient, timeout time.Duration) ([]Outcome, error) {
	type cfgClient struct {
		Name         string `json:"name"`
		URL          string `json:"url"`
		AnonymousID  string `json:"anonymousId"`
		Calls        []Call `json:"calls"`
		LeaveToFlush bool   `json:"leaveToFlush"`
	}
	cfg := struct {
		Chromium          string      `json:"chromium"`
		Site              string      `json:"site"`
		Referrer          string      `json:"referrer"`
		DeliveryTimeoutMs int64       `json:"deliveryTimeoutMs"`
		CallTimeoutMs     int64       `json:"callTimeoutMs"`
		Clients           []cfgClient `json:"clients"`
	}{Chromium: chromium, Site: site, Referrer: referrer, DeliveryTimeoutMs: timeout.Milliseconds(), CallTimeoutMs: 10_000}
	for _, bc := range clients {
		cfg.Clients = append(cfg.Clients, cfgClient{Name: bc.Client.Name, URL: bc.URL, AnonymousID: AnonymousID(bc.Run, bc.Client.Name),
			Calls: Scenario(bc.Client, bc.Run), LeaveToFlush: bc.Client.LeaveToFlush})
	}
	script, err := writeRunner(in.NodeDir, "compat-browser.mjs", "runners/browser.mjs", nil)
	if err != nil {
		return nil, err
	}
	// Bounded whatever the browser does: per client, the delivery wait and two minutes
	// for the page and the calls.
	ctx, cancel := context.WithTimeout(ctx, time.Duration(len(clients))*(timeout+2*time.Minute))
	defer cancel()
	return runJSON(ctx, in.NodeDir, cfg, "node", script)
}

// RunServer runs a server client with the README's snippet (filled in): Python ones
// with in.Python, Node ones with node from in.NodeDir; it stops it after 3 minutes.
func RunServer(ctx context.Context, in Installed, c Client, snippet, run string) ([]Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	v := SnippetVar(snippet)
	if v == "" {
		return nil, fmt.Errorf("the README's snippet %q sets up nothing the test can name", c.Snippet)
	}
	cfg := map[string]any{"client": c.Name, "snippet": snippet, "var": v, "calls": Scenario(c, run)}
	if strings.Contains(c.Snippet, "python") {
		script, err := writeRunner(in.NodeDir, "compat-python.py", "runners/python_client.py", nil)
		if err != nil {
			return nil, err
		}
		return runJSON(ctx, in.NodeDir, cfg, in.Python, script)
	}
	script, err := writeRunner(in.NodeDir, "compat-"+c.Name+".mjs", "runners/node_client.mjs.tmpl", func(tmpl string) string {
		return snippet + "\n" + strings.ReplaceAll(tmpl, "{{VAR}}", v)
	})
	if err != nil {
		return nil, err
	}
	return runJSON(ctx, in.NodeDir, cfg, "node", script)
}

// writeRunner writes the embedded runner asset into dir (where node resolves the
// installed packages from), changed by edit when it is not nil.
func writeRunner(dir, name, asset string, edit func(string) string) (string, error) {
	b, err := runners.ReadFile(asset)
	if err != nil {
		return "", err
	}
	text := string(b)
	if edit != nil {
		text = edit(text)
	}
	path := filepath.Join(dir, name)
	return path, os.WriteFile(path, []byte(text), 0o644)
}

// runJSON writes cfg to a file, runs the command with it as the last argument, and
// reads one JSON outcome per line of its output. An exit without outcomes is an error
// with the output.
func runJSON(ctx context.Context, dir string, cfg any, name string, args ...string) ([]Outcome, error) {
	f, err := os.CreateTemp(dir, "compat-config-*.json")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if err := json.NewEncoder(f).Encode(cfg); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, name, append(args, f.Name())...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out []Outcome
	for _, line := range strings.Split(stdout.String(), "\n") {
		var o Outcome
		if strings.HasPrefix(strings.TrimSpace(line), "{") && json.Unmarshal([]byte(line), &o) == nil && o.Client != "" {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s %s: %v, no outcome\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), runErr, tail(stdout.String()), tail(stderr.String()))
	}
	return out, nil
}

func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return strings.Join(lines, "\n")
}
