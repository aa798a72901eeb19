// Package e2e proves the HTTP contract end to end: the local gateway, every
// Lambda function's handler, the real DynamoDB Local and the real local-kms,
// all started by TestMain.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/local/emulators"
	"github.com/teamkeys/teamkeys/internal/local/jwtissuer"
	"github.com/teamkeys/teamkeys/internal/local/server"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
	"github.com/teamkeys/teamkeys/internal/testing/sdkcalls"
)

const jwtSecret = "e2e-test-secret"

func TestMain(m *testing.M) { os.Exit(emulators.ForTests(m)) }

// stack is one local server on its own table.
type stack struct {
	t      *testing.T
	url    string
	table  string
	db     *dynamodb.Client
	kms    *kms.Client
	calls  *sdkcalls.Counter
	logs   *logbuf.Buffer
	issuer *jwtissuer.Issuer
}

var tableSeq atomic.Int64

type stackOption func(*server.Options)

func newStack(t *testing.T, opts ...stackOption) *stack {
	t.Helper()
	ctx := context.Background()
	awsCfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.FromEnv()
	cfg.Table = fmt.Sprintf("e2e-%s-%d-%d", strings.ReplaceAll(t.Name(), "/", "-"), time.Now().UnixNano(), tableSeq.Add(1))
	if len(cfg.Table) > 255 {
		cfg.Table = cfg.Table[:255]
	}
	cfg.KMSKeyID = "alias/teamkeys"
	s := &stack{
		t:     t,
		table: cfg.Table,
		calls: sdkcalls.New(),
		logs:  &logbuf.Buffer{},
		db:    dynamodb.NewFromConfig(awsCfg),
		kms:   kms.NewFromConfig(awsCfg),
	}
	s.issuer, err = jwtissuer.New(jwtSecret)
	if err != nil {
		t.Fatal(err)
	}
	options := server.Options{
		Config:          cfg,
		AWS:             awsCfg,
		JWTSecret:       jwtSecret,
		Log:             slog.New(slog.NewJSONHandler(s.logs, nil)),
		DynamoDBOptions: []func(*dynamodb.Options){func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, s.calls.APIOption("DynamoDB")) }},
		KMSOptions:      []func(*kms.Options){func(o *kms.Options) { o.APIOptions = append(o.APIOptions, s.calls.APIOption("KMS")) }},
	}
	for _, o := range opts {
		o(&options)
	}
	handler, err := server.New(ctx, options)
	if err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	s.url = server.URL
	s.calls.Take() // table creation is not a request's work
	return s
}

func (s *stack) token(sub, team string, role accesskey.Role) string {
	s.t.Helper()
	tok, err := s.issuer.Mint(accesskey.Caller{Subject: sub, TeamID: team, Role: role}, config.DefaultClaimNames, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// response is an HTTP response read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errorCode returns the code of an error-shaped body, failing the test if
// the body is not exactly that shape.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	var body struct {
		Error *struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"requestId"`
		} `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || body.Error == nil {
		t.Fatalf("status %d: body is not the error shape: %s", r.status, r.body)
	}
	if body.Error.Code == "" || body.Error.Message == "" || body.Error.RequestID == "" {
		t.Fatalf("error body lacks a field: %s", r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("error Content-Type %q", ct)
	}
	return body.Error.Code
}

func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("status %d: %v: %s", r.status, err, r.body)
	}
}

type request struct {
	method      string
	path        string
	token       string
	body        string
	contentType string
	header      map[string]string
}

func (s *stack) do(req request) response {
	s.t.Helper()
	var body io.Reader
	if req.body != "" {
		body = strings.NewReader(req.body)
	}
	httpReq, err := http.NewRequest(req.method, s.url+req.path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if req.token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+req.token)
	}
	if req.contentType != "" {
		httpReq.Header.Set("Content-Type", req.contentType)
	} else if req.body != "" {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	for k, v := range req.header {
		httpReq.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(httpReq)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// createdKey is the generate response.
type createdKey struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	Status          string `json:"status"`
	TeamID          string `json:"teamId"`
	MemberID        string `json:"memberId"`
	Description     string `json:"description"`
	CreatedAt       string `json:"createdAt"`
	CreatedBy       string `json:"createdBy"`
}

type listedKey struct {
	AccessKeyID string  `json:"accessKeyId"`
	Status      string  `json:"status"`
	TeamID      string  `json:"teamId"`
	MemberID    string  `json:"memberId"`
	Description string  `json:"description"`
	CreatedAt   string  `json:"createdAt"`
	CreatedBy   string  `json:"createdBy"`
	LastUsedAt  *string `json:"lastUsedAt"`
}

type keyList struct {
	AccessKeys []listedKey `json:"accessKeys"`
	NextToken  *string     `json:"nextToken"`
}

func keysPath(team, member string) string {
	return "/v1/teams/" + team + "/members/" + member + "/access-keys"
}

// generate creates a key as the team's admin and fails the test unless 201.
func (s *stack) generate(team, member, description string) createdKey {
	s.t.Helper()
	body := ""
	if description != "" {
		b, _ := json.Marshal(map[string]string{"description": description})
		body = string(b)
	}
	resp := s.do(request{method: "POST", path: keysPath(team, member), token: s.token("admin", team, accesskey.RoleAdmin), body: body})
	if resp.status != http.StatusCreated {
		s.t.Fatalf("generate %s/%s: %d %s", team, member, resp.status, resp.body)
	}
	var k createdKey
	resp.decode(s.t, &k)
	return k
}

func (s *stack) listMember(team, member string) keyList {
	s.t.Helper()
	resp := s.do(request{method: "GET", path: keysPath(team, member), token: s.token("admin", team, accesskey.RoleAdmin)})
	if resp.status != http.StatusOK {
		s.t.Fatalf("list %s/%s: %d %s", team, member, resp.status, resp.body)
	}
	var l keyList
	resp.decode(s.t, &l)
	return l
}

// item reads a raw table item by key, strongly consistent.
func (s *stack) item(pk, sk string) map[string]any {
	s.t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	if out.Item == nil {
		return nil
	}
	var m map[string]any
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		s.t.Fatal(err)
	}
	return m
}
