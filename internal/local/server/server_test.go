package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/local/gateway"
)

func TestNewHTTPServerTimeouts(t *testing.T) {
	srv := NewHTTPServer(http.NotFoundHandler(), nil)
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout,
		"ReadTimeout":       srv.ReadTimeout,
		"WriteTimeout":      srv.WriteTimeout,
		"IdleTimeout":       srv.IdleTimeout,
	} {
		if d <= 0 {
			t.Errorf("%s = %v, want a timeout", name, d)
		}
	}
	if srv.ReadHeaderTimeout > 10*time.Second || srv.ReadHeaderTimeout > srv.ReadTimeout {
		t.Errorf("ReadHeaderTimeout = %v (ReadTimeout %v): want at most 10 s and at most ReadTimeout", srv.ReadHeaderTimeout, srv.ReadTimeout)
	}
	// The write deadline runs from the end of the headers through the body,
	// the function and the response: a function that runs out its 10 s must
	// still get its answer out after a body read at the limit.
	if least := srv.ReadTimeout + gateway.FunctionTimeout + time.Second; srv.WriteTimeout < least {
		t.Errorf("WriteTimeout = %v, want at least ReadTimeout + FunctionTimeout + 1 s = %v", srv.WriteTimeout, least)
	}
	if srv.MaxHeaderBytes <= 0 || srv.MaxHeaderBytes > 1<<20 {
		t.Errorf("MaxHeaderBytes = %d", srv.MaxHeaderBytes)
	}
}

// The timeouts, scaled down, do what they say on a real connection.
func TestHTTPServerTimeoutsApply(t *testing.T) {
	const fn = 400 * time.Millisecond // the "function timeout" here
	tt := Timeouts{ReadHeader: 200 * time.Millisecond, Read: 500 * time.Millisecond, Write: 500*time.Millisecond + fn + 500*time.Millisecond, Idle: 300 * time.Millisecond}
	mux := http.NewServeMux()
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(fn)
		io.WriteString(w, "done")
	})
	mux.HandleFunc("/body", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, "body: "+err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "read")
	})
	srv := newHTTPServer(mux, nil, tt)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	addr := l.Addr().String()

	// dial sends what, then reads until the server answers or closes.
	dial := func(t *testing.T, what string) (conn net.Conn, r *bufio.Reader) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(conn, what); err != nil {
			t.Fatal(err)
		}
		return conn, bufio.NewReader(conn)
	}
	// closedWithin checks the server ends the connection within d.
	closedWithin := func(t *testing.T, r *bufio.Reader, began time.Time, d time.Duration) {
		t.Helper()
		_, err := io.ReadAll(r)
		if elapsed := time.Since(began); err != nil || elapsed > d {
			t.Errorf("connection ended after %v (err %v), want closed by the server within %v", elapsed, err, d)
		}
	}

	t.Run("headers trickled", func(t *testing.T) {
		began := time.Now()
		_, r := dial(t, "GET /slow HTTP/1.1\r\nHost: x\r\n") // no blank line
		closedWithin(t, r, began, tt.ReadHeader+time.Second)
	})
	t.Run("body stalled", func(t *testing.T) {
		began := time.Now()
		_, r := dial(t, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
		resp, err := http.ReadResponse(r, nil)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("stalled body answered %d %s", resp.StatusCode, b)
			}
		}
		closedWithin(t, r, began, tt.Read+time.Second)
	})
	t.Run("slow function answered", func(t *testing.T) {
		_, r := dial(t, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("no answer from a function that takes %v: %v", fn, err)
		}
		if b, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || string(b) != "done" {
			t.Errorf("answer %d %q", resp.StatusCode, b)
		}
	})
	t.Run("idle connection closed", func(t *testing.T) {
		_, r := dial(t, "POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(resp.Body)
		began := time.Now()
		closedWithin(t, r, began, tt.Idle+tt.ReadHeader+time.Second)
	})
	t.Run("headers over MaxHeaderBytes", func(t *testing.T) {
		_, r := dial(t, "GET /slow HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", MaxHeaderBytes+4096)+"\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatal(err)
		}
		if err == nil && resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("oversized headers answered %d", resp.StatusCode)
		}
	})
}
