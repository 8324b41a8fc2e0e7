package obs

import (
	"testing"
	"time"
)

func TestProcessCPUCountsTheCPUThisProcessBurns(t *testing.T) {
	before := ProcessCPU()
	x, end := 0, time.Now().Add(100*time.Millisecond)
	for time.Now().Before(end) {
		x++
	}
	if used := ProcessCPU() - before; used < 50*time.Millisecond {
		t.Errorf("%v of CPU counted for 100 ms of spinning (%d turns), want at least 50 ms", used, x)
	}
}
