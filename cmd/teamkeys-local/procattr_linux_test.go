package main

import (
	"os/exec"
	"syscall"
)

// stopWithTest has the kernel send SIGTERM to the child if the test binary
// dies first (a test timeout): the child then stops what it started.
func stopWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
