// Package server wires the local API: the table created from template.yaml,
// the SDK clients, every Lambda function's handler built by its own
// constructor from the same dependencies its main gives it, and the local
// gateway in front of them (which refuses to start when a route's function
// is missing), beside the console page under /console/. The local server
// command, the end-to-end tests and the benches use it.
package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys"
	"github.com/teamkeys/teamkeys/internal/authorizer"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/local/console"
	"github.com/teamkeys/teamkeys/internal/local/eventbus"
	"github.com/teamkeys/teamkeys/internal/local/gateway"
	"github.com/teamkeys/teamkeys/internal/local/jwtissuer"
	"github.com/teamkeys/teamkeys/internal/local/publisher"
	"github.com/teamkeys/teamkeys/internal/local/tabledef"
	"github.com/teamkeys/teamkeys/internal/local/upstream"
	"github.com/teamkeys/teamkeys/internal/offboard"
	"github.com/teamkeys/teamkeys/internal/pagetoken"
	"github.com/teamkeys/teamkeys/internal/seal"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/sweep"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// Timeouts of the local server's HTTP server.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers (slow clients that
	// trickle headers).
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included, from the moment
	// the connection is read: a client that stalls its body is cut off.
	Read time.Duration
	// Write bounds the rest, from the end of the headers: reading the body,
	// running the function (up to gateway.FunctionTimeout) and writing the
	// response. It is longer than Read plus the function's timeout, so a
	// function that runs out its time still gets its answer (a 500) out.
	Write time.Duration
	// Idle bounds how long a kept-alive connection waits for its next request.
	Idle time.Duration
}

// DefaultTimeouts are the timeouts NewHTTPServer uses.
var DefaultTimeouts = Timeouts{
	ReadHeader: 5 * time.Second,
	Read:       30 * time.Second,
	Write:      30*time.Second + gateway.FunctionTimeout + 10*time.Second,
	Idle:       60 * time.Second,
}

// MaxHeaderBytes bounds a request's headers (API Gateway's own limit is
// about 10 KiB).
const MaxHeaderBytes = 64 << 10

// NewHTTPServer returns the *http.Server that serves handler (New's) on a
// laptop, with DefaultTimeouts and its errors logged to log (which may be
// nil).
func NewHTTPServer(handler http.Handler, log *slog.Logger) *http.Server {
	return newHTTPServer(handler, log, DefaultTimeouts)
}

func newHTTPServer(handler http.Handler, log *slog.Logger, t Timeouts) *http.Server {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: t.ReadHeader,
		ReadTimeout:       t.Read,
		WriteTimeout:      t.Write,
		IdleTimeout:       t.Idle,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
	if log != nil {
		srv.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	return srv
}

// Options configure the local server.
type Options struct {
	Config    config.Config
	AWS       aws.Config
	JWTSecret string
	Log       *slog.Logger
	// DynamoDBOptions and KMSOptions let tests add middleware (call
	// counting, fault injection) to the clients.
	DynamoDBOptions []func(*dynamodb.Options)
	KMSOptions      []func(*kms.Options)
	// SweepInterval, when positive, runs the expiry sweep that often until
	// ctx ends: the schedule's stand-in (TEAMKEYS_SWEEP_INTERVAL).
	SweepInterval time.Duration
	// MemberEventSource is the source of the TeamMemberRemoved events the
	// local stand-in for EventBridge delivers to the MemberRemoved handler
	// (template.yaml's MemberEventSource; TEAMKEYS_MEMBER_EVENT_SOURCE);
	// empty means config.DefaultMemberEventSource.
	MemberEventSource string
	// Events, when its Sink is set (and not "off"), publishes every new
	// audit record from the table's stream to that sink, as PublishEvents
	// publishes them to EventBridge (TEAMKEYS_EVENTS_SINK,
	// TEAMKEYS_EVENTS_CHECKPOINT), until ctx ends.
	Events publisher.Options
	// Background, if set, counts the goroutines New starts (the sweep,
	// the events publisher): Wait on it after ctx ends for a clean stop.
	Background *sync.WaitGroup
	// VerifierCacheSize is the entries of each of the verifier's caches;
	// 0 means the verifier's default (the soak shrinks them so that they
	// fill in its warm-up).
	VerifierCacheSize int
	// UpstreamURL, when set (TEAMKEYS_UPSTREAM_URL), is where requests
	// under /api/ go once the authorizer, with Config.RouteScopes, lets
	// them through (package upstream).
	UpstreamURL string
}

// New creates the table if it is missing and returns the local API.
func New(ctx context.Context, opts Options) (http.Handler, error) {
	cfg := opts.Config
	log := opts.Log
	if log == nil {
		log = cfg.Logger()
	}
	issuer, err := jwtissuer.New(opts.JWTSecret)
	if err != nil {
		return nil, err
	}
	// The Authorizer's route table, read as its main reads it: an invalid
	// one stops the server, naming the entry.
	routes, err := authorizer.Routes(cfg.RouteScopes)
	if err != nil {
		return nil, err
	}
	var upstreamURL *url.URL
	if opts.UpstreamURL != "" {
		if upstreamURL, err = upstream.ParseURL(opts.UpstreamURL); err != nil {
			return nil, err
		}
	}
	db := dynamodb.NewFromConfig(opts.AWS, opts.DynamoDBOptions...)
	input, err := tabledef.CreateTableInput(teamkeys.TemplateYAML, cfg.Table)
	if err != nil {
		return nil, err
	}
	if err := tabledef.EnsureTable(ctx, db, input); err != nil {
		return nil, err
	}
	pageKey := []byte(cfg.PageTokenKey)
	if len(pageKey) == 0 {
		// Tokens of this process only; fine for one local server.
		pageKey = make([]byte, 32)
		rand.Read(pageKey)
	}
	store := dynamostore.New(db, cfg.Table).WithAuditRetention(cfg.AuditRetentionDays)
	kmsClient := kms.NewFromConfig(opts.AWS, opts.KMSOptions...)
	sealer := seal.NewEnvelopeSealer(kmsClient, cfg.KMSKeyID, store)
	v := verifier.New(store, seal.NewEnvelopeOpener(kmsClient, cfg.KMSKeyID, store), store, verifier.Options{Signing: signature.Config{Region: cfg.SigningRegion}, Log: log, CacheSize: opts.VerifierCacheSize})
	common := httpapi.Common{Claims: cfg.Claims, Log: log}
	// Each function built by its own constructor, with what its main gives it.
	built := map[string]func() (httpapi.LambdaHandlerFunc, error){
		httpapi.FunctionGenerateKey: func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewGenerateKey(common, store, sealer) },
		httpapi.FunctionListKeys: func() (httpapi.LambdaHandlerFunc, error) {
			return httpapi.NewListKeys(common, store, pagetoken.New(pageKey))
		},
		httpapi.FunctionDisableKey: func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewDisableKey(common, store) },
		httpapi.FunctionEnableKey:  func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewEnableKey(common, store) },
		httpapi.FunctionUpdateKey:  func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewUpdateKey(common, store) },
		httpapi.FunctionDeleteKey:  func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewDeleteKey(common, store) },
		httpapi.FunctionWhoAmI:     func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewWhoAmI(common, v) },
		httpapi.FunctionKeyPolicy:  func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewKeyPolicy(common, store) },
		httpapi.FunctionRotateKey:  func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewRotateKey(common, store, sealer) },
		httpapi.FunctionOffboard:   func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewOffboardMember(common, store) },
		httpapi.FunctionLeakReport: func() (httpapi.LambdaHandlerFunc, error) {
			keys, err := leak.KeysFrom(cfg.GitHubKeysFile, cfg.GitHubKeysURL)
			if err != nil {
				return nil, err
			}
			return httpapi.NewLeakReport(common, store, keys)
		},
		httpapi.FunctionSelfRotateKey: func() (httpapi.LambdaHandlerFunc, error) {
			return httpapi.NewSelfRotateKey(common, v, store, sealer)
		},
	}
	background := opts.Background
	if background == nil {
		background = &sync.WaitGroup{}
	}
	if opts.SweepInterval > 0 {
		background.Go(func() { sweep.Every(ctx, opts.SweepInterval, store, time.Now, log) })
	}
	functions := map[string]httpapi.LambdaHandlerFunc{}
	for name, build := range built {
		h, err := build()
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", name, err)
		}
		functions[name] = h
	}
	api, err := gateway.New(httpapi.Routes, functions, issuer, log)
	if err != nil {
		return nil, err
	}
	page, err := console.New(console.Options{Tokens: issuer, Claims: cfg.Claims, SigningRegion: cfg.SigningRegion, Log: log})
	if err != nil {
		return nil, err
	}
	source := opts.MemberEventSource
	if source == "" {
		source = config.DefaultMemberEventSource
	}
	if !publisher.SinkOff(opts.Events.Sink) {
		reader, sink, err := publisher.New(ctx, opts.Events, opts.AWS, db, cfg.Table, log)
		if err != nil {
			return nil, err
		}
		background.Go(func() {
			defer sink.Close()
			if err := reader.Run(ctx); err != nil {
				log.Error("the events publisher stopped", "error", err.Error())
			}
		})
	}
	var proxy http.Handler
	if upstreamURL != nil {
		proxy = upstream.New(upstreamURL, authorizer.HandlerWithRoutes(v, routes, log), log)
	}
	removed, err := offboard.Handler(store, log, source)
	if err != nil {
		return nil, err
	}
	bus := eventbus.New(log, eventbus.Subscriber{Source: source, DetailType: offboard.DetailType,
		Handle: func(ctx context.Context, ev events.EventBridgeEvent) error { _, err := removed(ctx, ev); return err }})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An EventBridge client pointed at the local server (its PutEvents).
		if eventbus.IsPutEvents(r) {
			bus.ServeHTTP(w, r)
			return
		}
		// The API behind the authorizer (TEAMKEYS_UPSTREAM_URL).
		if proxy != nil && upstream.Serves(r.URL.Path) {
			proxy.ServeHTTP(w, r)
			return
		}
		// The console page, a client of the API like any other.
		if console.Serves(r.URL.Path) {
			page.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}), nil
}
