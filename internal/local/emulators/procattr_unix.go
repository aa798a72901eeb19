//go:build unix && !linux

package emulators

import (
	"os/exec"
	"syscall"
)

// setProcAttr puts the child in its own process group: a terminal's Ctrl-C
// reaches only us, and we stop the child.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func startCmd(cmd *exec.Cmd) error { return cmd.Start() }
