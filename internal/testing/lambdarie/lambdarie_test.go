package lambdarie

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFreeAddrPair: two distinct loopback addresses, neither of the
// emulator's defaults, both free to listen on.
func TestFreeAddrPair(t *testing.T) {
	for range 20 {
		a, b, err := FreeAddrPair()
		if err != nil {
			t.Fatal(err)
		}
		if a == b {
			t.Fatalf("the same address twice: %s", a)
		}
		for _, addr := range []string{a, b} {
			host, port, err := net.SplitHostPort(addr)
			if err != nil || host != "127.0.0.1" || port == "8080" || port == "9001" {
				t.Fatalf("address %q (%v): want a loopback port other than 8080 and 9001", addr, err)
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				t.Fatalf("%s is not free: %v", addr, err)
			}
			l.Close()
		}
	}
}

// TestWaitListening: a listener is found; an exited emulator and a
// cancelled context end the wait at once, each with its reason.
func TestWaitListening(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := WaitListening(context.Background(), l.Addr().String(), nil); err != nil {
		t.Fatalf("listening address: %v", err)
	}

	free, _, err := FreeAddrPair()
	if err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	close(exited)
	if err := WaitListening(context.Background(), free, exited); !errors.Is(err, errExited) {
		t.Fatalf("exited emulator: %v, want %v", err, errExited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := WaitListening(ctx, free, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v, want %v", err, context.Canceled)
	}
}

// TestWaitEmulator: the emulator is ready only once its runtime API listens
// too, not as soon as its invoke address does (the emulator opens the two in
// racing goroutines; an invoke sent in between forks a function whose first
// /next is refused). An emulator that exits, or never opens its runtime
// API, gets an error naming the address it was waited on.
func TestWaitEmulator(t *testing.T) {
	invoke, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer invoke.Close()
	_, runtimeAPI, err := FreeAddrPair()
	if err != nil {
		t.Fatal(err)
	}

	var listening atomic.Bool
	opened := make(chan net.Listener, 1)
	go func() {
		time.Sleep(200 * time.Millisecond) // the invoke address answers first
		l, err := net.Listen("tcp", runtimeAPI)
		if err != nil {
			t.Error(err)
			close(opened)
			return
		}
		listening.Store(true)
		opened <- l
	}()
	if err := WaitEmulator(context.Background(), invoke.Addr().String(), runtimeAPI, nil); err != nil {
		t.Fatal(err)
	}
	if !listening.Load() {
		t.Fatal("WaitEmulator returned before the runtime API listened")
	}
	if l, ok := <-opened; ok {
		l.Close()
	}

	exited := make(chan struct{})
	close(exited)
	err = WaitEmulator(context.Background(), invoke.Addr().String(), runtimeAPI, exited)
	if !errors.Is(err, errExited) || !strings.Contains(err.Error(), "runtime API") || !strings.Contains(err.Error(), runtimeAPI) {
		t.Fatalf("emulator exited with no runtime API: %v, want %v naming the runtime API address %s", err, errExited, runtimeAPI)
	}
}

// TestInvoke: the payload goes to the invoke path with the request id, and
// the answer comes back whole with its status and the time it took.
func TestInvoke(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.URL.Path != invokePath || r.Header.Get("X-Amzn-RequestId") != "req-1" {
			http.Error(w, r.Method+" "+r.URL.Path+" "+r.Header.Get("X-Amzn-RequestId"), http.StatusBadRequest)
			return
		}
		w.Write([]byte("echo " + string(body)))
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	a, err := Invoke(context.Background(), addr, "req-1", []byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != http.StatusOK || string(a.Body) != `echo {"x":1}` || a.Elapsed <= 0 {
		t.Fatalf("answer %d %q after %v", a.Status, a.Body, a.Elapsed)
	}
	if a, err := Invoke(context.Background(), addr, "", nil); err != nil || a.Status != http.StatusBadRequest {
		t.Fatalf("without a request id: %d %q, %v; want the server's 400", a.Status, a.Body, err)
	}
}
