package redistest

import "syscall"

// procAttr kills redis-server when the test process dies (even by SIGKILL or a test
// timeout), so no server outlives its test.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
