package chaos

import "syscall"

// childAttr makes a service die with the test process, so a test stopped by its
// timeout leaves no service running.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
