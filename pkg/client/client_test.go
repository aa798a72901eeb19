package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// answer is what the fake server does with one attempt: write a status
// (with headers and body), or cut the connection without answering.
type answer struct {
	status     int
	body       string
	retryAfter string
	hangUp     bool
	header     map[string]string // more headers (Content-Type: JSON unless set)
}

// seen is one request the fake server received.
type seen struct {
	method, path, query, idempotencyKey, authorization, body string
}

// fakeAPI answers the attempts in order with answers, then 500s.
type fakeAPI struct {
	mu      sync.Mutex
	answers []answer
	seen    []seen
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.seen = append(f.seen, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Get("Idempotency-Key"), r.Header.Get("Authorization"), string(body)})
	a := answer{status: 500, body: `{"error":{"code":"InternalError","message":"no more answers","requestId":"r-x"}}`}
	if len(f.answers) > 0 {
		a, f.answers = f.answers[0], f.answers[1:]
	}
	f.mu.Unlock()
	if a.hangUp {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Request-Id", "hdr-id")
	for name, v := range a.header {
		w.Header().Set(name, v)
	}
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func (f *fakeAPI) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.seen...)
}

const (
	keyJSON     = `{"accessKeyId":"TKAKABCDEFGHIJKLMNOPQRST","status":"Inactive","teamId":"t1","memberId":"alice","description":"","createdAt":"2026-12-01T00:00:00Z","createdBy":"root"}`
	createdJSON = `{"accessKeyId":"TKAKABCDEFGHIJKLMNOPQRST","secretAccessKey":"tksk_x","status":"Active","teamId":"t1","memberId":"alice","description":"","createdAt":"2026-12-01T00:00:00Z","createdBy":"root"}`
	unavailable = `{"error":{"code":"ServiceUnavailable","message":"try again","requestId":"r-503"}}`
	inUse       = `{"error":{"code":"IdempotencyKeyInUse","message":"in progress","requestId":"r-409"}}`
	atCap       = `{"error":{"code":"LimitExceeded","message":"the member already holds 2 keys","requestId":"r-cap"}}`
)

// testClient is a client of f whose waits are recorded, not slept.
func testClient(t *testing.T, f *fakeAPI, opts ...Option) (*Client, *[]time.Duration) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, append([]Option{WithToken("tok")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	c.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	return c, &waits
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	generate := func(c *Client) error {
		_, err := c.GenerateAccessKey(ctx, "t1", "alice", GenerateAccessKeyRequest{}, nil)
		return err
	}
	disable := func(c *Client) error {
		_, err := c.DisableAccessKey(ctx, "t1", "alice", "TKAKABCDEFGHIJKLMNOPQRST")
		return err
	}
	get := func(c *Client) error {
		_, err := c.GetAccessKey(ctx, "t1", "alice", "TKAKABCDEFGHIJKLMNOPQRST")
		return err
	}
	del := func(c *Client) error { return c.DeleteAccessKey(ctx, "t1", "alice", "TKAKABCDEFGHIJKLMNOPQRST") }
	leak := func(c *Client) error {
		_, err := c.ReportTeamLeak(ctx, "t1", TeamLeakReport{SecretAccessKey: "tksk_x"})
		return err
	}
	tests := []struct {
		name     string
		op       func(*Client) error
		answers  []answer
		attempts int
		code     ErrorCode // "" for success
		waits    []time.Duration
	}{
		{"a read retries a 503 and honours Retry-After", get,
			[]answer{{status: 503, body: unavailable, retryAfter: "2"}, {status: 200, body: keyJSON}}, 2, "", []time.Duration{2 * time.Second}},
		{"a read retries a lost answer", get, []answer{{hangUp: true}, {status: 200, body: keyJSON}}, 2, "", nil},
		{"a read gives up after MaxAttempts", get,
			[]answer{{status: 503, body: unavailable}, {status: 503, body: unavailable}, {status: 503, body: unavailable}, {status: 503, body: unavailable}, {status: 200, body: keyJSON}},
			4, ErrorCodeServiceUnavailable, nil},
		{"a 429 is retried", get, []answer{{status: 429, body: `{"message":"Too Many Requests"}`}, {status: 200, body: keyJSON}}, 2, "", nil},
		{"generate retries a 503", generate, []answer{{status: 503, body: unavailable}, {status: 201, body: createdJSON}}, 2, "", nil},
		{"generate retries a lost answer", generate, []answer{{hangUp: true}, {status: 201, body: createdJSON}}, 2, "", nil},
		{"generate retries a request still in progress", generate, []answer{{status: 409, body: inUse}, {status: 201, body: createdJSON}}, 2, "", nil},
		{"generate does not retry the cap", generate, []answer{{status: 409, body: atCap}, {status: 201, body: createdJSON}}, 1, ErrorCodeLimitExceeded, nil},
		{"disable retries a lost answer: a second disable ends the same", disable, []answer{{hangUp: true}, {status: 200, body: keyJSON}}, 2, "", nil},
		{"delete retries a 503", del, []answer{{status: 503, body: unavailable}, {status: 204}}, 2, "", nil},
		{"delete does not retry a lost answer", del, []answer{{hangUp: true}, {status: 204}}, 1, "", nil},
		{"a leak report does not retry a lost answer", leak, []answer{{hangUp: true}, {status: 200, body: `{"matched":false}`}}, 1, "", nil},
		{"a 400 is not retried", disable,
			[]answer{{status: 400, body: `{"error":{"code":"ValidationError","message":"bad id","requestId":"r-400"}}`}, {status: 200, body: keyJSON}}, 1, ErrorCodeValidationError, nil},
		{"a 500 is not retried", get, []answer{{status: 500, body: `{"error":{"code":"InternalError","message":"x","requestId":"r"}}`}, {status: 200, body: keyJSON}}, 1, ErrorCodeInternalError, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{answers: tt.answers}
			c, waits := testClient(t, f)
			err := tt.op(c)
			if got := len(f.requests()); got != tt.attempts {
				t.Errorf("%d attempts, want %d (error %v)", got, tt.attempts, err)
			}
			switch {
			case tt.code == "" && tt.answers[tt.attempts-1].hangUp:
				if err == nil {
					t.Error("a lost answer that is not retried must be an error")
				}
			case tt.code == "" && err != nil:
				t.Errorf("error %v, want success", err)
			case tt.code != "" && ErrorCodeOf(err) != tt.code:
				t.Errorf("error %v, want code %s", err, tt.code)
			}
			if tt.waits != nil && fmt.Sprint(*waits) != fmt.Sprint(tt.waits) {
				t.Errorf("waited %v, want %v", *waits, tt.waits)
			}
		})
	}
}

func TestGenerateAndRotateAlwaysCarryAnIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	mine := "my-key-1"
	tests := []struct {
		name string
		op   func(*Client) error
		want string // "" means one the client made
	}{
		{"generate, the client's key", func(c *Client) error {
			_, err := c.GenerateAccessKey(ctx, "t1", "alice", GenerateAccessKeyRequest{}, nil)
			return err
		}, ""},
		{"generate, the caller's key", func(c *Client) error {
			_, err := c.GenerateAccessKey(ctx, "t1", "alice", GenerateAccessKeyRequest{}, &GenerateAccessKeyParams{IdempotencyKey: &mine})
			return err
		}, mine},
		{"rotate, the client's key", func(c *Client) error {
			_, err := c.RotateAccessKey(ctx, "t1", "alice", "TKAKABCDEFGHIJKLMNOPQRST", RotateAccessKeyRequest{}, nil)
			return err
		}, ""},
		{"rotate, the caller's key", func(c *Client) error {
			_, err := c.RotateAccessKey(ctx, "t1", "alice", "TKAKABCDEFGHIJKLMNOPQRST", RotateAccessKeyRequest{}, &RotateAccessKeyParams{IdempotencyKey: &mine})
			return err
		}, mine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{answers: []answer{{status: 503, body: unavailable}, {hangUp: true}, {status: 201, body: createdJSON}}}
			c, _ := testClient(t, f)
			if err := tt.op(c); err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != 3 {
				t.Fatalf("%d attempts, want 3", len(reqs))
			}
			for i, r := range reqs {
				if r.idempotencyKey == "" || r.idempotencyKey != reqs[0].idempotencyKey {
					t.Errorf("attempt %d sent Idempotency-Key %q, the first sent %q: every retry must send the first's", i+1, r.idempotencyKey, reqs[0].idempotencyKey)
				}
			}
			if tt.want != "" && reqs[0].idempotencyKey != tt.want {
				t.Errorf("sent %q, want the caller's %q", reqs[0].idempotencyKey, tt.want)
			}
		})
	}
	// Two calls without a caller's key are two requests, not one replayed.
	f := &fakeAPI{answers: []answer{{status: 201, body: createdJSON}, {status: 201, body: createdJSON}}}
	c, _ := testClient(t, f)
	for range 2 {
		if _, err := c.GenerateAccessKey(ctx, "t1", "alice", GenerateAccessKeyRequest{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if r := f.requests(); r[0].idempotencyKey == r[1].idempotencyKey {
		t.Errorf("two generates sent the same Idempotency-Key %q", r[0].idempotencyKey)
	}
}

func TestAPIError(t *testing.T) {
	tests := []struct {
		name       string
		a          answer
		wantStatus int
		wantCode   ErrorCode
		wantReqID  string
		wantMsg    string
	}{
		{"the service's error shape", answer{status: 409, body: atCap}, 409, ErrorCodeLimitExceeded, "r-cap", "the member already holds 2 keys"},
		{"not the service's shape: the status, the header's request id", answer{status: 502, body: "<html>bad gateway</html>"}, 502, "HTTP502", "hdr-id", "Bad Gateway"},
		{"API Gateway's shape: its message", answer{status: 401, body: `{"message":"Unauthorized"}`}, 401, "HTTP401", "hdr-id", "Unauthorized"},
		{"API Gateway's throttling", answer{status: 429, body: `{"message":"Too Many Requests"}`}, 429, "HTTP429", "hdr-id", "Too Many Requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := testClient(t, &fakeAPI{answers: []answer{tt.a}}, WithRetryPolicy(RetryPolicy{MaxAttempts: 1}))
			_, err := c.ListMemberAccessKeys(context.Background(), "t1", "alice")
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("error %v (%T) is not an *APIError", err, err)
			}
			if apiErr.StatusCode != tt.wantStatus || apiErr.Code != tt.wantCode || apiErr.RequestID != tt.wantReqID || apiErr.Message != tt.wantMsg {
				t.Errorf("got %+v", *apiErr)
			}
			if !strings.Contains(err.Error(), string(tt.wantCode)) || !strings.Contains(err.Error(), tt.wantReqID) {
				t.Errorf("message %q names neither the code nor the request id", err)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	ctx := context.Background()
	t.Run("no token: nothing is sent", func(t *testing.T) {
		f := &fakeAPI{}
		srv := httptest.NewServer(f)
		defer srv.Close()
		c, err := New(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetKeyPolicy(ctx, "t1"); !errors.Is(err, ErrNoToken) {
			t.Errorf("error %v, want ErrNoToken", err)
		}
		if _, err := c.WhoAmIGet(ctx); !errors.Is(err, ErrNoAccessKey) {
			t.Errorf("error %v, want ErrNoAccessKey", err)
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
	t.Run("a token source is asked at every attempt", func(t *testing.T) {
		f := &fakeAPI{answers: []answer{{status: 503, body: unavailable}, {status: 200, body: keyJSON}}}
		n := 0
		c, _ := testClient(t, f, WithTokenSource(func(context.Context) (string, error) { n++; return fmt.Sprint("tok-", n), nil }))
		if _, err := c.GetAccessKey(ctx, "t1", "alice", "TKAKABCDEFGHIJKLMNOPQRST"); err != nil {
			t.Fatal(err)
		}
		r := f.requests()
		if r[0].authorization != "Bearer tok-1" || r[1].authorization != "Bearer tok-2" {
			t.Errorf("sent %q then %q", r[0].authorization, r[1].authorization)
		}
	})
	t.Run("a token source's error is returned, not retried", func(t *testing.T) {
		f := &fakeAPI{}
		boom := errors.New("no session")
		c, _ := testClient(t, f, WithTokenSource(func(context.Context) (string, error) { return "", boom }))
		if _, err := c.GetKeyPolicy(ctx, "t1"); !errors.Is(err, boom) {
			t.Errorf("error %v, want the source's", err)
		}
		if n := len(f.requests()); n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})
	t.Run("whoami is signed, without the bearer token", func(t *testing.T) {
		f := &fakeAPI{answers: []answer{{status: 200, body: `{"accessKeyId":"TKAKABCDEFGHIJKLMNOPQRST","teamId":"t1","memberId":"alice","scheme":"AWS4-HMAC-SHA256"}`}}}
		c, _ := testClient(t, f, WithAccessKey("TKAKABCDEFGHIJKLMNOPQRST", "tksk_secret"))
		if _, err := c.WhoAmIGet(ctx); err != nil {
			t.Fatal(err)
		}
		if a := f.requests()[0].authorization; !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=TKAKABCDEFGHIJKLMNOPQRST/") {
			t.Errorf("Authorization %q", a)
		}
	})
}

func TestRequests(t *testing.T) {
	ctx := context.Background()
	limit := 10
	next := "tok/+="
	member := "bob"
	tests := []struct {
		name      string
		op        func(*Client) error
		method    string
		path      string
		query     string
		wantBody  string
		answerNew answer
	}{
		{"path parameters are escaped", func(c *Client) error {
			_, err := c.ListMemberAccessKeys(ctx, "t 1", "a/b")
			return err
		}, "GET", "/v1/teams/t%201/members/a%2Fb/access-keys", "", "", answer{status: 200, body: `{"accessKeys":[],"nextToken":null}`}},
		{"audit filters and paging", func(c *Client) error {
			_, err := c.ListAuditEvents(ctx, "t1", &ListAuditEventsParams{MemberId: &member, Limit: &limit, NextToken: &next})
			return err
		}, "GET", "/v1/teams/t1/audit-events", "limit=10&memberId=bob&nextToken=tok%2F%2B%3D", "", answer{status: 200, body: `{"auditEvents":[],"nextToken":null}`}},
		{"a policy without a limit sends null", func(c *Client) error {
			_, err := c.PutKeyPolicy(ctx, "t1", KeyPolicyRequest{})
			return err
		}, "PUT", "/v1/teams/t1/key-policy", "", `{"maxLifetimeDays":null}`, answer{status: 200, body: `{"teamId":"t1","maxLifetimeDays":null}`}},
		{"an update lifts with null, restricts with a list, leaves the rest out", func(c *Client) error {
			_, err := c.UpdateAccessKey(ctx, "t1", "bob", "TKAKAAAAAAAAAAAAAAAAAAAA", AccessKeyUpdate{AllowedCidrs: Lift(), Scopes: Restrict()})
			return err
		}, "PATCH", "/v1/teams/t1/members/bob/access-keys/TKAKAAAAAAAAAAAAAAAAAAAA", "", `{"allowedCidrs":null,"scopes":[]}`,
			answer{status: 200, body: `{"accessKeyId":"TKAKAAAAAAAAAAAAAAAAAAAA","status":"Active","teamId":"t1","memberId":"bob","description":"","createdAt":"2026-01-01T00:00:00Z","createdBy":"a","allowedCidrs":null,"scopes":[]}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{answers: []answer{tt.answerNew}}
			c, _ := testClient(t, f)
			if err := tt.op(c); err != nil {
				t.Fatal(err)
			}
			r := f.requests()[0]
			if r.method != tt.method || r.path != tt.path || r.query != tt.query || r.body != tt.wantBody {
				t.Errorf("sent %s %s ?%s %s, want %s %s ?%s %s", r.method, r.path, r.query, r.body, tt.method, tt.path, tt.query, tt.wantBody)
			}
		})
	}
}

func TestTeamAccessKeysFollowsEveryPage(t *testing.T) {
	page := func(id, next string) answer {
		n := "null"
		if next != "" {
			n = `"` + next + `"`
		}
		return answer{status: 200, body: `{"accessKeys":[` + strings.Replace(keyJSON, "TKAKABCDEFGHIJKLMNOPQRST", id, 1) + `],"nextToken":` + n + `}`}
	}
	f := &fakeAPI{answers: []answer{page("TKAKAAAAAAAAAAAAAAAAAAAA", "p2"), page("TKAKBBBBBBBBBBBBBBBBBBBB", "p3"), page("TKAKCCCCCCCCCCCCCCCCCCCC", "")}}
	c, _ := testClient(t, f)
	var ids []string
	for k, err := range c.TeamAccessKeys(context.Background(), "t1") {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.AccessKeyId)
	}
	if len(ids) != 3 {
		t.Fatalf("got %v", ids)
	}
	if q := f.requests()[2].query; q != "nextToken=p3" {
		t.Errorf("third page asked with %q", q)
	}
}

func TestAWaitPastTheDeadlineIsNotStarted(t *testing.T) {
	f := &fakeAPI{answers: []answer{{status: 503, body: unavailable, retryAfter: "20"}, {status: 200, body: keyJSON}}}
	c, waits := testClient(t, f)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := c.GetKeyPolicy(ctx, "t1")
	if ErrorCodeOf(err) != ErrorCodeServiceUnavailable || len(*waits) != 0 || len(f.requests()) != 1 {
		t.Errorf("error %v after %d attempts and waits %v; want the 503 at once", err, len(f.requests()), *waits)
	}
}

func TestNewRefusesABadEndpoint(t *testing.T) {
	for _, e := range []string{"", "127.0.0.1:3000", "ftp://x", "http://", "http://h/?q=1"} {
		if _, err := New(e); err == nil {
			t.Errorf("New(%q) accepted", e)
		}
	}
	for _, e := range []string{DefaultEndpoint, "https://abc.execute-api.eu-west-1.amazonaws.com/", "http://[::1]:3000"} {
		if _, err := New(e); err != nil {
			t.Errorf("New(%q): %v", e, err)
		}
	}
}

// A connection refused is never sent: even delete retries it.
func TestAConnectionNeverMadeIsRetried(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := New("http://"+addr, WithToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	var waits int
	c.sleep = func(context.Context, time.Duration) error { waits++; return nil }
	err = c.DeleteAccessKey(context.Background(), "t1", "alice", "TKAKABCDEFGHIJKLMNOPQRST")
	if err == nil || waits != DefaultRetryPolicy.MaxAttempts-1 {
		t.Errorf("error %v after %d waits, want a dial error after %d", err, waits, DefaultRetryPolicy.MaxAttempts-1)
	}
}

// TestNewRefusesPlainHTTPToAnotherHost: tokens and secrets cross the
// network only over https://, unless WithInsecureHTTP says otherwise; http://
// to this machine is fine.
func TestNewRefusesPlainHTTPToAnotherHost(t *testing.T) {
	cases := []struct {
		endpoint string
		insecure bool
		refused  bool
	}{
		{"http://127.0.0.1:3000", false, false},
		{"http://127.9.8.7:3000", false, false},
		{"http://[::1]:3000", false, false},
		{"http://localhost:3000", false, false},
		{"http://LOCALHOST", false, false},
		{"https://api.example.com", false, false},
		{"https://10.0.0.5:8443", false, false},
		{"http://api.example.com", false, true},
		{"http://10.0.0.5:3000", false, true},
		{"http://128.0.0.1", false, true},
		{"http://localhost.example.com", false, true},
		{"http://[::2]:3000", false, true},
		{"http://0.0.0.0:3000", false, true},
		{"http://api.example.com", true, false},
		{"http://10.0.0.5:3000", true, false},
	}
	for _, c := range cases {
		t.Run(c.endpoint, func(t *testing.T) {
			var opts []Option
			if c.insecure {
				opts = append(opts, WithInsecureHTTP())
			}
			_, err := New(c.endpoint, opts...)
			if refused := errors.Is(err, ErrInsecureHTTP); refused != c.refused || (!c.refused && err != nil) {
				t.Errorf("New(%q, insecure %v): %v; want refused %v", c.endpoint, c.insecure, err, c.refused)
			}
			if c.refused && !strings.Contains(err.Error(), "WithInsecureHTTP") {
				t.Errorf("the refusal does not name the option: %v", err)
			}
		})
	}
}
