// Package lambdarie runs Lambda function binaries under the AWS Lambda
// Runtime Interface Emulator (aws-lambda-rie, installed by `make tools`), for
// the tests that hold the real binaries to the contract and for the
// cold-start benchmark.
//
// The emulator serves one invocation at a time on an invoke address, and
// talks to the runtime on a runtime API address: each instance gets its own
// pair of free loopback ports, never the emulator's defaults. An instance is
// stopped by the pid it was started with, and so is the runtime process it
// forked.
//
// FreeAddrPair, WaitEmulator and Invoke serve any program (the cold-start
// benchmark times Invoke's exchange); Root, Binary, BuildAll, Start and the
// methods of Function are for tests, and fail the test they are given.
package lambdarie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// invokePath is the emulator's invoke endpoint.
const invokePath = "/2015-03-31/functions/function/invocations"

// invokeTimeout bounds one invocation, the function's init included.
const invokeTimeout = 30 * time.Second

// FreeAddrPair returns two distinct free loopback addresses, never the
// emulator's defaults (8080, 9001): the invoke address and the runtime
// API's.
func FreeAddrPair() (invoke, runtimeAPI string, err error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for len(ls) < 2 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", "", fmt.Errorf("find a free port: %w", err)
		}
		if p := l.Addr().(*net.TCPAddr).Port; p == 8080 || p == 9001 {
			defer l.Close() // keep it out of the next pick
			continue
		}
		ls = append(ls, l)
	}
	return ls[0].Addr().String(), ls[1].Addr().String(), nil
}

// errExited is WaitListening's error when the emulator ends first.
var errExited = errors.New("aws-lambda-rie exited before it listened")

// listenLimit bounds each wait for one of the emulator's listeners: far
// more than it takes on a loaded machine (milliseconds), so that only an
// emulator that is stuck fails it.
const listenLimit = 30 * time.Second

// WaitEmulator waits until the emulator started with these two addresses
// listens on both: the invoke address and the runtime API's. The emulator
// opens its runtime API in a goroutine of its own (rapid.Start, then
// startRuntimeAPI), racing the invoke listener: an invoke sent as soon as
// the invoke address answers forks the function, whose first /next can
// then be refused ("connect: connection refused"). Waiting for both closes
// that race; the function is not started before the first invoke, so the
// wait is not part of its measured init. It gives up at once when exited
// is closed (the emulator ended) or ctx is done, and after 30 s a listener.
func WaitEmulator(ctx context.Context, invoke, runtimeAPI string, exited <-chan struct{}) error {
	if err := waitListening(ctx, invoke, "its invoke address", exited); err != nil {
		return err
	}
	return waitListening(ctx, runtimeAPI, "its runtime API address (the function's /next)", exited)
}

// WaitListening waits until something accepts connections on addr, for at
// most 30 s, polling every 5 ms. It gives up at once when exited is closed
// (the emulator ended) or ctx is done. An emulator is ready when
// WaitEmulator says so, not when one of its addresses listens.
func WaitListening(ctx context.Context, addr string, exited <-chan struct{}) error {
	return waitListening(ctx, addr, "an address", exited)
}

func waitListening(ctx context.Context, addr, what string, exited <-chan struct{}) error {
	deadline := time.Now().Add(listenLimit)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%w on %s, %s", errExited, what, addr)
		case <-ctx.Done():
			return fmt.Errorf("waiting for aws-lambda-rie to listen on %s, %s: %w", what, addr, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("aws-lambda-rie not listening on %s, %s, after %v: %v", what, addr, listenLimit, err)
		}
	}
}

// Answer is the emulator's answer to one invocation.
type Answer struct {
	Status int    // the emulator's HTTP status; 200 when the function ran
	Body   []byte // the function's result, or its error
	// Elapsed is the client-side time of the exchange, from sending the
	// request to reading the whole answer: on a cold emulator, the init,
	// the invocation and the emulator's overhead.
	Elapsed time.Duration
}

// Invoke sends payload as one invocation to the emulator listening on addr,
// under requestID as its Lambda request id (the emulator makes one up if it
// is empty). It waits at most 30 s.
func Invoke(ctx context.Context, addr, requestID string, payload []byte) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, invokeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+invokePath, bytes.NewReader(payload))
	if err != nil {
		return Answer{}, err
	}
	if requestID != "" {
		req.Header.Set("X-Amzn-RequestId", requestID)
	}
	t0 := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Answer{}, fmt.Errorf("invoke: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(t0)
	if err != nil {
		return Answer{}, fmt.Errorf("invoke: read response: %w", err)
	}
	return Answer{Status: resp.StatusCode, Body: body, Elapsed: elapsed}, nil
}
