package chaos

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clicktrail/clicktrail/deploy/healthcheck"
)

// Binaries are the services' commands, built once per run.
type Binaries struct{ Collector, Processor, Archiver string }

// Build builds the three services with `go build` from the module at root into dir.
func Build(ctx context.Context, root, dir string) (Binaries, error) {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator),
		"./collector/cmd/collector", "./processor/cmd/processor", "./archiver/cmd/archiver")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return Binaries{}, fmt.Errorf("go build the services: %w\n%s", err, out)
	}
	return Binaries{
		Collector: filepath.Join(dir, "collector"),
		Processor: filepath.Join(dir, "processor"),
		Archiver:  filepath.Join(dir, "archiver"),
	}, nil
}

// Service is one service running as a child process. Every start uses the same
// command line, so a restarted service listens on the same address.
type Service struct {
	Name string
	// Addr serves its /readyz and /metrics (and, for the collector, the API).
	Addr   string
	bin    string
	args   []string
	env    []string
	logDir string

	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{}
	starts     int
	killed     bool
	unexpected []string // exits nobody asked for
}

// NewService describes a service; Start runs it.
func NewService(name, bin, addr, logDir string, env []string, args ...string) *Service {
	return &Service{Name: name, Addr: addr, bin: bin, args: args, env: env, logDir: logDir}
}

// Start starts the process; its output goes to <logDir>/<name>-<n>.log.
func (s *Service) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("%s: already running", s.Name)
	}
	s.starts++
	logf, err := os.Create(s.logPath(s.starts))
	if err != nil {
		return err
	}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Env = append(os.Environ(), s.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", s.Name, err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited, s.killed = cmd, exited, false
	go func() {
		err := cmd.Wait()
		logf.Close()
		s.mu.Lock()
		if !s.killed {
			s.unexpected = append(s.unexpected, fmt.Sprintf("%s (pid %d) exited by itself: %v", s.Name, cmd.Process.Pid, err))
		}
		if s.cmd == cmd {
			s.cmd = nil
		}
		s.mu.Unlock()
		close(exited)
	}()
	return nil
}

// Kill sends SIGKILL and waits for the process to be gone.
func (s *Service) Kill() error { return s.signal(syscall.SIGKILL, 10*time.Second) }

// Stop sends SIGTERM, and SIGKILL after grace.
func (s *Service) Stop(grace time.Duration) error {
	if err := s.signal(syscall.SIGTERM, grace); err == nil {
		return nil
	}
	return s.Kill()
}

func (s *Service) signal(sig syscall.Signal, wait time.Duration) error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	if cmd == nil {
		s.mu.Unlock()
		return nil
	}
	s.killed = true
	s.mu.Unlock()
	if err := cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s: %w", s.Name, err)
	}
	select {
	case <-exited:
		return nil
	case <-time.After(wait):
		return fmt.Errorf("%s (pid %d) still runs %s after %s", s.Name, cmd.Process.Pid, wait, sig)
	}
}

// Pid is the running process's id, 0 when it does not run (the hostile suite reads
// its memory from /proc/<pid>/status).
func (s *Service) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Unexpected lists the exits nobody asked for.
func (s *Service) Unexpected() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unexpected...)
}

// probeClient asks the services' health endpoints, as the images' health check does.
var probeClient = healthcheck.NewClient()

// Ready reports whether /readyz answers 200.
func (s *Service) Ready() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return healthcheck.Probe(ctx, probeClient, "http://"+s.Addr+"/readyz") == nil
}

// WaitReady polls /readyz until it answers 200.
func (s *Service) WaitReady(ctx context.Context) error {
	for !s.Ready() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w\n%s", s.Name, s.Addr, ctx.Err(), s.LogTail(20))
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// Metric sums the samples of a metric (all label sets whose line starts with prefix,
// e.g. `clicktrail_archiver_files_total` or `clicktrail_processor_events_total{tenant="t",outcome="duplicate"`).
func (s *Service) Metric(prefix string) (float64, error) {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get("http://" + s.Addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		rest := line[len(prefix):]
		if rest != "" && rest[0] != ' ' && rest[0] != '{' && rest[0] != ',' && rest[0] != '}' {
			continue // a longer metric name
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
}

func (s *Service) logPath(n int) string {
	return filepath.Join(s.logDir, fmt.Sprintf("%s-%d.log", s.Name, n))
}

// LogTail returns the last lines of the current (or last) run's log.
func (s *Service) LogTail(lines int) string {
	s.mu.Lock()
	n := s.starts
	s.mu.Unlock()
	b, err := os.ReadFile(s.logPath(n))
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return fmt.Sprintf("--- %s, last lines of %s:\n%s", s.Name, s.logPath(n), strings.Join(all, "\n"))
}
