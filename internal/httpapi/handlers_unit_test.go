package httpapi_test

// The HTTP API driven as API Gateway drives it: payload 2.0 events with the
// JWT authorizer's claims, through LambdaHandler, against fakes of the store,
// the sealer and the page tokens.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/testing/fakegithub"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// fakeStore answers each method with its func, or with an empty success.
type fakeStore struct {
	mu         sync.Mutex
	created    []accesskey.Key
	ciphertext [][]byte

	create     func(accesskey.Key) error
	policy     accesskey.KeyPolicy
	policySets []accesskey.KeyPolicy
	getKey     func(accesskey.Ref) (accesskey.Key, error)
	rotate     func(accesskey.Rotation) error
	rotations  []accesskey.Rotation
	offboarded []string
	replays    map[string]accesskey.ReplayRecord
	audits     []accesskey.Audit
	listAudit  func(team, member, key string, limit int, after map[string]string) ([]accesskey.AuditRecord, map[string]string, error)
	del        func(accesskey.Ref) error
	setStatus  func(accesskey.Ref, accesskey.Status) (accesskey.Key, error)
	updateKey  func(accesskey.Ref, accesskey.KeyUpdate) (accesskey.Key, error)
	listMember func(teamID, memberID string) ([]accesskey.Key, error)
	listTeam   func(teamID string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error)
	// leaked maps a secret's SHA-256 to its key, for DisableLeaked;
	// lookups counts its calls.
	leaked  map[string]accesskey.Ref
	lookups int
	// leakErr, if set, fails DisableLeaked for the hashes it says.
	leakErr func(hash string) error
}

func (s *fakeStore) DisableLeaked(_ context.Context, hash, teamID string, _ accesskey.Leak, audit accesskey.Audit) (accesskey.Ref, bool, error) {
	s.recordAudit(audit)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if s.leakErr != nil {
		if err := s.leakErr(hash); err != nil {
			return accesskey.Ref{}, false, err
		}
	}
	ref, ok := s.leaked[hash]
	if !ok || (teamID != "" && ref.TeamID != teamID) {
		return accesskey.Ref{}, false, nil
	}
	return ref, true, nil
}

func (s *fakeStore) Policy(context.Context, string) (accesskey.KeyPolicy, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policy, nil
}

func (s *fakeStore) SetPolicy(_ context.Context, _ string, p accesskey.KeyPolicy, audit accesskey.Audit) error {
	s.recordAudit(audit)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policy = p
	s.policySets = append(s.policySets, p)
	return nil
}

func (s *fakeStore) GetKey(_ context.Context, ref accesskey.Ref) (accesskey.Key, error) {
	if s.getKey != nil {
		return s.getKey(ref)
	}
	return accesskey.Key{}, accesskey.ErrNotFound
}

// recordAudit keeps who each change was made by, as its store call said.
func (s *fakeStore) recordAudit(a accesskey.Audit) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.audits = append(s.audits, a)
}

func (s *fakeStore) ListAudit(_ context.Context, team, member, key string, limit int, after map[string]string) ([]accesskey.AuditRecord, map[string]string, error) {
	if s.listAudit != nil {
		return s.listAudit(team, member, key, limit, after)
	}
	return nil, nil, nil
}

func (s *fakeStore) Replay(_ context.Context, id string) (accesskey.ReplayRecord, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.replays[id]
	return rec, ok, nil
}

// keepReplay stores a replay record as the store's transaction would: not
// over one that is there.
func (s *fakeStore) keepReplay(rec *accesskey.ReplayRecord) error {
	if rec == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, taken := s.replays[rec.ID]; taken {
		return accesskey.ErrReplayRecordTaken
	}
	if s.replays == nil {
		s.replays = map[string]accesskey.ReplayRecord{}
	}
	s.replays[rec.ID] = *rec
	return nil
}

func (s *fakeStore) DeleteMemberKeys(_ context.Context, teamID, memberID string, audit accesskey.Audit) ([]string, error) {
	s.recordAudit(audit)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offboarded = append(s.offboarded, teamID+"/"+memberID)
	return []string{}, nil
}

// Rotate records the rotations its func did not refuse.
func (s *fakeStore) Rotate(_ context.Context, r accesskey.Rotation) error {
	s.recordAudit(r.Audit)
	if err := s.keepReplay(r.Sealed.Replay); err != nil {
		return err
	}
	if s.rotate != nil {
		if err := s.rotate(r); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotations = append(s.rotations, r)
	return nil
}

// Create records the keys it stored: those its func did not refuse.
func (s *fakeStore) Create(_ context.Context, k accesskey.Key, sealed accesskey.SealedSecret, _ accesskey.KeyPolicy, audit accesskey.Audit) error {
	s.recordAudit(audit)
	ciphertext := sealed.Ciphertext
	if err := s.keepReplay(sealed.Replay); err != nil {
		return err
	}
	if s.create != nil {
		if err := s.create(k); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.created = append(s.created, k)
	s.ciphertext = append(s.ciphertext, ciphertext)
	return nil
}

func (s *fakeStore) Delete(_ context.Context, ref accesskey.Ref, audit accesskey.Audit) error {
	s.recordAudit(audit)
	if s.del != nil {
		return s.del(ref)
	}
	return nil
}

func (s *fakeStore) SetStatus(_ context.Context, ref accesskey.Ref, status accesskey.Status, audit accesskey.Audit) (accesskey.Key, error) {
	s.recordAudit(audit)
	if s.setStatus != nil {
		return s.setStatus(ref, status)
	}
	return accesskey.Key{AccessKeyID: ref.AccessKeyID, TeamID: ref.TeamID, MemberID: ref.MemberID, Status: status}, nil
}

func (s *fakeStore) UpdateKey(_ context.Context, ref accesskey.Ref, u accesskey.KeyUpdate, audit accesskey.Audit) (accesskey.Key, error) {
	s.recordAudit(audit)
	if s.updateKey != nil {
		return s.updateKey(ref, u)
	}
	k, _ := u.Apply(accesskey.Key{AccessKeyID: ref.AccessKeyID, TeamID: ref.TeamID, MemberID: ref.MemberID, Status: accesskey.StatusActive})
	return k, nil
}

func (s *fakeStore) ListMember(_ context.Context, teamID, memberID string) ([]accesskey.Key, error) {
	if s.listMember != nil {
		return s.listMember(teamID, memberID)
	}
	return nil, nil
}

func (s *fakeStore) ListTeam(_ context.Context, teamID string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error) {
	if s.listTeam != nil {
		return s.listTeam(teamID, limit, after)
	}
	return nil, nil, nil
}

// fakeSealer "encrypts" by tagging the ref; it remembers the secrets.
type fakeSealer struct {
	mu      sync.Mutex
	secrets []string
	refs    []accesskey.Ref
	err     error
}

func (f *fakeSealer) Seal(_ context.Context, ref accesskey.Ref, secret string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets = append(f.secrets, secret)
	f.refs = append(f.refs, ref)
	if f.err != nil {
		return nil, f.err
	}
	return []byte("sealed-for-" + ref.AccessKeyID), nil
}

func (f *fakeSealer) SealReplay(_ context.Context, id string, answer []byte) ([]byte, error) {
	return append([]byte("replay-for-"+id+":"), answer...), nil
}

func (f *fakeSealer) OpenReplay(_ context.Context, id string, ciphertext []byte) ([]byte, error) {
	plain, ok := bytes.CutPrefix(ciphertext, []byte("replay-for-"+id+":"))
	if !ok {
		return nil, errors.New("not sealed for this record")
	}
	return plain, nil
}

// fakeTokens accepts only the tokens it made, for the scope it made them.
type fakeTokens struct{}

func (fakeTokens) Encode(scope string, cursor map[string]string) string {
	return "tok:" + scope + ":" + cursor["pk"]
}

func (fakeTokens) Decode(scope, token string) (map[string]string, error) {
	pk, ok := strings.CutPrefix(token, "tok:"+scope+":")
	if !ok || pk == "" {
		return nil, errors.New("invalid page token")
	}
	return map[string]string{"pk": pk}, nil
}

// fakeVerifier answers every verification with err, or with key.
type fakeVerifier struct {
	key accesskey.Key
	err error
}

func (f *fakeVerifier) Verify(context.Context, signature.Request, string) (verifier.Result, error) {
	if f.err != nil {
		return verifier.Result{}, f.err
	}
	return verifier.Result{Key: f.key, Scheme: signature.SchemeSigV4}, nil
}

type harness struct {
	github   *fakegithub.Signer
	store    *fakeStore
	sealer   *fakeSealer
	verifier *fakeVerifier
	logs     *logbuf.Buffer
	invoke   httpapi.LambdaHandlerFunc
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{store: &fakeStore{}, sealer: &fakeSealer{}, verifier: &fakeVerifier{}, logs: &logbuf.Buffer{}, github: fakegithub.New(t, "gh-1")}
	log := slog.New(slog.NewJSONHandler(h.logs, nil))
	handler := httpapi.NewAll(httpapi.AllDeps{
		Common: httpapi.Common{
			Log: log,
			Now: func() time.Time { return time.Date(2025, 1, 2, 3, 4, 5, 600, time.UTC) },
		},
		Store:      h.store,
		Sealer:     h.sealer,
		PageTokens: fakeTokens{},
		Verifier:   h.verifier,
		GitHubKeys: leak.StaticKeys{h.github.KeyID: &h.github.Key.PublicKey},
	})
	h.invoke = httpapi.LambdaHandler(handler, log)
	return h
}

var adminClaims = map[string]string{"sub": "alice", "team_id": "t1", "team_role": "admin"}

// request is one hand-built payload 2.0 event.
type request struct {
	method      string
	path        string // raw path, with its query after '?'
	body        string
	contentType string
	base64      bool
	claims      map[string]string // nil: adminClaims; empty: no authorizer
	headers     map[string]string
}

var eventSeq int

func (r request) event() events.APIGatewayV2HTTPRequest {
	eventSeq++
	rawPath, query, _ := strings.Cut(r.path, "?")
	headers := map[string]string{}
	for k, v := range r.headers {
		headers[k] = v
	}
	if r.contentType != "" {
		headers["content-type"] = r.contentType
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version:         "2.0",
		RouteKey:        "$default",
		RawPath:         rawPath,
		RawQueryString:  query,
		Headers:         headers,
		Body:            r.body,
		IsBase64Encoded: r.base64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID:  fmt.Sprintf("req-%d-%d", eventSeq, time.Now().UnixNano()),
			DomainName: "api.example.test",
			Stage:      "$default",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.method, Path: rawPath, Protocol: "HTTP/1.1", SourceIP: "192.0.2.1",
			},
		},
	}
	claims := r.claims
	if claims == nil {
		claims = adminClaims
	}
	if len(claims) > 0 {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	return ev
}

func (h *harness) do(t *testing.T, r request) (events.APIGatewayV2HTTPRequest, events.APIGatewayV2HTTPResponse) {
	t.Helper()
	ev := r.event()
	resp, err := h.invoke(context.Background(), ev)
	if err != nil {
		t.Fatalf("%s %s: the invocation failed: %v", r.method, r.path, err)
	}
	return ev, resp
}

// assertError checks status, the JSON content type and the exact error
// shape {"error":{"code","message","requestId"}}, and returns the message.
func assertError(t *testing.T, resp events.APIGatewayV2HTTPResponse, status int, code, requestID string) string {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, status, resp.Body)
	}
	mediaType, _, err := mime.ParseMediaType(resp.Headers["Content-Type"])
	if err != nil || mediaType != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", resp.Headers["Content-Type"])
	}
	if resp.IsBase64Encoded {
		t.Errorf("error body is base64-encoded")
	}
	var outer map[string]json.RawMessage
	if err := json.Unmarshal([]byte(resp.Body), &outer); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", resp.Body, err)
	}
	if len(outer) != 1 || outer["error"] == nil {
		t.Fatalf("body %s: want exactly one member, \"error\"", resp.Body)
	}
	var inner map[string]any
	if err := json.Unmarshal(outer["error"], &inner); err != nil {
		t.Fatalf("body %s: \"error\" is not an object: %v", resp.Body, err)
	}
	keys := make([]string, 0, len(inner))
	for k := range inner {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"code", "message", "requestId"}) {
		t.Fatalf("body %s: error members %v, want exactly code, message, requestId", resp.Body, keys)
	}
	gotCode, _ := inner["code"].(string)
	message, _ := inner["message"].(string)
	gotID, _ := inner["requestId"].(string)
	if gotCode != code {
		t.Errorf("error code = %q, want %q (body %s)", gotCode, code, resp.Body)
	}
	if message == "" {
		t.Errorf("error message is empty or not a string (body %s)", resp.Body)
	}
	if gotID != requestID {
		t.Errorf("error requestId = %q, want the event's %q", gotID, requestID)
	}
	// An event that never became a request gets no X-Request-Id; any
	// response that has one names the same request as its body.
	if got, ok := resp.Headers["X-Request-Id"]; ok && got != requestID {
		t.Errorf("X-Request-Id = %q, want the event's %q", got, requestID)
	}
	return message
}

const (
	memberKeys = "/v1/teams/t1/members/bob/access-keys"
	teamKeys   = "/v1/teams/t1/access-keys"
	oneKey     = "/v1/teams/t1/members/bob/access-keys/TKAKABCDEFGHIJKLMNOPQRST"
)

func TestStorePanicIsAnInternalErrorAndTheHandlerLivesOn(t *testing.T) {
	h := newHarness(t)
	panicked := true
	h.store.listMember = func(string, string) ([]accesskey.Key, error) {
		if panicked {
			panicked = false
			panic("secret-panic-detail: nil map in store")
		}
		return []accesskey.Key{{AccessKeyID: "TKAKABCDEFGHIJKLMNOPQRST", TeamID: "t1", MemberID: "bob", Status: accesskey.StatusActive}}, nil
	}
	ev, resp := h.do(t, request{method: "GET", path: memberKeys})
	assertError(t, resp, http.StatusInternalServerError, "InternalError", ev.RequestContext.RequestID)
	if strings.Contains(resp.Body, "secret-panic-detail") {
		t.Errorf("the panic's text reached the client: %s", resp.Body)
	}
	if !strings.Contains(h.logs.String(), "secret-panic-detail") {
		t.Errorf("the panic's text is not in the log, where an operator would look for it")
	}

	_, resp = h.do(t, request{method: "GET", path: memberKeys})
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, "TKAKABCDEFGHIJKLMNOPQRST") {
		t.Fatalf("the request after the panic: %d %s, want 200 with the key", resp.StatusCode, resp.Body)
	}
}

func TestErrorResponses(t *testing.T) {
	tooBig := `{"description":"` + strings.Repeat("a", httpapi.MaxBodyBytes) + `"}`
	// Exactly at the limit: read whole, then refused for its description.
	atLimit := `{"description":"` + strings.Repeat("a", httpapi.MaxBodyBytes-len(`{"description":""}`)) + `"}`
	if len(atLimit) != httpapi.MaxBodyBytes {
		t.Fatalf("test setup: atLimit is %d bytes", len(atLimit))
	}
	unavailable := fmt.Errorf("create key: %w: ThrottlingException: rate exceeded", accesskey.ErrUnavailable)
	internal := errors.New("dynamodb: secret-detail-xyz: table arn:aws:dynamodb:eu-west-1:123456789012:table/keys")

	tests := []struct {
		name       string
		req        request
		setup      func(*harness)
		status     int
		code       string
		allow      string // the Allow header a 405 must carry
		mustNotSay string // text that must not reach the body
	}{
		{name: "store unavailable", req: request{method: "GET", path: memberKeys},
			setup: func(h *harness) {
				h.store.listMember = func(string, string) ([]accesskey.Key, error) { return nil, unavailable }
			},
			status: 503, code: "ServiceUnavailable", mustNotSay: "ThrottlingException"},
		{name: "sealer unavailable", req: request{method: "POST", path: memberKeys},
			setup:  func(h *harness) { h.sealer.err = fmt.Errorf("kms: %w", accesskey.ErrUnavailable) },
			status: 503, code: "ServiceUnavailable"},
		{name: "internal error detail", req: request{method: "GET", path: memberKeys},
			setup: func(h *harness) {
				h.store.listMember = func(string, string) ([]accesskey.Key, error) { return nil, internal }
			},
			status: 500, code: "InternalError", mustNotSay: "secret-detail-xyz"},
		{name: "internal error on generate", req: request{method: "POST", path: memberKeys},
			setup:  func(h *harness) { h.store.create = func(accesskey.Key) error { return internal } },
			status: 500, code: "InternalError", mustNotSay: "secret-detail-xyz"},
		{name: "member at the cap", req: request{method: "POST", path: memberKeys},
			setup: func(h *harness) {
				h.store.create = func(accesskey.Key) error { return fmt.Errorf("x: %w", accesskey.ErrLimitExceeded) }
			},
			status: 409, code: "LimitExceeded"},
		{name: "no such key", req: request{method: "DELETE", path: oneKey},
			setup: func(h *harness) {
				h.store.del = func(accesskey.Ref) error { return fmt.Errorf("x: %w", accesskey.ErrNotFound) }
			},
			status: 404, code: "NotFound"},

		{name: "unknown path", req: request{method: "GET", path: "/v1/nothing"}, status: 404, code: "NotFound"},
		{name: "root", req: request{method: "GET", path: "/"}, status: 404, code: "NotFound"},
		{name: "trailing slash", req: request{method: "GET", path: teamKeys + "/"}, status: 404, code: "NotFound"},
		{name: "unclean path", req: request{method: "GET", path: "/v1/teams/t1/../t1/access-keys"}, status: 404, code: "NotFound"},
		{name: "double slash", req: request{method: "GET", path: "/v1//teams/t1/access-keys"}, status: 404, code: "NotFound"},
		{name: "unknown path, unauthenticated", req: request{method: "GET", path: "/v1/nothing", claims: map[string]string{}}, status: 404, code: "NotFound"},

		{name: "PUT on the member's keys", req: request{method: "PUT", path: memberKeys}, status: 405, code: "MethodNotAllowed", allow: "DELETE, GET, POST"},
		{name: "DELETE on the team's keys", req: request{method: "DELETE", path: teamKeys}, status: 405, code: "MethodNotAllowed", allow: "GET"},
		{name: "PUT on a key", req: request{method: "PUT", path: oneKey}, status: 405, code: "MethodNotAllowed", allow: "DELETE, GET, PATCH"},
		{name: "GET on a key through another member", req: request{method: "GET", path: oneKey}, status: 404, code: "NotFound"},
		{name: "POST on the key policy", req: request{method: "POST", path: "/v1/teams/t1/key-policy"}, status: 405, code: "MethodNotAllowed", allow: "GET, PUT"},
		{name: "GET on disable", req: request{method: "GET", path: oneKey + "/disable"}, status: 405, code: "MethodNotAllowed", allow: "POST"},

		{name: "body over 16 KiB", req: request{method: "POST", path: memberKeys, body: tooBig, contentType: "application/json"}, status: 413, code: "PayloadTooLarge"},
		{name: "body over 16 KiB, base64", req: request{method: "POST", path: memberKeys, body: base64.StdEncoding.EncodeToString([]byte(tooBig)), base64: true, contentType: "application/json"}, status: 413, code: "PayloadTooLarge"},
		{name: "body of exactly 16 KiB is read", req: request{method: "POST", path: memberKeys, body: atLimit, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "text/plain body", req: request{method: "POST", path: memberKeys, body: `{"description":"a"}`, contentType: "text/plain"}, status: 415, code: "UnsupportedMediaType"},
		{name: "body without a content type", req: request{method: "POST", path: memberKeys, body: `{"description":"a"}`}, status: 415, code: "UnsupportedMediaType"},
		{name: "form body", req: request{method: "POST", path: memberKeys, body: `description=a`, contentType: "application/x-www-form-urlencoded"}, status: 415, code: "UnsupportedMediaType"},

		{name: "description is a number", req: request{method: "POST", path: memberKeys, body: `{"description": 5}`, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "description is null", req: request{method: "POST", path: memberKeys, body: `{"description": null}`, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "unknown field", req: request{method: "POST", path: memberKeys, body: `{"x":1}`, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "field name in another case is an unknown field", req: request{method: "POST", path: memberKeys, body: `{"Description":"a"}`, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "truncated JSON", req: request{method: "POST", path: memberKeys, body: `{`, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "two objects", req: request{method: "POST", path: memberKeys, body: `{"description":"a"} {}`, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "trailing garbage", req: request{method: "POST", path: memberKeys, body: `{"description":"a"}x`, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "array", req: request{method: "POST", path: memberKeys, body: `[]`, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "null body", req: request{method: "POST", path: memberKeys, body: `null`, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "description too long", req: request{method: "POST", path: memberKeys, body: `{"description":"` + strings.Repeat("é", 257) + `"}`, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "description with a newline", req: request{method: "POST", path: memberKeys, body: `{"description":"a\nb"}`, contentType: "application/json"}, status: 400, code: "ValidationError"},
		{name: "body not valid base64", req: request{method: "POST", path: memberKeys, body: "!!!not base64", base64: true, contentType: "application/json"}, status: 400, code: "ValidationError"},

		{name: "invalid member id", req: request{method: "GET", path: "/v1/teams/t1/members/-bob/access-keys"}, status: 400, code: "ValidationError"},
		{name: "encoded slash in member id", req: request{method: "GET", path: "/v1/teams/t1/members/a%2Fb/access-keys"}, status: 400, code: "ValidationError"},
		{name: "invalid key id", req: request{method: "DELETE", path: "/v1/teams/t1/members/bob/access-keys/AKIAABCDEFGHIJKLMNOPQRST"}, status: 400, code: "ValidationError"},
		{name: "limit 0", req: request{method: "GET", path: teamKeys + "?limit=0"}, status: 400, code: "ValidationError"},
		{name: "limit 101", req: request{method: "GET", path: teamKeys + "?limit=101"}, status: 400, code: "ValidationError"},
		{name: "limit not a number", req: request{method: "GET", path: teamKeys + "?limit=ten"}, status: 400, code: "ValidationError"},
		{name: "forged nextToken", req: request{method: "GET", path: teamKeys + "?nextToken=forged"}, status: 400, code: "ValidationError"},
		{name: "another team's nextToken", req: request{method: "GET", path: teamKeys + "?nextToken=tok:team:t2:KEY%23X"}, status: 400, code: "ValidationError"},

		{name: "no claims", req: request{method: "GET", path: memberKeys, claims: map[string]string{}}, status: 401, code: "Unauthenticated"},
		{name: "no team claim", req: request{method: "GET", path: memberKeys, claims: map[string]string{"sub": "alice", "team_role": "admin"}}, status: 401, code: "Unauthenticated"},
		{name: "unauthenticated before validation", req: request{method: "GET", path: "/v1/teams/t1/members/-bob/access-keys", claims: map[string]string{}}, status: 401, code: "Unauthenticated"},
		{name: "another team", req: request{method: "GET", path: "/v1/teams/t2/access-keys"}, status: 403, code: "Forbidden"},
		{name: "member generating for itself", req: request{method: "POST", path: memberKeys, claims: map[string]string{"sub": "bob", "team_id": "t1", "team_role": "member"}}, status: 403, code: "Forbidden"},
		{name: "member listing the team", req: request{method: "GET", path: teamKeys, claims: map[string]string{"sub": "bob", "team_id": "t1", "team_role": "member"}}, status: 403, code: "Forbidden"},
		{name: "member enabling its key", req: request{method: "POST", path: oneKey + "/enable", claims: map[string]string{"sub": "bob", "team_id": "t1", "team_role": "member"}}, status: 403, code: "Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			if tt.setup != nil {
				tt.setup(h)
			}
			ev, resp := h.do(t, tt.req)
			assertError(t, resp, tt.status, tt.code, ev.RequestContext.RequestID)
			if tt.status == http.StatusServiceUnavailable {
				if n, err := strconv.Atoi(resp.Headers["Retry-After"]); err != nil || n < 1 {
					t.Errorf("Retry-After = %q, want a positive number of seconds", resp.Headers["Retry-After"])
				}
			} else if ra, ok := resp.Headers["Retry-After"]; ok {
				t.Errorf("a %d carries Retry-After: %q", tt.status, ra)
			}
			if tt.allow != "" {
				if got := resp.Headers["Allow"]; got != tt.allow {
					t.Errorf("Allow = %q, want %q", got, tt.allow)
				}
			}
			if tt.mustNotSay != "" && strings.Contains(resp.Body, tt.mustNotSay) {
				t.Errorf("the body leaks %q: %s", tt.mustNotSay, resp.Body)
			}
			if tt.status >= 400 && len(h.store.created) > 0 {
				t.Errorf("a request answered %d stored a key", tt.status)
			}
		})
	}
}

func TestGenerateAccepts(t *testing.T) {
	tests := []struct {
		name            string
		body            string
		contentType     string
		wantDescription string
	}{
		{"empty body", "", "", ""},
		{"empty body with a JSON content type", "", "application/json", ""},
		{"whitespace body", " \n\t", "", ""},
		{"empty object", "{}", "application/json", ""},
		{"description", `{"description":"ci deploy"}`, "application/json", "ci deploy"},
		{"charset parameter", `{"description":"ci"}`, "application/json; charset=utf-8", "ci"},
		{"256 characters", `{"description":"` + strings.Repeat("é", 256) + `"}`, "application/json", strings.Repeat("é", 256)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			_, resp := h.do(t, request{method: "POST", path: memberKeys, body: tt.body, contentType: tt.contentType})
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status = %d, want 201 (body %s)", resp.StatusCode, resp.Body)
			}
			if ct, _, _ := mime.ParseMediaType(resp.Headers["Content-Type"]); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", resp.Headers["Content-Type"])
			}
			if !strings.Contains(resp.Headers["Cache-Control"], "no-store") {
				t.Errorf("Cache-Control = %q: a response with a secret must not be cached", resp.Headers["Cache-Control"])
			}
			var got struct {
				AccessKeyID     string   `json:"accessKeyId"`
				SecretAccessKey string   `json:"secretAccessKey"`
				Status          string   `json:"status"`
				TeamID          string   `json:"teamId"`
				MemberID        string   `json:"memberId"`
				Description     string   `json:"description"`
				CreatedAt       string   `json:"createdAt"`
				CreatedBy       string   `json:"createdBy"`
				AllowedCidrs    []string `json:"allowedCidrs"`
				Scopes          []string `json:"scopes"`
			}
			dec := json.NewDecoder(strings.NewReader(resp.Body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("response %s: %v", resp.Body, err)
			}
			if !accesskey.ValidAccessKeyID(got.AccessKeyID) || got.SecretAccessKey == "" || got.Status != "Active" ||
				got.TeamID != "t1" || got.MemberID != "bob" || got.Description != tt.wantDescription ||
				got.CreatedAt != "2025-01-02T03:04:05Z" || got.CreatedBy != "alice" {
				t.Errorf("response = %+v", got)
			}
			// The secret was sealed for this very key, and only the
			// ciphertext went to the store.
			if len(h.sealer.secrets) != 1 || h.sealer.secrets[0] != got.SecretAccessKey {
				t.Fatalf("sealed secrets %q, want exactly the one returned", h.sealer.secrets)
			}
			wantRef := accesskey.Ref{TeamID: "t1", MemberID: "bob", AccessKeyID: got.AccessKeyID}
			if h.sealer.refs[0] != wantRef {
				t.Errorf("sealed for %+v, want %+v", h.sealer.refs[0], wantRef)
			}
			if len(h.store.created) != 1 || h.store.created[0].AccessKeyID != got.AccessKeyID {
				t.Fatalf("stored %+v, want the key returned", h.store.created)
			}
			if string(h.store.ciphertext[0]) != "sealed-for-"+got.AccessKeyID {
				t.Errorf("stored ciphertext %q, want the sealer's output", h.store.ciphertext[0])
			}
			if strings.Contains(h.logs.String(), got.SecretAccessKey) {
				t.Errorf("the secret reached the log")
			}
		})
	}
}

func TestListTeamPaging(t *testing.T) {
	key := func(id string) accesskey.Key {
		return accesskey.Key{AccessKeyID: id, TeamID: "t1", MemberID: "bob", Status: accesskey.StatusActive,
			CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), CreatedBy: "alice"}
	}
	tests := []struct {
		name      string
		query     string
		wantLimit int
		wantAfter map[string]string
		next      map[string]string
		wantNext  *string
	}{
		{"first page, default size", "", httpapi.DefaultPageSize, nil, map[string]string{"pk": "KEY#A"}, ptr("tok:team:t1:KEY#A")},
		{"largest page", "?limit=100", 100, nil, nil, nil},
		{"smallest page", "?limit=1", 1, nil, nil, nil},
		{"next page", "?limit=2&nextToken=tok:team:t1:KEY%23A", 2, map[string]string{"pk": "KEY#A"}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			var gotLimit int
			var gotAfter map[string]string
			h.store.listTeam = func(teamID string, limit int, after map[string]string) ([]accesskey.Key, map[string]string, error) {
				gotLimit, gotAfter = limit, after
				return []accesskey.Key{key("TKAKAAAAAAAAAAAAAAAAAAAA")}, tt.next, nil
			}
			_, resp := h.do(t, request{method: "GET", path: teamKeys + tt.query})
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %s)", resp.StatusCode, resp.Body)
			}
			if gotLimit != tt.wantLimit || !mapsEqual(gotAfter, tt.wantAfter) {
				t.Errorf("store asked for limit %d after %v, want %d after %v", gotLimit, gotAfter, tt.wantLimit, tt.wantAfter)
			}
			var body struct {
				AccessKeys []map[string]any `json:"accessKeys"`
				NextToken  *string          `json:"nextToken"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
				t.Fatalf("body %s: %v", resp.Body, err)
			}
			if len(body.AccessKeys) != 1 || body.AccessKeys[0]["accessKeyId"] != "TKAKAAAAAAAAAAAAAAAAAAAA" {
				t.Errorf("accessKeys = %v", body.AccessKeys)
			}
			if _, leaked := body.AccessKeys[0]["secretAccessKey"]; leaked {
				t.Errorf("a list shows a secret: %s", resp.Body)
			}
			if (body.NextToken == nil) != (tt.wantNext == nil) || body.NextToken != nil && *body.NextToken != *tt.wantNext {
				t.Errorf("nextToken = %v, want %v", deref(body.NextToken), deref(tt.wantNext))
			}
			if !strings.Contains(resp.Body, `"nextToken":`) {
				t.Errorf("body %s has no nextToken member; the last page has nextToken null", resp.Body)
			}
		})
	}
}

func TestEmptyListsAreArrays(t *testing.T) {
	h := newHarness(t)
	for _, path := range []string{memberKeys, teamKeys} {
		_, resp := h.do(t, request{method: "GET", path: path})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d (body %s)", path, resp.StatusCode, resp.Body)
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatalf("GET %s: body %s: %v", path, resp.Body, err)
		}
		if string(body["accessKeys"]) != "[]" || string(body["nextToken"]) != "null" {
			t.Errorf("GET %s: body %s, want accessKeys [] and nextToken null", path, resp.Body)
		}
	}
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

func mapsEqual(a, b map[string]string) bool {
	return (a == nil) == (b == nil) && maps.Equal(a, b)
}

// TestWhoAmIRefusals: each refusal of a signed request is a 401 with its own
// code; a dependency failure is a 503.
func TestWhoAmIRefusals(t *testing.T) {
	cases := []struct {
		err        error
		wantStatus int
		wantCode   string
	}{
		{fmt.Errorf("x: %w", accesskey.ErrMissingSignature), 401, "MissingSignature"},
		{fmt.Errorf("x: %w", accesskey.ErrInvalidSignature), 401, "InvalidSignature"},
		{fmt.Errorf("x: %w", accesskey.ErrUnknownKey), 401, "UnknownKey"},
		{fmt.Errorf("x: %w", accesskey.ErrKeyDisabled), 401, "KeyDisabled"},
		{fmt.Errorf("x: %w", accesskey.ErrRequestExpired), 401, "RequestExpired"},
		{fmt.Errorf("x: %w", accesskey.ErrUnavailable), 503, "ServiceUnavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.wantCode, func(t *testing.T) {
			h := newHarness(t)
			h.verifier.err = tc.err
			for _, method := range []string{"GET", "POST"} {
				resp, err := h.invoke(context.Background(), events.APIGatewayV2HTTPRequest{
					Version: "2.0", RawPath: "/v1/whoami",
					RequestContext: events.APIGatewayV2HTTPRequestContext{RequestID: "rid-1", DomainName: "api.example.com",
						HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: "/v1/whoami"}},
				})
				if err != nil || resp.StatusCode != tc.wantStatus || !strings.Contains(resp.Body, `"code":"`+tc.wantCode+`"`) {
					t.Fatalf("%s: %d %s (%v)", method, resp.StatusCode, resp.Body, err)
				}
			}
		})
	}
}

// TestWithPublicMessage: a known error with words of its own keeps the
// table's status and code; an unknown one stays a generic 500.
func TestWithPublicMessage(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
	}{
		{"forbidden, in the caller's words", httpapi.WithPublicMessage(accesskey.ErrForbidden, "Sign in from this machine."), 403, "Forbidden", "Sign in from this machine."},
		{"wrapped", fmt.Errorf("console: %w", httpapi.WithPublicMessage(httpapi.ErrRouteNotFound, "No such page.")), 404, "NotFound", "No such page."},
		{"not in the table: still internal", httpapi.WithPublicMessage(errors.New("db: detail"), "leak me"), 500, "InternalError", "Internal error. Quote the request id if you report it."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			httpapi.WriteError(w, slog.New(slog.DiscardHandler), "req-1", tt.err)
			var body httpapi.ErrorBody
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if w.Code != tt.status || body.Error.Code != tt.code || body.Error.Message != tt.message || body.Error.RequestID != "req-1" {
				t.Errorf("%d %+v", w.Code, body.Error)
			}
		})
	}
}
