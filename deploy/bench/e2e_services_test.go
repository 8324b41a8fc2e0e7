//go:build linux

package bench_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clicktrail/clicktrail/internal/obs"
)

// service is one of the pipeline's services running as a child process, so that its
// CPU time and resident memory can be read from /proc.
type service struct {
	name, addr, logPath string
	cmd                 *exec.Cmd
	exited              chan struct{}
}

// startService starts bin with args, its output in logDir/<name>.log, and stops it
// (SIGTERM, then SIGKILL) when b ends. It dies with the benchmark process (a timeout
// that kills it leaves nothing running).
func startService(b *testing.B, name, bin, addr, logDir string, args ...string) *service {
	b.Helper()
	s := &service{name: name, addr: addr, logPath: filepath.Join(logDir, name+".log"), exited: make(chan struct{})}
	logf, err := os.Create(s.logPath)
	if err != nil {
		b.Fatal(err)
	}
	s.cmd = exec.Command(bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		b.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	b.Cleanup(func() {
		if err := s.stop(60 * time.Second); err != nil {
			b.Error(err)
		}
	})
	return s
}

// stop sends SIGTERM and waits for the exit, or SIGKILLs after grace.
func (s *service) stop(grace time.Duration) error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop %s: %w", s.name, err)
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(grace):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("%s did not stop within %s of SIGTERM: killed", s.name, grace)
	}
}

// waitReady polls /readyz until it answers 200.
func (s *service) waitReady(ctx context.Context) error {
	c := http.Client{Timeout: 2 * time.Second}
	for {
		if resp, err := c.Get("http://" + s.addr + "/readyz"); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.exited:
			return fmt.Errorf("%s exited before it was ready:\n%s", s.name, s.logTail(20))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w\n%s", s.name, s.addr, ctx.Err(), s.logTail(20))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// cpu is the CPU time (user and system) the process has used so far; 0 once it is gone.
// /proc/PID/stat counts in clock ticks, 100 a second on Linux.
func (s *service) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: fields count from its closing ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// peakRSSKiB is the process's peak resident memory so far (VmHWM).
func (s *service) peakRSSKiB() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	_, rest, ok := strings.Cut(string(b), "VmHWM:")
	if !ok {
		return 0
	}
	v, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
	return v
}

// logTail is the last lines of the service's output.
func (s *service) logTail(lines int) string {
	b, _ := os.ReadFile(s.logPath)
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return fmt.Sprintf("--- last lines of %s:\n%s", s.logPath, strings.Join(all, "\n"))
}

// usage is where the machine's CPU time had gone at one moment: each service's, this
// process's (the load and the watchers) and the whole machine's (the broker, the S3
// server and whatever else runs on it included).
type usage struct {
	at            time.Time
	services      map[string]time.Duration
	harness, busy time.Duration
}

func takeUsage(services ...*service) usage {
	u := usage{at: time.Now(), services: map[string]time.Duration{}}
	for _, s := range services {
		u.services[s.name] = s.cpu()
	}
	u.harness = obs.ProcessCPU()
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		// cpu  user nice system idle iowait irq softirq steal ...: all but idle and iowait.
		line, _, _ := strings.Cut(string(b), "\n")
		for i, f := range strings.Fields(line) {
			if v, err := strconv.ParseInt(f, 10, 64); err == nil && i != 4 && i != 5 && i <= 8 {
				u.busy += time.Duration(v) * 10 * time.Millisecond
			}
		}
	}
	return u
}

// cores is the CPU used from u to v, in cores (2 is all of a 2-core machine): each
// service's, "harness" (this process) and "machine".
func (u usage) cores(v usage) map[string]float64 {
	secs := v.at.Sub(u.at).Seconds()
	out := map[string]float64{"harness": (v.harness - u.harness).Seconds() / secs, "machine": (v.busy - u.busy).Seconds() / secs}
	for name, c := range v.services {
		out[name] = (c - u.services[name]).Seconds() / secs
	}
	return out
}
