package emulators

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a child gets after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// proc is a child process with its output in a log file.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{} // closed once the process has exited and been reaped
	waitErr error         // valid after done
}

// launch starts cmd with stdout and stderr going to logPath.
func launch(name string, cmd *exec.Cmd, logPath string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("localenv: %s log: %w", name, err)
	}
	defer f.Close() // the child has its own descriptor
	cmd.Stdin = nil
	cmd.Stdout = f
	cmd.Stderr = f
	setProcAttr(cmd)
	if err := startCmd(cmd); err != nil {
		return nil, fmt.Errorf("localenv: start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM, waits up to stopGrace, then SIGKILLs. A nil or
// already exited proc is a no-op.
func (p *proc) stop() error {
	if p == nil || p.exited() {
		return nil
	}
	// os.Process signals by pidfd where available, and never a reaped pid.
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		_ = p.cmd.Process.Kill() // SIGTERM unsupported (Windows)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
	}
	if err := p.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("localenv: kill %s (pid %d): %w", p.name, p.pid(), err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
		return fmt.Errorf("localenv: %s (pid %d) did not exit after SIGKILL", p.name, p.pid())
	}
}

// tail returns the last n lines of the process output.
func (p *proc) tail(n int) string {
	return tailFile(p.logPath, n)
}

func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(no output: %v)", err)
	}
	defer f.Close()
	const maxBytes = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > maxBytes {
		_, _ = f.Seek(st.Size()-maxBytes, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	b = bytes.TrimRight(b, "\n")
	if len(b) == 0 {
		return "(no output)"
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localenv: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// errProcExited says the process died before it answered.
var errProcExited = errors.New("exited before it answered")

// waitReady polls check until it succeeds, up to readyTimeout or ctx. When p
// is not nil (a process we started) it fails as soon as p exits, and its
// errors carry the last lines of p's output.
func waitReady(ctx context.Context, name, endpoint string, p *proc, check func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	var done <-chan struct{}
	if p != nil {
		done = p.done
	}
	var last error
	for delay := 50 * time.Millisecond; ; delay = min(delay*2, 500*time.Millisecond) {
		actx, acancel := context.WithTimeout(ctx, 3*time.Second)
		last = check(actx)
		acancel()
		if last == nil {
			if p != nil && p.exited() { // someone else answered on our port
				return p.failure(fmt.Errorf("%w (%v)", errProcExited, p.waitErr))
			}
			return nil
		}
		select {
		case <-done:
			return p.failure(fmt.Errorf("%w (%v)", errProcExited, p.waitErr))
		case <-ctx.Done():
			err := fmt.Errorf("%s at %s did not answer within %v: %w", name, endpoint, readyTimeout, last)
			if p != nil {
				return p.failure(err)
			}
			return fmt.Errorf("localenv: %w", err)
		case <-time.After(delay):
		}
	}
}

func (p *proc) failure(err error) error {
	return fmt.Errorf("localenv: %s (pid %d): %w\n--- last lines of %s ---\n%s", p.name, p.pid(), err, p.logPath, p.tail(20))
}
