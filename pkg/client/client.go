package client

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/teamkeys/teamkeys/pkg/signing"
)

// DefaultEndpoint is the local server's address (make run).
const DefaultEndpoint = "http://127.0.0.1:3000"

// maxResponseBytes bounds what the client reads of one answer: a credential
// report of a large team is the biggest.
const maxResponseBytes = 64 << 20

// TokenSource returns the bearer token for a request; it is called before
// every attempt, so it may refresh a token that is about to expire.
type TokenSource func(ctx context.Context) (string, error)

// Client calls one teamkeys API. It is safe for concurrent use.
type Client struct {
	endpoint  *url.URL
	http      *http.Client
	token     TokenSource
	keyID     string
	secret    string
	region    string
	userAgent string
	retry     RetryPolicy
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
	// insecureHTTP allows http:// to a host that is not this machine.
	insecureHTTP bool
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the *http.Client requests go through (default: one
// with a 30 s timeout per attempt).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithToken sets a static bearer token for the key-management operations.
func WithToken(token string) Option {
	return func(c *Client) {
		c.token = func(context.Context) (string, error) { return token, nil }
	}
}

// WithTokenSource sets a function that gives the bearer token of each
// request.
func WithTokenSource(ts TokenSource) Option { return func(c *Client) { c.token = ts } }

// WithAccessKey sets the access key WhoAmIGet and WhoAmIPost sign with.
func WithAccessKey(accessKeyID, secretAccessKey string) Option {
	return func(c *Client) { c.keyID, c.secret = accessKeyID, secretAccessKey }
}

// WithSigningRegion sets the SigV4 region (default signing.DefaultRegion);
// it must be the service's TEAMKEYS_SIGNING_REGION.
func WithSigningRegion(region string) Option { return func(c *Client) { c.region = region } }

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithInsecureHTTP allows a plain http:// endpoint on another host than
// this machine. Without it New refuses one (ErrInsecureHTTP): bearer tokens
// and created secrets would cross the network in clear. http:// to a
// loopback address (127.0.0.0/8, ::1, localhost) needs no option.
func WithInsecureHTTP() Option { return func(c *Client) { c.insecureHTTP = true } }

// ErrInsecureHTTP is New's refusal of an http:// endpoint that is not a
// loopback address, without WithInsecureHTTP.
var ErrInsecureHTTP = errors.New("client: refusing plain http:// to a host that is not loopback (tokens and secrets would travel in clear); use https://, or WithInsecureHTTP")

// isLoopback says whether host (a URL's hostname) is this machine:
// localhost, 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WithRetryPolicy replaces DefaultRetryPolicy.
func WithRetryPolicy(p RetryPolicy) Option { return func(c *Client) { c.retry = p } }

// New returns a client of the API at endpoint, e.g.
// "https://abc123.execute-api.eu-west-1.amazonaws.com" or DefaultEndpoint.
// An http:// endpoint must be a loopback address unless WithInsecureHTTP
// is given (ErrInsecureHTTP).
func New(endpoint string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(endpoint, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("client: endpoint %q is not an http(s) URL without a query", endpoint)
	}
	c := &Client{
		endpoint:  u,
		http:      &http.Client{Timeout: 30 * time.Second},
		region:    signing.DefaultRegion,
		userAgent: "teamkeys-go-client",
		retry:     DefaultRetryPolicy,
		now:       time.Now,
		sleep:     sleepContext,
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		return nil, errors.New("client: nil *http.Client")
	}
	if u.Scheme == "http" && !c.insecureHTTP && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%w: %s", ErrInsecureHTTP, u.Redacted())
	}
	return c, nil
}

// Endpoint is the API's base URL.
func (c *Client) Endpoint() string { return c.endpoint.String() }

// auth says how a request proves who sends it.
type auth int

const (
	authBearer auth = iota
	authSigV4
	authZC2
	authNone
)

// safety says what repeating a request can do, which decides its retries.
type safety int

const (
	// readOnly requests change nothing.
	readOnly safety = iota
	// sameOutcome requests change state, but sending one twice ends where
	// sending it once does (disable, enable, a policy, offboarding, and
	// generate or rotate with an Idempotency-Key).
	sameOutcome
	// once requests may do something twice when repeated after an answer
	// was lost (delete: the second would be a 404; a leak report).
	once
)

// call is one operation's request.
type call struct {
	method  string
	path    string // already escaped
	query   url.Values
	body    []byte
	ctype   string
	accept  string
	header  http.Header
	auth    auth
	safety  safety
	expect  int // the success status
	decodes any // where the success body goes (nil: none)
	raw     *[]byte
	// respHeader, if set, receives the success answer's header.
	respHeader *http.Header
}

// do sends c, retrying as RetryPolicy allows, and decodes the answer.
func (c *Client) do(ctx context.Context, k call) error {
	var lastErr error
	for attempt := 0; ; attempt++ {
		resp, body, err := c.attempt(ctx, k)
		if err == nil && resp.StatusCode == k.expect {
			return c.decode(resp, body, k)
		}
		if err == nil {
			err = ResponseError(resp, body)
		} else if ctx.Err() != nil {
			if lastErr != nil {
				return fmt.Errorf("%w (after: %w)", ctx.Err(), lastErr)
			}
			return ctx.Err()
		}
		lastErr = err
		wait, retry := c.retry.decide(attempt, k, resp, err)
		if !retry {
			return err
		}
		if deadline, ok := ctx.Deadline(); ok && c.now().Add(wait).After(deadline) {
			return err
		}
		if err := c.sleep(ctx, wait); err != nil {
			return fmt.Errorf("%w (after: %w)", err, lastErr)
		}
	}
}

// attempt sends one request and reads its whole answer.
func (c *Client) attempt(ctx context.Context, k call) (*http.Response, []byte, error) {
	target := c.endpoint.String() + k.path
	if len(k.query) > 0 {
		target += "?" + k.query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, k.method, target, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("client: %w", err)
	}
	for name, values := range k.header {
		req.Header[name] = values
	}
	req.Header.Set("User-Agent", c.userAgent)
	if k.accept != "" {
		req.Header.Set("Accept", k.accept)
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if k.ctype != "" {
		req.Header.Set("Content-Type", k.ctype)
	}
	if k.body != nil {
		req.Body = io.NopCloser(bytes.NewReader(k.body))
		req.ContentLength = int64(len(k.body))
	}
	switch k.auth {
	case authBearer:
		if c.token == nil {
			return nil, nil, ErrNoToken
		}
		tok, err := c.token(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("client: token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	case authSigV4, authZC2:
		if c.keyID == "" || c.secret == "" {
			return nil, nil, ErrNoAccessKey
		}
		// Signed at every attempt: the signature carries the time.
		if k.auth == authSigV4 {
			err = signing.SignSigV4(req, k.body, c.keyID, c.secret, c.region, c.now())
		} else {
			err = signing.SignZC2(req, k.body, c.keyID, c.secret, c.now())
		}
		if err != nil {
			return nil, nil, fmt.Errorf("client: signing: %w", err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(body) > maxResponseBytes {
		return nil, nil, fmt.Errorf("client: answer of %s %s is over %d bytes", k.method, k.path, maxResponseBytes)
	}
	return resp, body, nil
}

func (c *Client) decode(resp *http.Response, body []byte, k call) error {
	if k.raw != nil {
		*k.raw = body
	}
	if k.respHeader != nil {
		*k.respHeader = resp.Header
	}
	if k.decodes == nil {
		return nil
	}
	if err := json.Unmarshal(body, k.decodes); err != nil {
		return fmt.Errorf("client: decoding the %d answer of %s %s: %w (request id %s)", resp.StatusCode, k.method, k.path, err, requestIDHeader(resp))
	}
	return nil
}

// ErrNoToken is returned by an operation that needs a bearer token when the
// client has none (WithToken, WithTokenSource).
var ErrNoToken = errors.New("client: no bearer token configured")

// ErrNoAccessKey is returned by a signed operation when the client has no
// access key (WithAccessKey).
var ErrNoAccessKey = errors.New("client: no access key configured")

// RetryPolicy says how often and how long the client retries.
//
// What is retried:
//   - a 503 (ServiceUnavailable) and a 429 (throttled): the service did not
//     do the request; every operation;
//   - a 409 IdempotencyKeyInUse: the first request with this key is still
//     running; generate and rotate;
//   - a network error (the answer was lost): operations whose repetition
//     ends where one request does, that is reads, disable, enable, the key
//     policy, offboarding, and generate and rotate, which always carry an
//     Idempotency-Key; delete and the leak reports only when the
//     connection was never made.
//
// The wait is the server's Retry-After when it gives one (at most
// MaxRetryAfter), else a random time up to BaseDelay·2^attempt (at most
// MaxDelay): "full jitter", so that clients throttled together don't come
// back together. A wait that would pass the context's deadline is not
// started: the last error is returned at once.
type RetryPolicy struct {
	// MaxAttempts counts the first request; 1 turns retries off.
	MaxAttempts   int
	BaseDelay     time.Duration
	MaxDelay      time.Duration
	MaxRetryAfter time.Duration
}

// DefaultRetryPolicy is four attempts, from 100 ms to 5 s apart.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 4, BaseDelay: 100 * time.Millisecond, MaxDelay: 5 * time.Second, MaxRetryAfter: 30 * time.Second}

func (p RetryPolicy) decide(attempt int, k call, resp *http.Response, err error) (time.Duration, bool) {
	if attempt+1 >= p.MaxAttempts {
		return 0, false
	}
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr):
		retryable := apiErr.StatusCode == http.StatusServiceUnavailable || apiErr.StatusCode == http.StatusTooManyRequests ||
			(apiErr.Code == ErrorCodeIdempotencyKeyInUse && k.header.Get("Idempotency-Key") != "")
		if !retryable {
			return 0, false
		}
		if apiErr.RetryAfter > 0 {
			return min(apiErr.RetryAfter, p.MaxRetryAfter), true
		}
	case errors.Is(err, ErrNoToken), errors.Is(err, ErrNoAccessKey):
		return 0, false
	case k.safety == once && !neverSent(err):
		return 0, false
	case !isNetworkError(err):
		return 0, false
	}
	return p.backoff(attempt), true
}

func (p RetryPolicy) backoff(attempt int) time.Duration {
	ceiling := p.BaseDelay << min(attempt, 30)
	if ceiling <= 0 || ceiling > p.MaxDelay {
		ceiling = p.MaxDelay
	}
	if ceiling <= 0 {
		return 0
	}
	return rand.N(ceiling) + 1
}

// isNetworkError is an error of the transport, not of the client's own
// making (a token source, a signer, a bad URL).
func isNetworkError(err error) bool {
	var netErr net.Error
	var opErr *net.OpError
	return errors.As(err, &netErr) || errors.As(err, &opErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, net.ErrClosed)
}

// neverSent is a connection that was never made: nothing reached the
// server.
func neverSent(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

func sleepContext(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// APIError is an answer other than the operation's success: the status,
// and the service's error code, message and request id. Use errors.As.
type APIError struct {
	StatusCode int
	// Code is the service's error code; for an answer that is not in the
	// service's error shape (a proxy's), "HTTP" and the status.
	Code      ErrorCode
	Message   string
	RequestID string
	// RetryAfter is the answer's Retry-After, when it has one.
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("teamkeys: %d %s: %s", e.StatusCode, e.Code, e.Message)
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

// ErrorCodeOf is the service's error code of err, or "" when err is not an
// *APIError.
func ErrorCodeOf(err error) ErrorCode {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code
	}
	return ""
}

// ResponseError reads a refused answer, for a caller that sent its own
// request (a signed one, say) and wants it reported as the client reports
// its own: the service's error shape, or API Gateway's, or the status.
func ResponseError(resp *http.Response, body []byte) *APIError {
	e := &APIError{StatusCode: resp.StatusCode, RequestID: requestIDHeader(resp), RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	var shaped Error
	if json.Unmarshal(body, &shaped) == nil && shaped.Error.Code != "" {
		e.Code, e.Message = shaped.Error.Code, shaped.Error.Message
		if shaped.Error.RequestId != "" {
			e.RequestID = shaped.Error.RequestId
		}
		return e
	}
	// API Gateway's own answers (its JWT authorizer's 401, its throttling's
	// 429) are {"message": "..."}.
	var gateway struct {
		Message string `json:"message"`
	}
	e.Code = ErrorCode("HTTP" + strconv.Itoa(resp.StatusCode))
	e.Message = http.StatusText(resp.StatusCode)
	if json.Unmarshal(body, &gateway) == nil && gateway.Message != "" {
		e.Message = gateway.Message
	}
	return e
}

func requestIDHeader(resp *http.Response) string {
	for _, name := range []string{"X-Request-Id", "Apigw-Requestid"} {
		if v := resp.Header.Get(name); v != "" {
			return v
		}
	}
	return ""
}

// retryAfter reads Retry-After in seconds or as an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// NewIdempotencyKey returns a random key for the Idempotency-Key header.
func NewIdempotencyKey() string { return "tkc-" + crand.Text() }
