package hostile

import (
	"context"
	"sync"
	"time"

	"github.com/clicktrail/clicktrail/internal/obs"
)

// RSS is a process's resident memory in KiB (VmRSS of /proc/<pid>/status), 0 when it
// cannot be read (the process is gone).
func RSS(pid int) int64 { return obs.ProcStatusKiB(pid, "VmRSS") }

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
