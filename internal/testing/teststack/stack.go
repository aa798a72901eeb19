// Package teststack is the local API that the end-to-end tests, the fault
// tests and the benchmarks run against: every function's handler behind the
// local gateway (internal/local/server) on a fresh table of DynamoDB Local,
// sealing with local-kms, served by an httptest server, its SDK calls
// counted and its log kept. It also mints the bearer tokens that server
// accepts, sends requests and reads the table's raw items.
//
// A test calls New, which stops the stack when the test ends and fails the
// test on any error. A program (a benchmark) calls Start, which returns
// errors, and Close. The helpers that fail a test (Token, NewRequest, Do,
// Send, Generate, ListMember, Item, RawItem) are for a Stack made by New;
// a program uses Mint, Try, CreateKey and Check.
package teststack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
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

// jwtSecret keys the bearer tokens of every stack: a test secret, public.
const jwtSecret = "teststack-local-secret"

// Options configure a Stack. The zero value is a stack on a fresh table
// named after the test, logging at INFO into Stack.Logs.
type Options struct {
	// Table is the table's name (created if missing); default a fresh
	// TableName of the test's name. Two stacks on one table share its items.
	Table string
	// Log is the server's logger; default JSON lines into Stack.Logs, at
	// LogLevel.
	Log      *slog.Logger
	LogLevel slog.Level
	// Client sends the requests of Do, Send and Try; default the test
	// server's own client.
	Client *http.Client
	// Wrap, if set, wraps the local API's handler (to time it, say).
	Wrap func(http.Handler) http.Handler
	// Server, if set, changes the server's options last (another KMS key,
	// an SDK client option).
	Server func(*server.Options)
	// Listen, if set, is the address the server listens on ("[::1]:0" for
	// requests from an IPv6 peer); default httptest's 127.0.0.1.
	Listen string
	// Emulators starts DynamoDB Local and local-kms for this stack alone and
	// exports their endpoints to the process; Close stops them. For
	// programs: a test binary starts them once, in TestMain, with
	// testenv.Main.
	Emulators bool
}

// Stack is one local API on its own table.
type Stack struct {
	*Table           // the table the server writes
	URL       string // the server's base URL
	Config    config.Config
	AWS       aws.Config
	KMS       *kms.Client
	Calls     *sdkcalls.Counter // the server's SDK calls, table creation excluded
	Logs      *logbuf.Buffer    // the server's log, unless Options.Log is set
	Client    *http.Client
	JWTSecret string // the secret of the server's bearer tokens

	issuer *jwtissuer.Issuer
	srv    *httptest.Server
	env    *emulators.Env
	// stop ends the server's background work (an events publisher), which
	// background counts; Close waits for it.
	stop       context.CancelFunc
	background sync.WaitGroup
}

// New starts a Stack for a test (see Start), stops it when the test ends,
// and fails the test if it does not start.
func New(t testing.TB, opts Options) *Stack {
	t.Helper()
	if opts.Table == "" {
		opts.Table = TableName(t.Name())
	}
	s, err := Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start the local API: %v", err)
	}
	s.Table.t = t
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stop the local API: %v", err)
		}
	})
	return s
}

// Start starts the local API on the emulators that the environment names
// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS), or on its own with
// Options.Emulators, creating the table if it is missing. The caller must
// Close it.
func Start(ctx context.Context, opts Options) (_ *Stack, err error) {
	s := &Stack{Table: &Table{}, Calls: sdkcalls.New(), Logs: &logbuf.Buffer{}}
	// The server's background work lives until Close, not as long as the
	// caller's ctx.
	serverCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	if opts.Emulators {
		if s.env, err = emulators.Start(ctx, emulators.Options{}); err != nil {
			return nil, err
		}
		s.env.Export()
	}
	if s.AWS, err = awsclient.LoadLocal(ctx); err != nil {
		return nil, err
	}
	cfg := config.FromEnv()
	cfg.Table = opts.Table
	if cfg.Table == "" {
		cfg.Table = TableName("local")
	}
	cfg.KMSKeyID = config.DefaultKMSKeyID
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewJSONHandler(s.Logs, &slog.HandlerOptions{Level: opts.LogLevel}))
	}
	options := server.Options{
		Config:          cfg,
		AWS:             s.AWS,
		JWTSecret:       jwtSecret,
		Log:             log,
		DynamoDBOptions: []func(*dynamodb.Options){func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, s.Calls.APIOption("DynamoDB")) }},
		KMSOptions:      []func(*kms.Options){func(o *kms.Options) { o.APIOptions = append(o.APIOptions, s.Calls.APIOption("KMS")) }},
		Background:      &s.background,
	}
	if opts.Server != nil {
		opts.Server(&options)
	}
	if s.issuer, err = jwtissuer.New(options.JWTSecret); err != nil {
		return nil, err
	}
	templateMu.Lock() // server.New parses template.yaml for the table
	handler, err := server.New(serverCtx, options)
	templateMu.Unlock()
	if err != nil {
		return nil, err
	}
	if opts.Wrap != nil {
		handler = opts.Wrap(handler)
	}
	s.srv = httptest.NewUnstartedServer(handler)
	if opts.Listen != "" {
		l, err := net.Listen("tcp", opts.Listen)
		if err != nil {
			return nil, err
		}
		s.srv.Listener.Close()
		s.srv.Listener = l
	}
	s.srv.Start()
	s.URL = s.srv.URL
	s.Client = opts.Client
	if s.Client == nil {
		s.Client = s.srv.Client()
	}
	s.Config = options.Config
	s.JWTSecret = options.JWTSecret
	s.Table.Name = options.Config.Table
	s.DB = dynamodb.NewFromConfig(s.AWS)
	s.KMS = kms.NewFromConfig(s.AWS)
	s.Calls.Take() // table creation is not a request's work
	return s, nil
}

// Close stops the server, and the emulators if it started them.
func (s *Stack) Close() error {
	if s.srv != nil {
		s.srv.Close()
	}
	s.stop()
	s.background.Wait()
	if s.env != nil {
		return s.env.Stop()
	}
	return nil
}

// Mint returns a bearer token the server accepts, valid for an hour, for
// sub in team with role.
func (s *Stack) Mint(sub, team string, role accesskey.Role) (string, error) {
	return s.issuer.Mint(accesskey.Caller{Subject: sub, TeamID: team, Role: role}, s.Config.Claims, time.Hour)
}

// Token is Mint for a test.
func (s *Stack) Token(sub, team string, role accesskey.Role) string {
	s.helper()
	tok, err := s.Mint(sub, team, role)
	if err != nil {
		s.fatalf("mint a token: %v", err)
	}
	return tok
}

// fatalf fails the test of a Stack or Table made for one; anywhere else it
// panics (a program called a test helper).
func (tb *Table) fatalf(format string, args ...any) {
	if tb.t == nil {
		panic(fmt.Sprintf("teststack: "+format+" (a test helper used outside a test)", args...))
	}
	tb.t.Helper()
	tb.t.Fatalf(format, args...)
}

func (tb *Table) helper() {
	if tb.t != nil {
		tb.t.Helper()
	}
}
