package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/authorizer"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/testing/othersigners"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

const (
	signedKeyID  = "TKAKABCDEFGHIJKLMNOPQRST"
	signedSecret = "qVTvUEOln9UspgfheGfeeSjhiIC-4Gc0jI8tIKZYqe8"
)

type signedKeyStore struct{ key accesskey.Key }

func (k signedKeyStore) Get(_ context.Context, id string) (accesskey.Key, []byte, error) {
	if id != k.key.AccessKeyID {
		return accesskey.Key{}, nil, accesskey.ErrNotFound
	}
	return k.key, []byte("sealed:" + signedSecret), nil
}

type plainOpener struct{}

func (plainOpener) Open(_ context.Context, _ accesskey.Ref, c []byte) (string, error) {
	return strings.TrimPrefix(string(c), "sealed:"), nil
}

// apiGatewayHeaders are r's headers as an HTTP API event carries them:
// lower-case names, a repeated header's values joined with ",", the body's
// length as content-length.
func apiGatewayHeaders(r *http.Request, body []byte) map[string]string {
	headers := map[string]string{"host": r.URL.Host}
	for name, values := range r.Header {
		headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	return headers
}

// WhoAmI and the authorizer verify a request from the same reading of the
// event (signature.FromAPIGateway): a signed header whose value holds a
// comma and a space (axios's and browsers' default Accept) verifies in
// both, whichever signer made it; the HTTP adapter in front of WhoAmI
// splits such values and must not be what is verified.
func TestSignedHeadersWithCommasVerifyInWhoAmIAndTheAuthorizer(t *testing.T) {
	key := accesskey.Key{AccessKeyID: signedKeyID, TeamID: "t1", MemberID: "alice", Status: accesskey.StatusActive}
	v := verifier.New(signedKeyStore{key}, plainOpener{}, nil, verifier.Options{})
	log := slog.New(slog.DiscardHandler)
	invoke, err := httpapi.NewWhoAmI(httpapi.Common{Log: log}, v)
	if err != nil {
		t.Fatal(err)
	}
	authorize := authorizer.Handler(v, log)

	signers := map[string]func(r *http.Request, body []byte){
		"aws-sdk-go-v2": func(r *http.Request, body []byte) {
			if err := signature.SignSigV4(r, body, signedKeyID, signedSecret, "", time.Now()); err != nil {
				t.Fatal(err)
			}
		},
		"botocore": func(r *http.Request, body []byte) {
			othersigners.Botocore(t, r, body, signedKeyID, signedSecret, "us-east-1")
		},
	}
	headerCases := map[string]map[string]string{
		"Accept with commas and spaces":  {"Accept": "application/json, text/plain, */*"},
		"a custom header with ', '":      {"X-Tags": "a, b,c ,  d"},
		"a value with surrounding space": {"X-Note": "  spaced  out  "},
		"a value with a tab inside":      {"X-Note": "a\tb"},
	}
	for signerName, sign := range signers {
		for caseName, extra := range headerCases {
			t.Run(signerName+"/"+caseName, func(t *testing.T) {
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					var body []byte
					if method == http.MethodPost {
						body = []byte(`{"hello":"world"}`)
					}
					r, err := http.NewRequest(method, "https://api.example.com/v1/whoami?b=2&a=1", nil)
					if err != nil {
						t.Fatal(err)
					}
					for name, value := range extra {
						r.Header.Set(name, value)
					}
					if body != nil {
						r.Header.Set("Content-Type", "application/json")
					}
					sign(r, body)
					headers := apiGatewayHeaders(r, body)

					ev := request{method: method, path: "/v1/whoami?b=2&a=1", body: string(body), claims: map[string]string{}}.event()
					ev.Headers = headers
					ev.RequestContext.DomainName = "api.example.com"
					resp, err := invoke(context.Background(), ev)
					if err != nil {
						t.Fatal(err)
					}
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("%s /v1/whoami: %d %s", method, resp.StatusCode, resp.Body)
					}
					var who struct{ AccessKeyID string }
					if err := json.Unmarshal([]byte(resp.Body), &who); err != nil || who.AccessKeyID != signedKeyID {
						t.Fatalf("whoami answered %s", resp.Body)
					}

					if body != nil && r.Header.Get("X-Amz-Content-Sha256") == "" {
						continue // the authorizer cannot hash a body it never sees
					}
					auth, err := authorize(context.Background(), events.APIGatewayV2CustomAuthorizerV2Request{
						Version: "2.0", Type: "REQUEST", RawPath: "/v1/whoami", RawQueryString: "b=2&a=1", Headers: headers,
						RequestContext: events.APIGatewayV2HTTPRequestContext{DomainName: "api.example.com", RequestID: "r1",
							HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: "/v1/whoami", SourceIP: "192.0.2.1"}},
					})
					if err != nil || !auth.IsAuthorized {
						t.Fatalf("%s: the authorizer refused what WhoAmI accepted (%v)", method, err)
					}
				}
			})
		}
	}
}
