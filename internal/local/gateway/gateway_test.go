package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/local/gateway"
)

type refuseAll struct{}

func (refuseAll) Verify(string) (map[string]string, error) {
	return nil, fmt.Errorf("%w: test", accesskey.ErrUnauthenticated)
}

// newGateway serves POST /v1/whoami (no JWT, like the real route) and
// POST /v1/jwt (JWT, refused) with a function that counts its calls and
// answers 200 with the length of the body it got.
func newGateway(t *testing.T) (url string, calls *atomic.Int64, gotLen *atomic.Int64) {
	t.Helper()
	calls, gotLen = &atomic.Int64{}, &atomic.Int64{}
	fn := func(_ context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		calls.Add(1)
		gotLen.Store(int64(len(ev.Body)))
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{}`}, nil
	}
	routes := []httpapi.Route{
		{Method: "POST", Path: "/v1/whoami", Function: "F", Operation: "whoami", Auth: httpapi.AuthSignature},
		{Method: "POST", Path: "/v1/jwt", Function: "F", Operation: "jwt", Auth: httpapi.AuthJWT},
	}
	g, err := gateway.New(routes, map[string]httpapi.LambdaHandlerFunc{"F": fn}, refuseAll{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return srv.URL, calls, gotLen
}

// rawRequest sends head (request line and headers, without the blank line)
// and then body, and reads the response, all within 5 s.
func rawRequest(t *testing.T, url, head, body string) (*http.Response, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, head+"\r\n\r\n"+body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response within 5 s (the gateway is waiting for the body?): %v", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the response body: %v", err)
	}
	return resp, b
}

func errorCode(t *testing.T, b []byte) string {
	t.Helper()
	var e httpapi.ErrorBody
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("body %q is not the error shape: %v", b, err)
	}
	return e.Error.Code
}

// A body declared over the limit is refused at once, before any of it is
// read or sent, on a route without a JWT too; the connection is closed.
func TestDeclaredOversizedBodyRefusedUnread(t *testing.T) {
	url, calls, _ := newGateway(t)
	for _, path := range []string{"/v1/whoami", "/v1/jwt"} {
		t.Run(path, func(t *testing.T) {
			head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\nContent-Length: %d", path, gateway.MaxPayloadBytes+1)
			// Only the headers are sent: the gateway must answer without
			// waiting for the body.
			resp, b := rawRequest(t, url, head, "")
			if resp.StatusCode != http.StatusRequestEntityTooLarge || errorCode(t, b) != "PayloadTooLarge" {
				t.Fatalf("answer = %d %s; want 413 PayloadTooLarge", resp.StatusCode, b)
			}
			if !resp.Close {
				t.Error("connection kept open after refusing an unread body")
			}
		})
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("function invoked %d times", n)
	}
}

// A body of unknown length is read up to the limit and no further.
func TestChunkedBodyCapped(t *testing.T) {
	url, calls, gotLen := newGateway(t)
	post := func(n int) (*http.Response, []byte) {
		req, err := http.NewRequest("POST", url+"/v1/whoami", strings.NewReader(strings.Repeat("a", n)))
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1 // unknown: sent chunked
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	if resp, b := post(gateway.MaxPayloadBytes + 1); resp.StatusCode != http.StatusRequestEntityTooLarge || errorCode(t, b) != "PayloadTooLarge" {
		t.Errorf("chunked body of limit+1: %d %s; want 413 PayloadTooLarge", resp.StatusCode, b)
	}
	if n := calls.Load(); n != 0 {
		t.Errorf("function invoked %d times for an oversized body", n)
	}
	if resp, b := post(gateway.MaxPayloadBytes); resp.StatusCode != 200 || gotLen.Load() != gateway.MaxPayloadBytes {
		t.Errorf("chunked body of the limit: %d %s, function got %d bytes; want 200 and all of it", resp.StatusCode, b, gotLen.Load())
	}
}

// A body declared within the limit is passed on whole.
func TestDeclaredBodyWithinLimit(t *testing.T) {
	url, calls, gotLen := newGateway(t)
	body := strings.Repeat("a", 100)
	resp, b := rawRequest(t, url, fmt.Sprintf("POST /v1/whoami HTTP/1.1\r\nHost: local\r\nContent-Type: application/json\r\nContent-Length: %d", len(body)), body)
	if resp.StatusCode != 200 || calls.Load() != 1 || gotLen.Load() != int64(len(body)) {
		t.Errorf("answer %d %s, calls %d, body %d bytes", resp.StatusCode, b, calls.Load(), gotLen.Load())
	}
}
