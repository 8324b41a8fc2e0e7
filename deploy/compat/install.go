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
)

// The official clients, pinned: the README's compatibility table names the same
// versions (TestTheREADMEListsEveryClientWithItsVersion holds them together).
const (
	AnalyticsNextVersion   = "1.84.3" // @segment/analytics-next, analytics.js
	RudderJSVersion        = "3.34.1" // @rudderstack/analytics-js
	AnalyticsNodeVersion   = "3.1.0"  // @segment/analytics-node
	RudderNodeVersion      = "3.1.1"  // @rudderstack/rudder-sdk-node
	SegmentPythonVersion   = "2.4.0"  // segment-analytics-python
	RudderPythonVersion    = "2.1.9"  // rudder-sdk-python
	playwrightCoreVersion  = "1.65.1" // drives Chromium, as sdk-js's browser test does
	installedMarkerVersion = "1"      // bump to reinstall everything
)

// npmPackages are the npm clients and the browser driver, by name.
func npmPackages() map[string]string {
	return map[string]string{
		"@segment/analytics-next":      AnalyticsNextVersion,
		"@rudderstack/analytics-js":    RudderJSVersion,
		"@segment/analytics-node":      AnalyticsNodeVersion,
		"@rudderstack/rudder-sdk-node": RudderNodeVersion,
		"playwright-core":              playwrightCoreVersion,
	}
}

// pipPackages are the Python clients, by distribution name.
func pipPackages() map[string]string {
	return map[string]string{
		"segment-analytics-python": SegmentPythonVersion,
		"rudder-sdk-python":        RudderPythonVersion,
	}
}

// Installed is where the clients are: an npm project folder (its node_modules holds
// the JavaScript clients and playwright-core) and a Python with the Python clients.
type Installed struct {
	NodeDir string
	Python  string
}

// Install puts the pinned clients into dir (the repository's .cache/compat) from the
// package registries, with npm and pip, on first use; later calls only check the
// installed versions. Every failure names the command and its output: the test fails
// with it, it never skips.
func Install(ctx context.Context, dir string) (Installed, error) {
	in := Installed{NodeDir: filepath.Join(dir, "npm"), Python: filepath.Join(dir, "venv", "bin", "python")}
	if err := installNPM(ctx, in.NodeDir); err != nil {
		return Installed{}, err
	}
	if err := installPip(ctx, filepath.Join(dir, "venv")); err != nil {
		return Installed{}, err
	}
	return in, nil
}

func installNPM(ctx context.Context, dir string) error {
	want := npmPackages()
	if npmInstalled(dir, want) {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pkg := map[string]any{"name": "clicktrail-compat-clients", "private": true, "version": installedMarkerVersion, "dependencies": want}
	b, _ := json.MarshalIndent(pkg, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "package.json"), b, 0o644); err != nil {
		return err
	}
	return run(ctx, dir, "npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--save-exact")
}

// npmInstalled reports whether every package is installed in dir at its version.
func npmInstalled(dir string, want map[string]string) bool {
	for name, version := range want {
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", filepath.FromSlash(name), "package.json"))
		if err != nil {
			return false
		}
		var p struct {
			Version string `json:"version"`
		}
		if json.Unmarshal(b, &p) != nil || p.Version != version {
			return false
		}
	}
	return true
}

func installPip(ctx context.Context, venv string) error {
	python := filepath.Join(venv, "bin", "python")
	want := pipPackages()
	if pipInstalled(ctx, python, want) {
		return nil
	}
	if _, err := os.Stat(python); err != nil {
		if err := run(ctx, "", "python3", "-m", "venv", venv); err != nil {
			return fmt.Errorf("%w (install the python3-venv package)", err)
		}
	}
	args := []string{"-m", "pip", "install", "-q", "--disable-pip-version-check"}
	for name, version := range want {
		args = append(args, name+"=="+version)
	}
	return run(ctx, "", python, args...)
}

// pipInstalled reports whether python has every distribution at its version.
func pipInstalled(ctx context.Context, python string, want map[string]string) bool {
	script := "import importlib.metadata as m, sys\nsys.exit(any(m.version(n) != v for n, v in (a.split('==') for a in sys.argv[1:])))"
	args := []string{"-c", script}
	for name, version := range want {
		args = append(args, name+"=="+version)
	}
	return exec.CommandContext(ctx, python, args...).Run() == nil
}

// run runs a command in dir and returns its output in the error when it fails.
func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return nil
}
