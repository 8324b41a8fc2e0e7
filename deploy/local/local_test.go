package local

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// run runs a deploy/local script with env added to a copy of this process's
// environment, and returns its combined output and whether it succeeded.
func run(t *testing.T, env []string, script string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("./"+script, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
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

// isolated returns settings that keep a script away from the real instances: its own
// run folder and ports nothing uses.
func isolated(t *testing.T) []string {
	t.Helper()
	return []string{
		"CLICKTRAIL_RUN_DIR=" + t.TempDir(),
		"CLICKTRAIL_PULSAR_PORT=" + strconv.Itoa(freePort(t)),
		"CLICKTRAIL_PULSAR_ADMIN_PORT=" + strconv.Itoa(freePort(t)),
		"CLICKTRAIL_PULSAR_BOOKIE_PORT=" + strconv.Itoa(freePort(t)),
		"CLICKTRAIL_MINIO_PORT=" + strconv.Itoa(freePort(t)),
		"CLICKTRAIL_MINIO_CONSOLE_PORT=" + strconv.Itoa(freePort(t)),
	}
}

// processesMentioning counts live processes whose command line contains s.
func processesMentioning(t *testing.T, s string) int {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", "-c", s).Output()
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func TestScriptsStopWithOneLineNamingTheCause(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := strconv.Itoa(busy.Addr().(*net.TCPAddr).Port)

	noMaven := t.TempDir()
	for _, tool := range []string{"bash", "env", "dirname", "basename", "mkdir", "flock", "rm", "tee", "awk", "grep", "find", "wc", "mv", "touch", "cat", "sleep"} {
		path, err := exec.LookPath(tool)
		if err != nil {
			t.Fatalf("test needs %s: %v", tool, err)
		}
		if err := os.Symlink(path, filepath.Join(noMaven, tool)); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		script string
		args   []string
		env    []string
		want   string
	}{
		{"the broker's port is taken", "pulsar.sh", []string{"start"}, []string{"CLICKTRAIL_PULSAR_PORT=" + busyPort}, "port " + busyPort + " on 127.0.0.1 is already in use"},
		{"the broker's admin port is taken", "pulsar.sh", []string{"start"}, []string{"CLICKTRAIL_PULSAR_ADMIN_PORT=" + busyPort}, "port " + busyPort + " on 127.0.0.1 is already in use"},
		{"MinIO's port is taken", "minio.sh", []string{"start"}, []string{"CLICKTRAIL_MINIO_PORT=" + busyPort}, "port " + busyPort + " on 127.0.0.1 is already in use"},
		{"no Java where CLICKTRAIL_JAVA_HOME points", "pulsar.sh", []string{"start"}, []string{"CLICKTRAIL_JAVA_HOME=/nonexistent"}, "no Java 17 or 21 found at CLICKTRAIL_JAVA_HOME=/nonexistent"},
		{"no Maven to fetch the broker with", "pulsar.sh", []string{"fetch"}, []string{"PATH=" + noMaven, "CLICKTRAIL_CACHE=" + t.TempDir()}, "Maven (mvn) is not installed"},
		{"the MinIO download fails", "minio.sh", []string{"fetch"}, []string{"CLICKTRAIL_CACHE=" + t.TempDir(), "GOMODCACHE=" + t.TempDir(), "GOPROXY=off", "GOFLAGS=-modcacherw"}, "building MinIO failed"},
		{"an unknown command", "pulsar.sh", []string{"launch"}, nil, "usage:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := append(isolated(t), tc.env...)
			out, ok := run(t, env, tc.script, tc.args...)
			if ok {
				t.Fatalf("%s %v succeeded; output:\n%s", tc.script, tc.args, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

// TestABrokerThatIsNotReadyInTimeIsStopped starts a real broker (from the jars `make
// test` fetched) with a one-second limit: the script must stop it and say so.
func TestABrokerThatIsNotReadyInTimeIsStopped(t *testing.T) {
	env := isolated(t)
	runDir := strings.TrimPrefix(env[0], "CLICKTRAIL_RUN_DIR=")
	out, ok := run(t, append(env, "CLICKTRAIL_START_TIMEOUT=1"), "pulsar.sh", "start")
	if ok {
		t.Fatalf("start succeeded within 1s; output:\n%s", out)
	}
	if !strings.Contains(out, "did not become ready within 1s and was stopped") {
		t.Fatalf("output lacks the time-out message:\n%s", out)
	}
	if n := processesMentioning(t, runDir); n != 0 {
		t.Fatalf("%d processes of the stopped broker are still running", n)
	}
}

// TestStartingTheRunningBrokerAgainStartsNoSecondOne needs the broker `make test` runs.
func TestStartingTheRunningBrokerAgainStartsNoSecondOne(t *testing.T) {
	before := processesMentioning(t, "PulsarStandaloneStarter")
	if before == 0 {
		t.Fatal("no broker is running: run the tests with `make test`, which starts one")
	}
	out, ok := run(t, nil, "pulsar.sh", "start")
	if !ok || !strings.Contains(out, "already running") {
		t.Fatalf("second start: ok=%v output:\n%s", ok, out)
	}
	if after := processesMentioning(t, "PulsarStandaloneStarter"); after != before {
		t.Fatalf("brokers running: %d before, %d after a second start", before, after)
	}
}
