package authorizer_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/authorizer"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

const (
	keyID     = "TKAKABCDEFGHIJKLMNOPQRST"
	keySecret = "qVTvUEOln9UspgfheGfeeSjhiIC-4Gc0jI8tIKZYqe8"
	domain    = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
)

var now = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// fakeVerifier answers with res and err, or panics, and keeps the request
// it was given.
type fakeVerifier struct {
	res      verifier.Result
	err      error
	panics   bool
	got      signature.Request
	sourceIP string
	calls    int
}

func (f *fakeVerifier) Verify(_ context.Context, req signature.Request, sourceIP string) (verifier.Result, error) {
	f.calls++
	f.got, f.sourceIP = req, sourceIP
	if f.panics {
		panic("verifier exploded")
	}
	return f.res, f.err
}

func quietLog(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, nil))
}

func sampleEvent() events.APIGatewayV2CustomAuthorizerV2Request {
	return events.APIGatewayV2CustomAuthorizerV2Request{
		Version:  "2.0",
		Type:     "REQUEST",
		RouteKey: "GET /orders",
		RawPath:  "/orders",
		Headers:  map[string]string{"host": domain, "authorization": "AWS4-HMAC-SHA256 …"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: domain,
			RequestID:  "req-1",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/orders", SourceIP: "203.0.113.10"},
		},
	}
}

// emptyHash is the SHA-256 of the empty body.
const emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestHandler(t *testing.T) {
	key := accesskey.Key{AccessKeyID: keyID, TeamID: "t1", MemberID: "alice", Status: accesskey.StatusActive}
	tests := []struct {
		name    string
		v       *fakeVerifier
		allowed bool
		context map[string]any
		wantErr error
	}{
		{"allowed", &fakeVerifier{res: verifier.Result{Key: key, Scheme: signature.SchemeSigV4,
			SignedHeaders: []string{"host", "x-amz-content-sha256", "x-amz-date"}, PayloadHash: emptyHash}}, true,
			map[string]any{"accessKeyId": keyID, "teamId": "t1", "memberId": "alice", "scheme": signature.SchemeSigV4,
				"payloadHash": emptyHash, "signedHeaders": "host;x-amz-content-sha256;x-amz-date", "scopes": "*", "sourceIp": "203.0.113.10"}, nil},
		{"invalid signature", &fakeVerifier{err: fmt.Errorf("%w: x", accesskey.ErrInvalidSignature)}, false, nil, nil},
		{"missing signature", &fakeVerifier{err: fmt.Errorf("%w: x", accesskey.ErrMissingSignature)}, false, nil, nil},
		{"unknown key", &fakeVerifier{err: fmt.Errorf("%w: x", accesskey.ErrUnknownKey)}, false, nil, nil},
		{"disabled", &fakeVerifier{err: fmt.Errorf("%w: x", accesskey.ErrKeyDisabled)}, false, nil, nil},
		{"expired", &fakeVerifier{err: fmt.Errorf("%w: x", accesskey.ErrRequestExpired)}, false, nil, nil},
		{"some other error", &fakeVerifier{err: errors.New("key has no sealed secret")}, false, nil, nil},
		{"unavailable", &fakeVerifier{err: fmt.Errorf("kms: %w", accesskey.ErrUnavailable)}, false, nil, accesskey.ErrUnavailable},
		{"panic", &fakeVerifier{panics: true}, false, nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			resp, err := authorizer.Handler(tc.v, quietLog(&log))(context.Background(), sampleEvent())
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v (API Gateway answers 500)", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatalf("error %v: a refusal must be a response, not an error", err)
			}
			if resp.IsAuthorized != tc.allowed {
				t.Fatalf("isAuthorized %v, want %v", resp.IsAuthorized, tc.allowed)
			}
			if !reflect.DeepEqual(resp.Context, tc.context) {
				t.Fatalf("context %v, want %v", resp.Context, tc.context)
			}
			if tc.v.calls != 1 || tc.v.sourceIP != "203.0.113.10" || tc.v.got.Method != "GET" || tc.v.got.Path != "/orders" {
				t.Fatalf("verifier called %d times with %+v from %q", tc.v.calls, tc.v.got, tc.v.sourceIP)
			}
			if tc.name == "panic" && !strings.Contains(log.String(), "authorizer panicked") {
				t.Fatalf("the panic is not logged:\n%s", log.String())
			}
			if !strings.Contains(log.String(), `"requestId":"req-1"`) {
				t.Fatalf("the decision is not logged with the request id:\n%s", log.String())
			}
		})
	}
}

// TestRequestOf: the request is read from the event's own headers, and its
// body counts as empty only when it says so: a Content-Length of 0, or a
// GET, HEAD or OPTIONS with neither Content-Length nor Transfer-Encoding. A
// POST without a Content-Length may carry a body (HTTP/2 needs none), so
// its length is unknown and its body cannot be taken for empty.
func TestRequestOf(t *testing.T) {
	tests := []struct {
		name          string
		method        string
		headers       map[string]string
		host          string
		contentLength int64
	}{
		{"GET, no body headers", "GET", map[string]string{"host": "api.example.com"}, "api.example.com", 0},
		{"HEAD, no body headers", "HEAD", map[string]string{"host": "h"}, "h", 0},
		{"POST, no body headers", "POST", map[string]string{"host": "api.example.com"}, "api.example.com", -1},
		{"DELETE, no body headers", "DELETE", map[string]string{"host": "h"}, "h", -1},
		{"no host header: domainName", "GET", map[string]string{}, domain, 0},
		{"content-length", "POST", map[string]string{"host": "h", "content-length": "17"}, "h", 17},
		{"content-length 0", "POST", map[string]string{"host": "h", "content-length": "0"}, "h", 0},
		{"bad content-length", "POST", map[string]string{"host": "h", "content-length": "x"}, "h", -1},
		{"negative content-length", "POST", map[string]string{"host": "h", "content-length": "-3"}, "h", -1},
		{"transfer-encoding", "GET", map[string]string{"host": "h", "transfer-encoding": "chunked"}, "h", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := sampleEvent()
			ev.RawPath = "/a%20b/c"
			ev.RawQueryString = "x=1&y=a%2Bb"
			ev.RequestContext.HTTP.Method = tc.method
			ev.Headers = map[string]string{"x-amz-date": "20260314T150926Z", "authorization": "AWS4-HMAC-SHA256 x"}
			for k, v := range tc.headers {
				ev.Headers[k] = v
			}
			req := authorizer.RequestOf(ev)
			if req.Method != tc.method || req.Path != "/a%20b/c" || req.RawQuery != "x=1&y=a%2Bb" || req.Host != tc.host {
				t.Fatalf("request %s %s ? %s host %q", req.Method, req.Path, req.RawQuery, req.Host)
			}
			if req.ContentLength != tc.contentLength {
				t.Fatalf("ContentLength %d, want %d", req.ContentLength, tc.contentLength)
			}
			if req.BodyKnown || req.Body != nil {
				t.Fatal("an authorizer's request has no known body")
			}
			// Canonical keys, and Host only in Request.Host.
			if req.Header.Get("X-Amz-Date") != "20260314T150926Z" || req.Header.Get("Authorization") != "AWS4-HMAC-SHA256 x" {
				t.Fatalf("headers %v", req.Header)
			}
			if _, ok := req.Header["X-Amz-Date"]; !ok {
				t.Fatalf("header keys are not canonical: %v", req.Header)
			}
			if _, ok := req.Header["Host"]; ok {
				t.Fatalf("Host left in the header map: %v", req.Header)
			}
		})
	}
}

// ---------------------------------------------------------------- in-process end to end

type oneKey struct{ key accesskey.Key }

func (k oneKey) Get(_ context.Context, id string) (accesskey.Key, []byte, error) {
	if id != k.key.AccessKeyID {
		return accesskey.Key{}, nil, accesskey.ErrNotFound
	}
	return k.key, []byte("sealed:" + keySecret), nil
}

type plainOpener struct{}

func (plainOpener) Open(_ context.Context, _ accesskey.Ref, c []byte) (string, error) {
	return strings.TrimPrefix(string(c), "sealed:"), nil
}

// eventOf turns a signed request into the authorizer event API Gateway
// would send for it: lower-case header names (several values joined with
// ","), the Host header as domainName, content-length as sent, rawPath and
// rawQueryString as sent. No body: an authorizer never gets one.
func eventOf(t *testing.T, r *http.Request) events.APIGatewayV2CustomAuthorizerV2Request {
	t.Helper()
	headers := map[string]string{"host": r.Host}
	for name, values := range r.Header {
		headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	if r.ContentLength > 0 {
		headers["content-length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	path := r.URL.EscapedPath()
	return events.APIGatewayV2CustomAuthorizerV2Request{
		Version:        "2.0",
		Type:           "REQUEST",
		RouteKey:       r.Method + " " + path,
		RawPath:        path,
		RawQueryString: r.URL.RawQuery,
		Headers:        headers,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: r.Host,
			RequestID:  "req-e2e",
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: path, SourceIP: "203.0.113.10"},
		},
	}
}

func TestSignedRequestEndToEnd(t *testing.T) {
	key := accesskey.Key{AccessKeyID: keyID, TeamID: "t1", MemberID: "alice", Status: accesskey.StatusActive}
	v := verifier.New(oneKey{key}, plainOpener{}, nil, verifier.Options{Now: func() time.Time { return now }})
	var log bytes.Buffer
	handler := authorizer.Handler(v, quietLog(&log))
	newRequest := func(method string) *http.Request {
		r, err := http.NewRequest(method, "https://"+domain+"/orders/a%20b?z=2&a=1&q=x%2By", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Accept", "application/json")
		return r
	}
	body := []byte(`{"order":42}`)
	tests := []struct {
		name    string
		request func() *http.Request
		allowed bool
	}{
		{"POST without a body, no x-amz-content-sha256, no Content-Length (as over HTTP/2)", func() *http.Request {
			r := newRequest(http.MethodPost)
			sdkSign(t, r, nil)
			return r
		}, false},
		{"GET signed by SignSigV4", func() *http.Request {
			r := newRequest(http.MethodGet)
			if err := signature.SignSigV4(r, nil, keyID, keySecret, "", now); err != nil {
				t.Fatal(err)
			}
			return r
		}, true},
		{"GET signed by the SDK without x-amz-content-sha256 (empty body hash)", func() *http.Request {
			r := newRequest(http.MethodGet)
			sdkSign(t, r, nil)
			return r
		}, true},
		{"POST with a body, x-amz-content-sha256 signed", func() *http.Request {
			r := newRequest(http.MethodPost)
			r.Header.Set("Content-Type", "application/json")
			if err := signature.SignSigV4(r, body, keyID, keySecret, "", now); err != nil {
				t.Fatal(err)
			}
			return r
		}, true},
		{"POST with a body, no x-amz-content-sha256", func() *http.Request {
			r := newRequest(http.MethodPost)
			r.Header.Set("Content-Type", "application/json")
			sdkSign(t, r, body)
			return r
		}, false},
		{"GET with the wrong secret", func() *http.Request {
			r := newRequest(http.MethodGet)
			if err := signature.SignSigV4(r, nil, keyID, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "", now); err != nil {
				t.Fatal(err)
			}
			return r
		}, false},
		{"GET unsigned", func() *http.Request { return newRequest(http.MethodGet) }, false},
		{"ZC2 (needs the body): refused", func() *http.Request {
			r := newRequest(http.MethodPost)
			if err := signature.SignZC2(r, body, keyID, keySecret, now); err != nil {
				t.Fatal(err)
			}
			return r
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signed := tc.request()
			ev := eventOf(t, signed)
			// Through JSON, as the runtime hands it to the handler.
			raw, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			ev = events.APIGatewayV2CustomAuthorizerV2Request{}
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			resp, err := handler(context.Background(), ev)
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if resp.IsAuthorized != tc.allowed {
				t.Fatalf("isAuthorized %v, want %v; log:\n%s", resp.IsAuthorized, tc.allowed, log.String())
			}
			if tc.allowed {
				payloadHash := emptyHash
				if signed.Method == http.MethodPost {
					payloadHash = hexSHA256(body)
				}
				_, signedHeaders, _ := strings.Cut(signed.Header.Get("Authorization"), "SignedHeaders=")
				signedHeaders, _, _ = strings.Cut(signedHeaders, ",")
				want := map[string]any{"accessKeyId": keyID, "teamId": "t1", "memberId": "alice", "scheme": signature.SchemeSigV4,
					"payloadHash": payloadHash, "signedHeaders": signedHeaders, "scopes": "*", "sourceIp": "203.0.113.10"}
				if !reflect.DeepEqual(resp.Context, want) {
					t.Fatalf("context %v, want %v", resp.Context, want)
				}
			} else if resp.Context != nil {
				t.Fatalf("a refusal with a context: %v", resp.Context)
			}
			// The signature covers the query: altering it refuses.
			if !tc.allowed {
				return
			}
			tampered := ev
			tampered.RawQueryString = "z=3&a=1&q=x%2By"
			if resp, err := handler(context.Background(), tampered); err != nil || resp.IsAuthorized {
				t.Fatalf("an altered query: %v %v", resp.IsAuthorized, err)
			}
		})
	}
	if strings.Contains(log.String(), keySecret) {
		t.Fatalf("the log shows the secret:\n%s", log.String())
	}
}

// sdkSign signs r with aws-sdk-go-v2's signer alone, as curl and plain SDK
// clients do: the body's hash is signed but no x-amz-content-sha256 header
// is sent.
func sdkSign(t *testing.T, r *http.Request, body []byte) {
	t.Helper()
	if len(body) > 0 {
		r.Body = http.NoBody
		r.ContentLength = int64(len(body))
	}
	h := sha256.Sum256(body)
	err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: keySecret},
		r, hex.EncodeToString(h[:]), signature.Service, signature.DefaultRegion, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("X-Amz-Content-Sha256") != "" {
		t.Fatal("the SDK signer sent x-amz-content-sha256")
	}
}
