package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/testing/fakegithub"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
)

// restEvent is the proxy event a regional REST API sends for a POST of
// body to resource (its stage "live"): headers as the client cased them,
// each also in multiValueHeaders.
func restEvent(resource, body string, headers map[string]string) events.APIGatewayProxyRequest {
	multi := map[string][]string{}
	for k, v := range headers {
		multi[k] = []string{v}
	}
	return events.APIGatewayProxyRequest{
		Resource:          resource,
		Path:              resource,
		HTTPMethod:        "POST",
		Headers:           headers,
		MultiValueHeaders: multi,
		Body:              body,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: "123456789012", APIID: "r1e2s3t4a5", Stage: "live", RequestID: "rest-req-1",
			DomainName: "r1e2s3t4a5.execute-api.us-east-1.amazonaws.com", DomainPrefix: "r1e2s3t4a5",
			ResourcePath: resource, Path: "/live" + resource, HTTPMethod: "POST", Protocol: "HTTP/1.1",
			Identity: events.APIGatewayRequestIdentity{SourceIP: "192.30.252.1", UserAgent: "GitHub-Hookshot/secret-scanning"},
		},
	}
}

// LeakReport, as its main builds it, answers the REST API's proxy events
// of POST /v1/leaks/github in the REST API's shape, exactly as it answers
// the HTTP API's events: a signed report gets GitHub's feedback, junk is
// refused before any lookup, a body over 1 MiB is 413; a proxy event of a
// route the REST API does not serve is 404 without a lookup; the HTTP
// API's events still reach the team's route.
func TestLeakReportServesRESTEvents(t *testing.T) {
	signer := fakegithub.New(t, "gh-1")
	ours := accesskey.NewSecret()
	ref := accesskey.Ref{TeamID: "t1", MemberID: "bob", AccessKeyID: "TKAKAAAAAAAAAAAAAAAAAAAA"}
	report, _ := json.Marshal([]leak.Token{{Token: ours, Type: "teamkeys", URL: "https://github.com/o/r", Source: "content"}})
	signed := map[string]string{"Content-Type": "application/json", "GitHub-Public-Key-Identifier": signer.KeyID,
		"GitHub-Public-Key-Signature": signer.Sign(t, report)}
	oversize := `[{"token":"` + strings.Repeat("a", leak.MaxReportBytes) + `"}]`
	for _, tt := range []struct {
		name    string
		event   any
		status  int
		code    string // error code, or "" for a 200
		lookups int
	}{
		{"signed report", restEvent("/v1/leaks/github", string(report), signed), http.StatusOK, "", 1},
		{"unsigned", restEvent("/v1/leaks/github", string(report), map[string]string{"Content-Type": "application/json"}), http.StatusUnauthorized, "MissingSignature", 0},
		{"bad signature", restEvent("/v1/leaks/github", string(report)+" ", signed), http.StatusUnauthorized, "InvalidSignature", 0},
		{"signature header twice, a forgery first", func() events.APIGatewayProxyRequest {
			ev := restEvent("/v1/leaks/github", string(report), signed)
			ev.MultiValueHeaders["GitHub-Public-Key-Signature"] = []string{signer.Sign(t, []byte("forged")), signed["GitHub-Public-Key-Signature"]}
			return ev
		}(), http.StatusUnauthorized, "InvalidSignature", 0},
		{"oversize", restEvent("/v1/leaks/github", oversize, signed), http.StatusRequestEntityTooLarge, "PayloadTooLarge", 0},
		{"a route the REST API does not serve", restEvent("/v1/teams/{teamId}/leaks", `{"secretAccessKey":"`+ours+`"}`, map[string]string{"Content-Type": "application/json"}),
			http.StatusNotFound, "NotFound", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := &fakeStore{leaked: map[string]accesskey.Ref{accesskey.SecretSHA256(ours): ref}}
			invoke, err := httpapi.WithRESTEvents(httpapi.NewLeakReport(httpapi.Common{Log: slog.New(slog.NewJSONHandler(&logbuf.Buffer{}, nil))},
				store, leak.StaticKeys{signer.KeyID: &signer.Key.PublicKey}))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(tt.event)
			out, err := invoke(context.Background(), raw)
			if err != nil {
				t.Fatalf("the invocation failed: %v", err)
			}
			// What the Lambda runtime sends back must read as a proxy
			// response, and nothing else (no payload 2.0 cookies).
			var resp events.APIGatewayProxyResponse
			dec := json.NewDecoder(bytes.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&resp); err != nil {
				t.Fatalf("answer %s: not a REST API proxy response: %v", out, err)
			}
			if tt.code != "" {
				assertError(t, events.APIGatewayV2HTTPResponse{StatusCode: resp.StatusCode, Headers: resp.Headers, Body: resp.Body}, tt.status, tt.code, "rest-req-1")
			} else {
				var fb []leak.Feedback
				if resp.StatusCode != tt.status || json.Unmarshal([]byte(resp.Body), &fb) != nil || len(fb) != 1 || fb[0].Label != leak.LabelTruePositive {
					t.Fatalf("answer %d %s, want %d with one true_positive", resp.StatusCode, resp.Body, tt.status)
				}
				if resp.Headers["X-Request-Id"] != "rest-req-1" || resp.Headers["Content-Type"] != "application/json" {
					t.Errorf("headers %v, want the REST API's request id and JSON", resp.Headers)
				}
				if len(store.audits) != 1 || store.audits[0].RequestID != "rest-req-1" {
					t.Errorf("audits %+v, want one naming the REST API's request id", store.audits)
				}
			}
			if store.lookups != tt.lookups {
				t.Errorf("%d lookups, want %d", store.lookups, tt.lookups)
			}
		})
	}

	// The HTTP API's event of the team's route goes through as before.
	store := &fakeStore{leaked: map[string]accesskey.Ref{accesskey.SecretSHA256(ours): ref}}
	invoke, err := httpapi.WithRESTEvents(httpapi.NewLeakReport(httpapi.Common{Log: slog.New(slog.NewJSONHandler(&logbuf.Buffer{}, nil))},
		store, leak.StaticKeys{signer.KeyID: &signer.Key.PublicKey}))
	if err != nil {
		t.Fatal(err)
	}
	ev := request{method: "POST", path: "/v1/teams/t1/leaks", body: `{"secretAccessKey":"` + ours + `"}`, contentType: "application/json"}.event()
	raw, _ := json.Marshal(ev)
	out, err := invoke(context.Background(), raw)
	var resp events.APIGatewayV2HTTPResponse
	if err != nil || json.Unmarshal(out, &resp) != nil || resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"matched":true`) {
		t.Fatalf("the HTTP API's team report: %s (%v), want a payload 2.0 answer 200 matched", out, err)
	}
}
