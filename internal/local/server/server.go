// Package server wires the local API: the table created from template.yaml,
// the SDK clients, every Lambda function's handler built by its own
// constructor from the same dependencies its main gives it, and the local
// gateway in front of them (which refuses to start when a route's function
// is missing). The local server command, the end-to-end tests and the
// benches use it.
package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/local/gateway"
	"github.com/teamkeys/teamkeys/internal/local/jwtissuer"
	"github.com/teamkeys/teamkeys/internal/local/tabledef"
	"github.com/teamkeys/teamkeys/internal/pagetoken"
	"github.com/teamkeys/teamkeys/internal/seal"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

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
	store := dynamostore.New(db, cfg.Table)
	sealer := seal.New(kms.NewFromConfig(opts.AWS, opts.KMSOptions...), cfg.KMSKeyID)
	v := verifier.New(store, sealer, store, verifier.Options{Signing: signature.Config{Region: cfg.SigningRegion}, Log: log})
	common := httpapi.Common{Claims: cfg.Claims, Log: log}
	// Each function built by its own constructor, with what its main gives it.
	built := map[string]func() (http.Handler, error){
		httpapi.FunctionGenerateKey: func() (http.Handler, error) { return httpapi.NewGenerateKey(common, store, sealer) },
		httpapi.FunctionListKeys:    func() (http.Handler, error) { return httpapi.NewListKeys(common, store, pagetoken.New(pageKey)) },
		httpapi.FunctionDisableKey:  func() (http.Handler, error) { return httpapi.NewDisableKey(common, store) },
		httpapi.FunctionEnableKey:   func() (http.Handler, error) { return httpapi.NewEnableKey(common, store) },
		httpapi.FunctionDeleteKey:   func() (http.Handler, error) { return httpapi.NewDeleteKey(common, store) },
		httpapi.FunctionWhoAmI:      func() (http.Handler, error) { return httpapi.NewWhoAmI(common, v) },
	}
	functions := map[string]httpapi.LambdaHandlerFunc{}
	for name, build := range built {
		h, err := build()
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", name, err)
		}
		functions[name] = httpapi.LambdaHandler(h, log)
	}
	return gateway.New(httpapi.Routes, functions, issuer, log)
}
