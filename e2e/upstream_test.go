package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/local/server"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// received is what the upstream saw of one request.
type received struct {
	Method, Path, RawQuery, Body string
	Header                       http.Header
}

// TestUpstream: with TEAMKEYS_UPSTREAM_URL, a request under /api/ signed
// with a key is verified by the authorizer's code (the route table on the
// path without /api, the key's networks on the TCP peer) and forwarded with
// the path after /api, the method, query and body unchanged, and the
// authorizer's context as X-Teamkeys-* headers; the caller's own
// X-Teamkeys-* headers never reach the upstream; the upstream's answer comes
// back as it is. A refusal is API Gateway's: 401 without an Authorization
// header, 403 otherwise, and the upstream sees nothing.
func TestUpstream(t *testing.T) {
	var (
		mu  sync.Mutex
		got []received
	)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Method, r.URL.Path, r.URL.RawQuery, string(body), r.Header.Clone()})
		mu.Unlock()
		w.Header().Set("X-Upstream", "yes")
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusTeapot)
		fmt.Fprint(w, "from upstream")
	}))
	t.Cleanup(up.Close)
	s := teststack.New(t, teststack.Options{Server: func(o *server.Options) {
		o.UpstreamURL = up.URL
		o.Config.RouteScopes = `{"GET /orders/{id}": "orders:read", "POST /orders": "orders:write", "ANY /admin/{proxy+}": "admin"}`
	}})
	last := func() (received, bool) {
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 {
			return received{}, false
		}
		r := got[len(got)-1]
		got = nil
		return r, true
	}
	forged := map[string]string{"X-Teamkeys-Team-Id": "evil", "X-Teamkeys-Scopes": "*", "X-TEAMKEYS-Member-Id": "evil", "X-Teamkeys-Other": "x"}

	reader := s.Generate("t1", "reader", "")
	s.Restrict(reader.AccessKeyID, []string{"127.0.0.0/8"}, []string{"orders:read"})
	writer := s.Generate("t1", "writer", "")
	s.Restrict(writer.AccessKeyID, nil, []string{"orders:*"})
	elsewhere := s.Generate("t1", "elsewhere", "")
	s.Restrict(elsewhere.AccessKeyID, []string{"10.0.0.0/8"}, nil)
	anyone := s.Generate("t1", "anyone", "")

	sign := func(method, path, body string, k createdKey, headers map[string]string) *http.Request {
		req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for name, v := range headers {
			req.Header.Set(name, v) // signed too: the signature does not make them count
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if err := signature.SignSigV4(req, []byte(body), k.AccessKeyID, k.SecretAccessKey, "", time.Now()); err != nil {
			t.Fatal(err)
		}
		return req
	}
	tests := []struct {
		name   string
		req    *http.Request
		status int
		// for a forwarded request: what the upstream must see
		method, path, query, body, scopes string
		key                               createdKey
	}{
		{"GET with its scope, forged headers dropped", sign("GET", "/api/orders/42?x=1&y=2", "", reader, forged), http.StatusTeapot,
			"GET", "/orders/42", "x=1&y=2", "", "orders:read", reader},
		{"POST with a body, wildcard scope", sign("POST", "/api/orders", `{"n":1}`, writer, forged), http.StatusTeapot,
			"POST", "/orders", "", `{"n":1}`, "orders:*", writer},
		{"unrestricted key, any listed route", sign("DELETE", "/api/admin/users/7", "", anyone, nil), http.StatusTeapot,
			"DELETE", "/admin/users/7", "", "", "*", anyone},
		{"unlisted route, no scope needed", sign("GET", "/api/status", "", reader, nil), http.StatusTeapot,
			"GET", "/status", "", "", "orders:read", reader},
		{"scope lacking", sign("POST", "/api/orders", `{}`, reader, nil), http.StatusForbidden, "", "", "", "", "", createdKey{}},
		{"scope lacking, greedy route", sign("GET", "/api/admin/x", "", writer, nil), http.StatusForbidden, "", "", "", "", "", createdKey{}},
		{"outside the key's networks, X-Forwarded-For naming an allowed one", sign("GET", "/api/orders/1", "", elsewhere,
			map[string]string{"X-Forwarded-For": "10.1.2.3", "X-Real-IP": "10.1.2.3", "Forwarded": "for=10.1.2.3"}),
			http.StatusForbidden, "", "", "", "", "", createdKey{}},
		{"wrong secret", sign("GET", "/api/orders/1", "", createdKey{Key: reader.Key, SecretAccessKey: strings.Repeat("x", 43)}, nil),
			http.StatusForbidden, "", "", "", "", "", createdKey{}},
		{"no Authorization header", func() *http.Request {
			r, _ := http.NewRequest("GET", s.URL+"/api/orders/1", nil)
			for name, v := range forged {
				r.Header.Set(name, v)
			}
			return r
		}(), http.StatusUnauthorized, "", "", "", "", "", createdKey{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.Send(tc.req)
			if resp.Status != tc.status {
				t.Fatalf("%d %s, want %d", resp.Status, resp.Body, tc.status)
			}
			seen, forwarded := last()
			if tc.status != http.StatusTeapot {
				if forwarded {
					t.Fatalf("a refused request reached the upstream: %+v", seen)
				}
				var body map[string]string
				resp.Decode(t, &body)
				want := map[int]string{401: "Unauthorized", 403: "Forbidden"}[tc.status]
				if len(body) != 1 || body["message"] != want {
					t.Fatalf("refusal %s, want {\"message\":%q}", resp.Body, want)
				}
				return
			}
			if string(resp.Body) != "from upstream" || resp.Header.Get("X-Upstream") != "yes" {
				t.Fatalf("the upstream's answer did not come back: %v %s", resp.Header, resp.Body)
			}
			if !forwarded || seen.Method != tc.method || seen.Path != tc.path || seen.RawQuery != tc.query || seen.Body != tc.body {
				t.Fatalf("upstream saw %+v, want %s %s ? %s with %q", seen, tc.method, tc.path, tc.query, tc.body)
			}
			want := map[string]string{
				"X-Teamkeys-Access-Key-Id": tc.key.AccessKeyID, "X-Teamkeys-Team-Id": "t1",
				"X-Teamkeys-Member-Id": tc.key.MemberID, "X-Teamkeys-Scopes": tc.scopes,
			}
			for name, values := range seen.Header {
				if !strings.HasPrefix(strings.ToLower(name), "x-teamkeys-") {
					continue
				}
				if w, ok := want[name]; !ok || len(values) != 1 || values[0] != w {
					b, _ := json.Marshal(seen.Header)
					t.Fatalf("upstream header %s: %v, want %q (headers %s)", name, values, w, b)
				}
				delete(want, name)
			}
			if len(want) != 0 {
				t.Fatalf("upstream lacks the context headers %v", want)
			}
		})
	}
}
