// Package faults kills the local AWS emulators under the running API and
// checks that the service degrades as promised (503 with Retry-After, never a
// hang, never a 500) and that the table's invariants survive (dynamostore.Check).
//
// It has its own TestMain, unlike package e2e, because it owns its emulators:
// a DynamoDB Local persisting to a temporary -dbPath, so that the data
// survives a stop and restart, and a local-kms the last test stops for good.
// The tests run in source order: TestKMSDown must stay last.
package faults

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/local/emulators"
)

// env is this test binary's emulators.
var env *emulators.Env

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	// This package kills and restarts the emulators: never let it run on
	// endpoints it didn't start.
	for _, v := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KMS"} {
		if os.Getenv(v) != "" {
			fmt.Fprintf(os.Stderr, "faults: %s is set; these tests stop and restart the emulators and need their own: unset it\n", v)
			return 1
		}
	}
	dbPath, err := os.MkdirTemp("", "teamkeys-faults-db-*")
	if err != nil {
		fmt.Fprintln(os.Stderr, "faults:", err)
		return 1
	}
	defer os.RemoveAll(dbPath)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	began := time.Now()
	env, err = emulators.Start(ctx, emulators.Options{DBPath: dbPath})
	if err != nil {
		fmt.Fprintf(os.Stderr, "faults: cannot start the local AWS emulators (run `make tools`): %v\n", err)
		return 1
	}
	go func() {
		if _, ok := <-sigs; ok {
			_ = env.Stop()
			os.RemoveAll(dbPath)
			os.Exit(130)
		}
	}()
	fmt.Fprintf(os.Stderr, "faults: emulators ready in %v\n", time.Since(began).Round(time.Millisecond))
	defer func() {
		began := time.Now()
		if err := env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "faults: stop:", err)
		}
		fmt.Fprintf(os.Stderr, "faults: emulators stopped in %v\n", time.Since(began).Round(time.Millisecond))
	}()
	env.Export()
	return m.Run()
}
