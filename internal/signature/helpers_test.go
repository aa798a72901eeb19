package signature

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// A key of the service's shape: TKAK + 20 base32 characters, and 43
// base64url characters of secret.
const (
	testID     = "TKAKABCDEFGHIJKLMNOPQRST"
	testSecret = "qVTvUEOln9UspgfheGfeeSjhiIC-4Gc0jI8tIKZYqe8"
	// otherSecret is another key's secret.
	otherSecret = "Yx6Jt0bU4m3Hq9L2cV8pWn1sRk5ZaDfEgTiOuPyB7Mw"
)

var testNow = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func testConfig() Config {
	return Config{Region: DefaultRegion, Service: Service, MaxSkew: DefaultMaxSkew, Now: func() time.Time { return testNow }}
}

// capture is an HTTP server that hands each request it receives back to the
// test as the verifier sees it (FromHTTP, with the body read).
type capture struct {
	srv *httptest.Server
	got chan Request
}

func newCapture(t *testing.T) *capture {
	t.Helper()
	c := &capture{got: make(chan Request, 1)}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.got <- FromHTTP(r, body).clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// send sends r and returns the request the server received.
func (c *capture) send(t *testing.T, r *http.Request) Request {
	t.Helper()
	resp, err := c.srv.Client().Do(r)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("send: server answered %s", resp.Status)
	}
	return <-c.got
}

func (r Request) clone() Request {
	r.Header = r.Header.Clone()
	r.Body = bytes.Clone(r.Body)
	return r
}

// verify parses and verifies req as the service does.
func verify(cfg Config, req Request, secret string) (*Parsed, error) {
	p, err := Parse(req)
	if err != nil {
		return nil, err
	}
	return p, cfg.Verify(req, p, secret)
}

var sentinels = []error{accesskey.ErrMissingSignature, errMalformed, accesskey.ErrRequestExpired, accesskey.ErrInvalidSignature}

// checkErr fails unless err is want (nil, or one sentinel and no other). A
// malformed header is reported as an invalid signature: errMalformed must
// come with accesskey.ErrInvalidSignature, and with nothing else.
func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	if want == errMalformed && !errors.Is(err, accesskey.ErrInvalidSignature) {
		t.Fatalf("%v is malformed but not %v", err, accesskey.ErrInvalidSignature)
	}
	for _, s := range sentinels {
		if want == errMalformed && s == accesskey.ErrInvalidSignature {
			continue
		}
		if s != want && errors.Is(err, s) {
			t.Fatalf("%v wraps both %v and %v", err, want, s)
		}
	}
}
