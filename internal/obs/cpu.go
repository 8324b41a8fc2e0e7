package obs

import (
	"syscall"
	"time"
)

// ProcessCPU is the CPU time (user and system) this process has used so far: what
// benchmarks and the load generator report per event, unmoved by other work on a
// shared machine. Zero if the kernel does not tell.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
