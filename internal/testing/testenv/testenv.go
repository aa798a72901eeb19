// Package testenv starts the local AWS emulators once for a test binary
// (its TestMain) and stops them when the tests end or are interrupted.
package testenv

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/teamkeys/teamkeys/internal/local/emulators"
)

var (
	currentMu sync.Mutex
	current   *emulators.Env
)

// Current returns the Env that Main started for this test binary, or
// nil outside Main. Fault tests use it to stop and restart DynamoDB Local.
func Current() *emulators.Env {
	currentMu.Lock()
	defer currentMu.Unlock()
	return current
}

// Main is the body of a TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
// It starts the emulators (when both endpoints are set in the environment it
// starts nothing, but still checks that they answer and that the KMS alias
// exists), exports their endpoints, runs the tests and stops the emulators.
// When the environment can't be started it prints why and returns 1: tests
// never skip silently. SIGINT/SIGTERM stop the emulators and exit with 130/143.
func Main(m interface{ Run() int }) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	started := make(chan *emulators.Env, 1)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		cancel()
		select {
		case e := <-started:
			if e != nil {
				_ = e.Stop()
			}
		case <-time.After(10 * time.Second):
		}
		code := 130
		if sig == syscall.SIGTERM {
			code = 143
		}
		fmt.Fprintf(os.Stderr, "testenv: %v: emulators stopped\n", sig)
		os.Exit(code)
	}()

	env, err := emulators.Start(ctx, emulators.Options{})
	if err != nil {
		started <- nil
		fmt.Fprintf(os.Stderr, "testenv: cannot start the local AWS emulators (run `make tools`, or set AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS): %v\n", err)
		return 1
	}
	started <- env
	defer func() {
		if err := env.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "testenv: stop: %v\n", err)
		}
	}()
	env.Export()
	currentMu.Lock()
	current = env
	currentMu.Unlock()
	return m.Run()
}
