package obs

import (
	"os"
	"runtime"
	"testing"
)

func TestProcStatusReadsThisProcessMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc/<pid>/status is Linux's")
	}
	rss, peak := ProcStatusKiB(os.Getpid(), "VmRSS"), ProcStatusKiB(os.Getpid(), "VmHWM")
	if rss <= 0 || peak < rss {
		t.Errorf("VmRSS %d kB, VmHWM %d kB: want a resident size and a peak at least as large", rss, peak)
	}
	if n := ProcStatusKiB(os.Getpid(), "NoSuchField"); n != 0 {
		t.Errorf("a missing field reads %d, want 0", n)
	}
}
