package hostile

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RSS is a process's resident memory in KiB (VmRSS of /proc/<pid>/status), 0 when it
// cannot be read (the process is gone).
func RSS(pid int) int64 {
	if pid == 0 {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

// Peaks keeps the highest resident memory seen of each watched process.
type Peaks struct {
	mu    sync.Mutex
	peaks map[string]int64
}

// WatchPeaks samples the processes pids names (name → pid, read again at each sample:
// a restarted service has a new pid) every interval until ctx ends.
func WatchPeaks(ctx context.Context, interval time.Duration, pids func() map[string]int) *Peaks {
	p := &Peaks{peaks: map[string]int64{}}
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			p.sample(pids())
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

func (p *Peaks) sample(pids map[string]int) {
	for name, pid := range pids {
		kb := RSS(pid)
		p.mu.Lock()
		p.peaks[name] = max(p.peaks[name], kb)
		p.mu.Unlock()
	}
}

// PeakMiB is the highest resident memory seen of the named process, in MiB.
func (p *Peaks) PeakMiB(name string) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return float64(p.peaks[name]) / 1024
}
