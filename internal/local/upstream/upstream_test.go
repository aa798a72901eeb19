package upstream_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/authorizer"
	"github.com/teamkeys/teamkeys/internal/local/upstream"
)

// TestForwarding: what the authorizer is shown (the peer as sourceIp, never
// a forwarding header; the stage variable for the route prefix) and what the
// upstream gets: the path after /api, the context headers only, even when
// the caller names them in Connection to have them stripped.
func TestForwarding(t *testing.T) {
	var seen *http.Request
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Clone(context.Background())
		w.WriteHeader(http.StatusNoContent)
	}))
	defer up.Close()
	target, err := upstream.ParseURL(up.URL)
	if err != nil {
		t.Fatal(err)
	}
	var shown events.APIGatewayV2CustomAuthorizerV2Request
	authorize := func(_ context.Context, ev events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		shown = ev
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{
			"accessKeyId": "TKAKX", "teamId": "t1", "memberId": "alice", "scopes": "orders:read", "sourceIp": "127.0.0.1"}}, nil
	}
	proxy := httptest.NewServer(upstream.New(target, authorize, slog.New(slog.DiscardHandler)))
	defer proxy.Close()

	req, _ := http.NewRequest("GET", proxy.URL+"/api/orders/a%2Fb?x=1", nil)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 x")
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Teamkeys-Scopes", "*")
	req.Header.Set("X-Teamkeys-Extra", "x")
	req.Header.Set("Connection", "X-Teamkeys-Scopes, X-Teamkeys-Team-Id")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || seen == nil {
		t.Fatalf("status %d, upstream saw %v", resp.StatusCode, seen)
	}
	if shown.RequestContext.HTTP.SourceIP != "127.0.0.1" || shown.StageVariables[authorizer.RoutePrefixVariable] != "/api" ||
		shown.RawPath != "/api/orders/a%2Fb" || shown.RawQueryString != "x=1" {
		t.Fatalf("the authorizer was shown %+v", shown)
	}
	if method, path := authorizer.RouteOf(shown); method != "GET" || path != "/orders/a%2Fb" {
		t.Fatalf("route %s %s, want GET /orders/a%%2Fb", method, path)
	}
	if seen.URL.EscapedPath() != "/orders/a%2Fb" || seen.URL.RawQuery != "x=1" {
		t.Fatalf("upstream got %s ? %s", seen.URL.EscapedPath(), seen.URL.RawQuery)
	}
	want := http.Header{"X-Teamkeys-Access-Key-Id": {"TKAKX"}, "X-Teamkeys-Team-Id": {"t1"}, "X-Teamkeys-Member-Id": {"alice"}, "X-Teamkeys-Scopes": {"orders:read"}}
	for name, values := range seen.Header {
		if len(name) >= 11 && http.CanonicalHeaderKey(name[:11]) == "X-Teamkeys-" {
			if w := want[name]; len(w) != 1 || len(values) != 1 || values[0] != w[0] {
				t.Fatalf("upstream header %s: %v, want %v", name, values, w)
			}
			delete(want, name)
		}
	}
	if len(want) != 0 {
		t.Fatalf("upstream lacks %v", want)
	}
	if _, err := upstream.ParseURL("ftp://x"); err == nil {
		t.Fatal("ftp:// accepted")
	}
}
