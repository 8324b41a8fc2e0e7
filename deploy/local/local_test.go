package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The tests run the scripts as a user would, each with a throwaway cache and run
// folder and ports nothing uses, so they never touch the real instances on the
// default ports. Where a broker must run, a fake one stands in for Java (see
// TestFakeBroker), and where the S3 server must run, a fake versitygw (see
// TestFakeS3Server): each starts in milliseconds and answers the readiness checks.

// sandbox is one test's isolated setting of the scripts.
type sandbox struct {
	dir string   // everything the scripts write goes below it
	env []string // CLICKTRAIL_* settings pointing into dir and at free ports
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	dir := t.TempDir()
	s := &sandbox{dir: dir, env: []string{
		"CLICKTRAIL_CACHE=" + filepath.Join(dir, "cache"),
		"CLICKTRAIL_RUN_DIR=" + filepath.Join(dir, "run"),
		"CLICKTRAIL_PULSAR_PORT=" + strconv.Itoa(freePort(t)),
		"CLICKTRAIL_PULSAR_ADMIN_PORT=" + strconv.Itoa(freePort(t)),
		"CLICKTRAIL_S3_PORT=" + strconv.Itoa(freePort(t)),
		"CLICKTRAIL_S3_CONSOLE_PORT=" + strconv.Itoa(freePort(t)),
		"CLICKTRAIL_CLUSTER_ZK_PORT=" + strconv.Itoa(freePort(t)),
		"CLICKTRAIL_CLUSTER_BOOKIE_PORTS=" + freePorts(t, 3),
		"CLICKTRAIL_CLUSTER_BOOKIE_HTTP_PORTS=" + freePorts(t, 3),
		"CLICKTRAIL_CLUSTER_BROKER_PORTS=" + freePorts(t, 2),
		"CLICKTRAIL_CLUSTER_ADMIN_PORTS=" + freePorts(t, 2),
	}}
	// Whatever a failed test leaves behind is stopped: only processes whose command
	// line names this test's own folder, so never anybody else's.
	t.Cleanup(func() {
		for _, pid := range processesMentioning(t, dir) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return s
}

// run runs a script of this folder with the sandbox's settings and extra ones, and
// returns its combined output and exit code.
func (s *sandbox) run(t *testing.T, extra []string, script string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command("./"+script, args...)
	cmd.Env = append(append(environWithout("CLICKTRAIL_"), s.env...), extra...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		t.Fatalf("run %s: %v", script, err)
		return "", -1
	}
}

// setting returns the value of one of the sandbox's variables.
func (s *sandbox) setting(name string) string {
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// fakeJava installs a JDK whose java is this test binary acting as a broker in mode
// ("ready", "hang" or "exit"), and a Pulsar cache that looks complete, so that
// pulsar.sh start runs it instead of fetching and starting the real broker.
func (s *sandbox) fakeJava(t *testing.T, mode string) []string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(s.dir, "jdk")
	java := fmt.Sprintf(`#!/bin/sh
if [ "$1" = -version ]; then echo 'openjdk version "17.0.99" 2099-01-01' >&2; exit 0; fi
exec env CLICKTRAIL_FAKE_BROKER=%s %q -test.run='^TestFakeBroker$' -- "$@"
`, mode, self)
	writeFile(t, filepath.Join(home, "bin", "java"), java, 0o755)
	writeFile(t, filepath.Join(s.setting("CLICKTRAIL_CACHE"), "pulsar", pulsarVersion(t), "lib", ".complete"), "class_major=61\n", 0o644)
	return []string{"CLICKTRAIL_JAVA_HOME=" + home}
}

// TestFakeBroker is not a test: run as java by fakeJava, it serves the admin answers
// pulsar.sh waits for on the ports of the generated config, until SIGTERM.
func TestFakeBroker(t *testing.T) {
	mode := os.Getenv("CLICKTRAIL_FAKE_BROKER")
	if mode == "" {
		t.Skip("only run as a fake broker by the other tests")
	}
	if mode == "exit" {
		fmt.Fprintln(os.Stderr, "fake broker: giving up at once")
		os.Exit(3)
	}
	conf := ""
	for i, a := range os.Args {
		if a == "--config" && i+1 < len(os.Args) {
			conf = os.Args[i+1]
		}
	}
	data, err := os.ReadFile(conf)
	if err != nil {
		t.Fatalf("read the config: %v", err)
	}
	port := func(key string) string {
		m := regexp.MustCompile(`(?m)^` + key + `=(\d+)$`).FindSubmatch(data)
		if m == nil {
			t.Fatalf("no %s in %s", key, conf)
		}
		return string(m[1])
	}
	binary, err := net.Listen("tcp", "127.0.0.1:"+port("brokerServicePort"))
	if err != nil {
		t.Fatal(err)
	}
	defer binary.Close()
	admin := http.NewServeMux()
	answer := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			if mode != "ready" {
				http.Error(w, "starting", http.StatusServiceUnavailable)
				return
			}
			fmt.Fprint(w, body)
		}
	}
	admin.HandleFunc("/admin/v2/brokers/health", answer("ok"))
	admin.HandleFunc("/admin/v2/clusters", answer(`["standalone"]`))
	admin.HandleFunc("/admin/v2/namespaces/public", answer(`["public/default"]`))
	srv := &http.Server{Addr: "127.0.0.1:" + port("webServicePort"), Handler: admin}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
}

// fakeVersitygw installs, as the built versitygw of the sandbox's cache, this test
// binary acting as an S3 server in mode ("ready" or "exit"), so that s3.sh start runs
// it instead of building and starting the real one.
func (s *sandbox) fakeVersitygw(t *testing.T, mode string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(s.setting("CLICKTRAIL_CACHE"), "bin")
	server := fmt.Sprintf(`#!/bin/sh
exec env CLICKTRAIL_FAKE_S3=%s %q -test.run='^TestFakeS3Server$' -- "$@"
`, mode, self)
	writeFile(t, filepath.Join(bin, "versitygw"), server, 0o755)
	writeFile(t, filepath.Join(bin, ".versitygw-"+scriptVersion(t, "s3.sh")), "", 0o644)
}

// TestFakeS3Server is not a test: run as versitygw by fakeVersitygw, it answers the
// health path s3.sh gives it on the --port address, until SIGTERM.
func TestFakeS3Server(t *testing.T) {
	mode := os.Getenv("CLICKTRAIL_FAKE_S3")
	if mode == "" {
		t.Skip("only run as a fake S3 server by the other tests")
	}
	if mode == "exit" {
		fmt.Fprintln(os.Stderr, "fake versitygw: giving up at once")
		os.Exit(3)
	}
	var addr, health string
	for i, a := range os.Args[:len(os.Args)-1] {
		switch a {
		case "--port":
			addr = os.Args[i+1]
		case "--health":
			health = os.Args[i+1]
		}
	}
	if addr == "" || health == "" {
		t.Fatalf("no --port or --health in %q", os.Args)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+health, func(http.ResponseWriter, *http.Request) {})
	srv := &http.Server{Addr: addr, Handler: mux}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		t.Fatal(err)
	}
}

func TestAStartThatCannotWorkStopsWithOneLineNamingTheCause(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)
	noMaven := pathWithout(t, "mvn")
	noGo := pathWithout(t, "go")

	tests := []struct {
		name   string
		script string
		args   []string
		env    []string
		want   string
	}{
		{"the broker's port is taken", "pulsar.sh", []string{"start"},
			[]string{"CLICKTRAIL_PULSAR_PORT=" + busyPort}, "port " + busyPort + " on 127.0.0.1 is already in use"},
		{"the broker's admin port is taken", "pulsar.sh", []string{"start"},
			[]string{"CLICKTRAIL_PULSAR_ADMIN_PORT=" + busyPort}, "port " + busyPort + " on 127.0.0.1 is already in use"},
		{"the S3 server's port is taken", "s3.sh", []string{"start"},
			[]string{"CLICKTRAIL_S3_PORT=" + busyPort}, "port " + busyPort + " on 127.0.0.1 is already in use"},
		{"MinIO, the second S3 server, finds its console port taken", "s3.sh", []string{"start"},
			[]string{"CLICKTRAIL_S3_SERVER=minio", "CLICKTRAIL_S3_CONSOLE_PORT=" + busyPort}, "port " + busyPort + " on 127.0.0.1 is already in use"},
		{"the S3 server named is not one the scripts know", "s3.sh", []string{"start"},
			[]string{"CLICKTRAIL_S3_SERVER=seaweedfs"}, "unknown CLICKTRAIL_S3_SERVER=seaweedfs"},
		{"there is no Java where CLICKTRAIL_JAVA_HOME points", "pulsar.sh", []string{"start"},
			[]string{"CLICKTRAIL_JAVA_HOME=/nonexistent"}, "no Java at CLICKTRAIL_JAVA_HOME=/nonexistent"},
		{"the broker must be fetched and there is no Maven", "pulsar.sh", []string{"fetch"},
			[]string{"PATH=" + noMaven}, "mvn is not installed"},
		{"the broker must be fetched for a start and there is no Maven", "pulsar.sh", []string{"start"},
			[]string{"PATH=" + noMaven}, "mvn is not installed"},
		{"the S3 server must be built and there is no Go", "s3.sh", []string{"start"},
			[]string{"PATH=" + noGo}, "go is not installed"},
		{"the command is unknown", "pulsar.sh", []string{"launch"}, nil, "usage:"},
		{"a port of the cluster is taken", "cluster.sh", []string{"start"},
			[]string{"CLICKTRAIL_CLUSTER_ZK_PORT=" + busyPort}, "port " + busyPort + " on 127.0.0.1 is already in use"},
		{"the second broker of the cluster finds its admin port taken", "cluster.sh", []string{"start"},
			[]string{"CLICKTRAIL_CLUSTER_ADMIN_PORTS=" + freePorts(t, 1) + " " + busyPort}, "port " + busyPort + " on 127.0.0.1 is already in use"},
		{"one node of a cluster never started", "cluster.sh", []string{"start", "broker-1"}, nil, "the cluster was never started"},
		{"a node the cluster does not have", "cluster.sh", []string{"stop", "broker-3"}, nil, "unknown node 'broker-3'"},
		{"a kill without a node", "cluster.sh", []string{"kill"}, nil, "kill needs a node"},
		{"the cluster's command is unknown", "cluster.sh", []string{"launch"}, nil, "usage:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			out, code := s.run(t, tc.env, tc.script, tc.args...)
			if code == 0 {
				t.Fatalf("%s %v succeeded; output:\n%s", tc.script, tc.args, out)
			}
			last := lastLine(out)
			if !strings.Contains(last, tc.want) {
				t.Fatalf("last line %q lacks %q; output:\n%s", last, tc.want, out)
			}
			if tc.want != "usage:" && !strings.Contains(last, ": ") {
				t.Fatalf("last line %q does not say what to do after the cause", last)
			}
			if pids := processesMentioning(t, s.dir); len(pids) > 0 {
				t.Fatalf("processes %v are left running", pids)
			}
		})
	}
}

func TestTwoStartsAtOnceStartOneBrokerAndStopStopsIt(t *testing.T) {
	s := newSandbox(t)
	java := s.fakeJava(t, "ready")

	var wg sync.WaitGroup
	outs := make([]string, 2)
	codes := make([]int, 2)
	for i := range outs {
		wg.Go(func() { outs[i], codes[i] = s.run(t, java, "pulsar.sh", "start") })
	}
	wg.Wait()
	for i := range outs {
		if codes[i] != 0 {
			t.Fatalf("start %d failed (%d):\n%s", i, codes[i], outs[i])
		}
	}
	if n := strings.Count(outs[0]+outs[1], "already running"); n != 1 {
		t.Fatalf("want exactly one start to find the broker already running, got %d:\n%s\n---\n%s", n, outs[0], outs[1])
	}
	if pids := processesMentioning(t, s.dir); len(pids) != 1 {
		t.Fatalf("want one broker, running: %v", pids)
	}

	out, code := s.run(t, java, "pulsar.sh", "start")
	if code != 0 || !strings.Contains(out, "already running") {
		t.Fatalf("third start (%d):\n%s", code, out)
	}
	if out, code := s.run(t, java, "pulsar.sh", "status"); code != 0 {
		t.Fatalf("status of the running broker (%d):\n%s", code, out)
	}

	s.stopsAndStaysStopped(t, java, "pulsar.sh", "broker")
}

func TestTheS3ServerStartsOnceAnswersAndStops(t *testing.T) {
	s := newSandbox(t)
	s.fakeVersitygw(t, "ready")
	if out, code := s.run(t, nil, "s3.sh", "ready"); code == 0 {
		t.Fatalf("ready before any start:\n%s", out)
	}
	if out, code := s.run(t, nil, "s3.sh", "start"); code != 0 {
		t.Fatalf("start (%d):\n%s", code, out)
	}
	if out, code := s.run(t, nil, "s3.sh", "start"); code != 0 || !strings.Contains(out, "already running") {
		t.Fatalf("second start (%d):\n%s", code, out)
	}
	if pids := processesMentioning(t, s.dir); len(pids) != 1 {
		t.Fatalf("want one S3 server, running: %v", pids)
	}
	for _, verb := range []string{"status", "ready"} {
		if out, code := s.run(t, nil, "s3.sh", verb); code != 0 {
			t.Fatalf("%s of the running server (%d):\n%s", verb, code, out)
		}
	}
	// The same run folder on another port is the same server: it is named, not doubled.
	other := "CLICKTRAIL_S3_PORT=" + strconv.Itoa(freePort(t))
	if out, code := s.run(t, []string{other}, "s3.sh", "start"); code == 0 || !strings.Contains(lastLine(out), "already runs") {
		t.Fatalf("a start on another port (%d):\n%s", code, out)
	}
	if out, code := s.run(t, []string{other}, "s3.sh", "status"); code == 0 || !strings.Contains(out, "on another port") {
		t.Fatalf("the status on another port (%d):\n%s", code, out)
	}
	s.stopsAndStaysStopped(t, nil, "s3.sh", "server")
}

func TestAnS3ServerThatExitsAtStartIsNamedWithItsLog(t *testing.T) {
	s := newSandbox(t)
	s.fakeVersitygw(t, "exit")
	out, code := s.run(t, nil, "s3.sh", "start")
	if code == 0 {
		t.Fatalf("start succeeded:\n%s", out)
	}
	last := lastLine(out)
	if !strings.Contains(last, "versitygw exited") || !strings.Contains(last, "versitygw.log") {
		t.Fatalf("last line %q does not name the exit and the log; output:\n%s", last, out)
	}
	if pids := processesMentioning(t, s.dir); len(pids) > 0 {
		t.Fatalf("processes %v are left running", pids)
	}
}

func TestABrokerThatDoesNotBecomeReadyIsStoppedAndNamed(t *testing.T) {
	tests := []struct {
		name string
		mode string
		want string
	}{
		{"it never answers ready", "hang", "pulsar was not ready within 2s and was stopped: see "},
		{"it exits during start-up", "exit", "into its start-up: see "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t)
			env := append(s.fakeJava(t, tc.mode), "CLICKTRAIL_START_TIMEOUT=2")
			out, code := s.run(t, env, "pulsar.sh", "start")
			if code == 0 {
				t.Fatalf("start succeeded:\n%s", out)
			}
			last := lastLine(out)
			if !strings.Contains(last, tc.want) || !strings.Contains(last, "pulsar.log") {
				t.Fatalf("last line %q lacks %q and the log's path; output:\n%s", last, tc.want, out)
			}
			if pids := processesMentioning(t, s.dir); len(pids) > 0 {
				t.Fatalf("processes %v are left running", pids)
			}
		})
	}
}

func TestWithServicesRunsTheCommandAndStopsOnlyWhatItStarted(t *testing.T) {
	s := newSandbox(t)
	java := s.fakeJava(t, "ready")
	// An S3 server answers already (a stand-in on its port): with-services must leave
	// it be.
	s3 := &http.Server{Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	l, err := net.Listen("tcp", "127.0.0.1:"+s.setting("CLICKTRAIL_S3_PORT"))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s3.Serve(l) }()
	defer s3.Close()

	marker := filepath.Join(s.dir, "ran")
	out, code := s.run(t, java, "with-services.sh", "sh", "-c", `touch "$0"; exit 7`, marker)
	if code != 7 {
		t.Fatalf("exit code %d, want the command's 7; output:\n%s", code, out)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the command did not run: %v\n%s", err, out)
	}
	if pids := processesMentioning(t, s.dir); len(pids) > 0 {
		t.Fatalf("the broker it started is still running: %v\n%s", pids, out)
	}
	if strings.Contains(out, "s3: ") || strings.Contains(out, "versitygw") {
		t.Fatalf("with-services touched the S3 server that already answered:\n%s", out)
	}
}

// stopsAndStaysStopped stops the service of script, checks that no process of the
// sandbox is left, that status then fails, and that a second stop says the service
// (named by noun) is not running.
func (s *sandbox) stopsAndStaysStopped(t *testing.T, extra []string, script, noun string) {
	t.Helper()
	if out, code := s.run(t, extra, script, "stop"); code != 0 {
		t.Fatalf("stop (%d):\n%s", code, out)
	}
	if pids := processesMentioning(t, s.dir); len(pids) > 0 {
		t.Fatalf("processes %v are left after stop", pids)
	}
	if out, code := s.run(t, extra, script, "status"); code == 0 {
		t.Fatalf("status succeeds after stop:\n%s", out)
	}
	if out, _ := s.run(t, extra, script, "stop"); !strings.Contains(out, "not running") {
		t.Fatalf("a second stop does not say the %s is not running:\n%s", noun, out)
	}
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freePorts returns n free ports, separated by spaces (cluster.sh's lists).
func freePorts(t *testing.T, n int) string {
	t.Helper()
	ports := make([]string, n)
	for i := range ports {
		ports[i] = strconv.Itoa(freePort(t))
	}
	return strings.Join(ports, " ")
}

// processesMentioning returns the live processes whose command line contains s.
func processesMentioning(t *testing.T, s string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(s)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// pathWithout returns a PATH of one folder linking every program of this PATH but
// the one named.
func pathWithout(t *testing.T, name string) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if e.Name() == name || e.IsDir() {
				continue
			}
			// The first folder of PATH wins, as in the shell.
			_ = os.Symlink(filepath.Join(d, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	return dir
}

// environWithout returns this process's environment minus the variables with prefix,
// so a developer's own CLICKTRAIL_* settings cannot leak into a sandbox.
func environWithout(prefix string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, prefix) {
			env = append(env, kv)
		}
	}
	return env
}

// pulsarVersion reads the pinned broker version from pulsar-lib.sh.
func pulsarVersion(t *testing.T) string { return scriptVersion(t, "pulsar-lib.sh") }

// scriptVersion reads the pinned version (VERSION=) from one of the scripts.
func scriptVersion(t *testing.T, script string) string {
	t.Helper()
	data, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VERSION=(\S+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatalf("no VERSION= in %s", script)
	}
	return string(m[1])
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	return lines[len(lines)-1]
}
