// Package motoserver starts moto's server, an emulator of AWS APIs (the
// tests use its Secrets Manager), on a free 127.0.0.1 port for a test, and
// stops it when the test ends. `make moto` installs the pinned moto into
// $TEAMKEYS_CACHE/venv-moto (else <module root>/.cache/venv-moto).
package motoserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/local/emulators"
)

// readyTimeout bounds the wait for the server to answer: generous, for a
// busy two-core machine importing moto's modules uncompiled.
const readyTimeout = 90 * time.Second

// Binary is the moto_server that `make moto` installs.
func Binary() (string, error) {
	cache, err := emulators.CacheDir("")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(cache, "venv-moto", "bin", "moto_server")
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("moto's server is not installed at %s: run `make moto` (or set TEAMKEYS_CACHE to a cache that has it): %w", bin, err)
	}
	return bin, nil
}

// Start starts moto's server for t and returns its endpoint
// (http://127.0.0.1:port). It fails the test when moto is not installed or
// does not answer in time; it never skips.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for range 3 { // another process may take the free port first
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		endpoint, err := start(t, bin, port)
		if err == nil {
			return endpoint
		}
		lastErr = err
	}
	t.Fatalf("start moto's server: %v", lastErr)
	return ""
}

func start(t testing.TB, bin string, port int) (string, error) {
	logPath := filepath.Join(t.TempDir(), "moto.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/moto-api/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Cleanup(stop)
			return endpoint, nil
		}
		select {
		case <-done:
			out, _ := os.ReadFile(logPath)
			return "", fmt.Errorf("moto_server on port %d exited before it answered: %s", port, out)
		case <-ctx.Done():
			stop()
			out, _ := os.ReadFile(logPath)
			return "", errors.Join(fmt.Errorf("moto_server did not answer on %s within %v", endpoint, readyTimeout), errors.New(string(out)))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
