package teststack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Request is a request to the local API.
type Request struct {
	Method string
	Path   string // from the server's root, with the query
	Token  string // a bearer token, if any
	Body   string
	// ContentType defaults to application/json when there is a body.
	ContentType string
	Header      map[string]string // set last
}

// Response is an answer read whole.
type Response struct {
	Status  int
	Header  http.Header
	Body    []byte
	Elapsed time.Duration // from sending the request to the end of the body
	// Err is why there is no answer, only from Try: a transport error or
	// the client's timeout.
	Err error
}

func (r Response) String() string {
	if r.Err != nil {
		return fmt.Sprintf("no answer after %v: %v", r.Elapsed.Round(time.Millisecond), r.Err)
	}
	return fmt.Sprintf("%d after %v: %s", r.Status, r.Elapsed.Round(time.Millisecond), r.Body)
}

// ErrorCode returns the code of an error-shaped body, failing the test if
// the body is not exactly that shape.
func (r Response) ErrorCode(t testing.TB) string {
	t.Helper()
	var body struct {
		Error *struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"requestId"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == nil {
		t.Fatalf("status %d: body is not the error shape: %s", r.Status, r.Body)
	}
	if body.Error.Code == "" || body.Error.Message == "" || body.Error.RequestID == "" {
		t.Fatalf("error body lacks a field: %s", r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q", ct)
	}
	return body.Error.Code
}

// Decode unmarshals the body into v, failing the test if it can't.
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("status %d: %v: %s", r.Status, err, r.Body)
	}
}

// NewRequest makes r a request to the server.
func (s *Stack) NewRequest(r Request) *http.Request {
	s.helper()
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	req, err := http.NewRequest(r.Method, s.URL+r.Path, body)
	if err != nil {
		s.fatalf("%v", err)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	} else if r.Body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Header {
		req.Header.Set(k, v)
	}
	return req
}

// Do sends r and fails the test if no answer comes.
func (s *Stack) Do(r Request) Response {
	s.helper()
	return s.Send(s.NewRequest(r))
}

// Send is Do for a request made elsewhere (signed, say).
func (s *Stack) Send(req *http.Request) Response {
	s.helper()
	r := s.Try(req)
	if r.Err != nil {
		s.fatalf("%s %s: %v", req.Method, req.URL.Path, r.Err)
	}
	return r
}

// Try sends req with Stack.Client; no answer is Response.Err, not a
// failure, for a test in which some requests may go unanswered.
func (s *Stack) Try(req *http.Request) Response {
	began := time.Now()
	resp, err := s.Client.Do(req)
	if err != nil {
		return Response{Err: err, Elapsed: time.Since(began)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: b, Err: err, Elapsed: time.Since(began)}
}

// Key is what every answer about a key shows of it. The tests spell the
// contract's fields here rather than reuse the server's types, so that a
// changed field fails them.
type Key struct {
	AccessKeyID string `json:"accessKeyId"`
	Status      string `json:"status"`
	TeamID      string `json:"teamId"`
	MemberID    string `json:"memberId"`
	Description string `json:"description"`
	CreatedAt   string `json:"createdAt"`
	CreatedBy   string `json:"createdBy"`
	// AllowedCidrs and Scopes as the answer wrote them: "null" for an
	// unrestricted key.
	AllowedCidrs JSONText `json:"allowedCidrs"`
	Scopes       JSONText `json:"scopes"`
}

// JSONText is a member's JSON as received ("null", `["10.0.0.0/8"]`),
// kept as text so that a Key stays comparable with ==.
type JSONText string

// UnmarshalJSON keeps the member's text.
func (j *JSONText) UnmarshalJSON(b []byte) error {
	*j = JSONText(b)
	return nil
}

// CreatedKey is the generate response, the only one with the secret.
type CreatedKey struct {
	Key
	SecretAccessKey string `json:"secretAccessKey"`
}

// ListedKey is a key as the lists, disable and enable show it.
type ListedKey struct {
	Key
	LastUsedAt *string `json:"lastUsedAt"`
}

// KeyList is a list response.
type KeyList struct {
	AccessKeys []ListedKey `json:"accessKeys"`
	NextToken  *string     `json:"nextToken"`
}

// KeysPath is the path of a member's keys.
func KeysPath(team, member string) string {
	return "/v1/teams/" + team + "/members/" + member + "/access-keys"
}

// CreateKey generates a key for member as the team's admin, with
// description if it is not empty.
func (s *Stack) CreateKey(ctx context.Context, team, member, description string) (CreatedKey, error) {
	token, err := s.Mint("admin", team, accesskey.RoleAdmin)
	if err != nil {
		return CreatedKey{}, err
	}
	var body io.Reader
	if description != "" {
		b, err := json.Marshal(map[string]string{"description": description})
		if err != nil {
			return CreatedKey{}, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+KeysPath(team, member), body)
	if err != nil {
		return CreatedKey{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	r := s.Try(req)
	if r.Err != nil {
		return CreatedKey{}, fmt.Errorf("generate %s/%s: %w", team, member, r.Err)
	}
	if r.Status != http.StatusCreated {
		return CreatedKey{}, fmt.Errorf("generate %s/%s: %d %s", team, member, r.Status, r.Body)
	}
	var k CreatedKey
	if err := json.Unmarshal(r.Body, &k); err != nil {
		return CreatedKey{}, fmt.Errorf("generate %s/%s: status %d: %v: %s", team, member, r.Status, err, r.Body)
	}
	return k, nil
}

// Generate is CreateKey for a test.
func (s *Stack) Generate(team, member, description string) CreatedKey {
	s.helper()
	k, err := s.CreateKey(context.Background(), team, member, description)
	if err != nil {
		s.fatalf("%v", err)
	}
	return k
}

// ListMember lists a member's keys as the team's admin, failing the test
// unless 200.
func (s *Stack) ListMember(team, member string) KeyList {
	s.helper()
	resp := s.Do(Request{Method: "GET", Path: KeysPath(team, member), Token: s.Token("admin", team, accesskey.RoleAdmin)})
	if resp.Status != http.StatusOK {
		s.fatalf("list %s/%s: %d %s", team, member, resp.Status, resp.Body)
	}
	var l KeyList
	resp.Decode(s.Table.t, &l)
	return l
}
