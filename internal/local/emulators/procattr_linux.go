package emulators

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// setProcAttr puts the child in its own process group (a terminal's Ctrl-C
// reaches only us; we stop the child) and has the kernel kill it if we die
// without stopping it.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// Pdeathsig fires when the thread that forked the child exits, not the
// process, and Go may end a thread whose goroutine exits while locked to it.
// So every child is forked from one goroutine locked to its thread for the
// life of the process: that thread ends only with the process.
var (
	spawnOnce sync.Once
	spawnReq  chan spawnCall
)

type spawnCall struct {
	cmd *exec.Cmd
	err chan error
}

func startCmd(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReq = make(chan spawnCall)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread lives as long as the process
			for c := range spawnReq {
				c.err <- c.cmd.Start()
			}
		}()
	})
	c := spawnCall{cmd: cmd, err: make(chan error, 1)}
	spawnReq <- c
	return <-c.err
}
