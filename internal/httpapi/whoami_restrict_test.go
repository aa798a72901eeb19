package httpapi_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// TestWhoAmIRestrictedKey: /v1/whoami admits a restricted key only from a
// source address (API Gateway's sourceIp, never a header) inside its
// networks, answers 403 SourceIpNotAllowed naming the address otherwise,
// shows the key's restrictions, and tells a caller without the secret
// nothing about them.
func TestWhoAmIRestrictedKey(t *testing.T) {
	const wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	tests := []struct {
		name    string
		cidrs   []string
		scopes  []string
		source  string
		secret  string
		headers map[string]string
		status  int
		code    string
		message string
	}{
		{"unrestricted", nil, nil, "198.51.100.7", signedSecret, nil, 200, "", ""},
		{"inside IPv4", []string{"203.0.113.0/24"}, []string{"orders:read"}, "203.0.113.10", signedSecret, nil, 200, "", ""},
		{"outside IPv4", []string{"203.0.113.0/24"}, nil, "198.51.100.7", signedSecret, nil, 403, "SourceIpNotAllowed",
			"This access key may not be used from 198.51.100.7."},
		{"/32", []string{"198.51.100.7/32"}, nil, "198.51.100.7", signedSecret, nil, 200, "", ""},
		{"next to the /32", []string{"198.51.100.7/32"}, nil, "198.51.100.8", signedSecret, nil, 403, "SourceIpNotAllowed",
			"This access key may not be used from 198.51.100.8."},
		{"IPv4 /0, IPv6 source", []string{"0.0.0.0/0"}, nil, "2001:db8::1", signedSecret, nil, 403, "SourceIpNotAllowed",
			"This access key may not be used from 2001:db8::1."},
		{"IPv6 /0, IPv4 source", []string{"::/0"}, nil, "198.51.100.7", signedSecret, nil, 403, "SourceIpNotAllowed",
			"This access key may not be used from 198.51.100.7."},
		{"IPv6 /0, IPv6 source", []string{"::/0"}, nil, "2001:db8::1", signedSecret, nil, 200, "", ""},
		{"/128", []string{"2001:db8::1/128"}, nil, "2001:db8::1", signedSecret, nil, 200, "", ""},
		{"next to the /128", []string{"2001:db8::1/128"}, nil, "2001:db8::2", signedSecret, nil, 403, "SourceIpNotAllowed",
			"This access key may not be used from 2001:db8::2."},
		{"X-Forwarded-For from an allowed address is ignored", []string{"203.0.113.0/24"}, nil, "203.0.113.10", signedSecret,
			map[string]string{"X-Forwarded-For": "198.51.100.7", "X-Real-IP": "198.51.100.7", "Forwarded": "for=198.51.100.7"}, 200, "", ""},
		{"X-Forwarded-For naming an allowed address does not admit", []string{"203.0.113.0/24"}, nil, "198.51.100.7", signedSecret,
			map[string]string{"X-Forwarded-For": "203.0.113.10", "X-Real-IP": "203.0.113.10", "Forwarded": "for=203.0.113.10"}, 403, "SourceIpNotAllowed",
			"This access key may not be used from 198.51.100.7."},
		{"no scopes: whoami still answers", nil, []string{}, "198.51.100.7", signedSecret, nil, 200, "", ""},
		// Without the secret: the same answer as for an unrestricted key.
		{"wrong secret, unrestricted", nil, nil, "198.51.100.7", wrong, nil, 401, "InvalidSignature", "The request signature does not match."},
		{"wrong secret, restricted, outside", []string{"203.0.113.0/24"}, nil, "198.51.100.7", wrong, nil, 401, "InvalidSignature", "The request signature does not match."},
		{"wrong secret, restricted, inside", []string{"203.0.113.0/24"}, nil, "203.0.113.10", wrong, nil, 401, "InvalidSignature", "The request signature does not match."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := accesskey.Key{AccessKeyID: signedKeyID, TeamID: "t1", MemberID: "alice", Status: accesskey.StatusActive,
				AllowedCIDRs: tc.cidrs, Scopes: tc.scopes}
			v := verifier.New(signedKeyStore{key}, plainOpener{}, nil, verifier.Options{})
			invoke, err := httpapi.NewWhoAmI(httpapi.Common{Log: slog.New(slog.DiscardHandler)}, v)
			if err != nil {
				t.Fatal(err)
			}
			r, err := http.NewRequest(http.MethodGet, "https://api.example.com/v1/whoami", nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, value := range tc.headers {
				r.Header.Set(name, value)
			}
			if err := signature.SignSigV4(r, nil, signedKeyID, tc.secret, "", time.Now()); err != nil {
				t.Fatal(err)
			}
			ev := request{method: http.MethodGet, path: "/v1/whoami", claims: map[string]string{}}.event()
			ev.Headers = apiGatewayHeaders(r, nil)
			ev.RequestContext.DomainName = "api.example.com"
			ev.RequestContext.HTTP.SourceIP = tc.source
			resp, err := invoke(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, resp.Body, tc.status)
			}
			if tc.status != http.StatusOK {
				var body httpapi.ErrorBody
				if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || body.Error.Code != tc.code || body.Error.Message != tc.message {
					t.Fatalf("%s, want %s %q", resp.Body, tc.code, tc.message)
				}
				return
			}
			// The restrictions as stored, null when unrestricted.
			var got map[string]any
			if err := json.Unmarshal([]byte(resp.Body), &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got["allowedCidrs"], anyList(tc.cidrs)) || !reflect.DeepEqual(got["scopes"], anyList(tc.scopes)) {
				t.Fatalf("whoami %s, want allowedCidrs %v and scopes %v", resp.Body, tc.cidrs, tc.scopes)
			}
			if _, ok := got["allowedCidrs"]; !ok {
				t.Fatalf("whoami %s: no allowedCidrs (null when unrestricted)", resp.Body)
			}
		})
	}
}

// anyList is a list of strings as JSON decodes it into any: nil stays nil
// (null).
func anyList(l []string) any {
	if l == nil {
		return nil
	}
	out := []any{}
	for _, s := range l {
		out = append(out, s)
	}
	return out
}
