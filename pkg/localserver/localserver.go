// Package localserver wires the local API: the table created from
// template.yaml, the SDK clients, every Lambda function's handler built as
// its main builds it, and the local gateway in front of them. The local
// server command and the end-to-end tests both use it.
package localserver

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
	"github.com/teamkeys/teamkeys/pkg/auth"
	"github.com/teamkeys/teamkeys/pkg/config"
	"github.com/teamkeys/teamkeys/pkg/dynamostore"
	"github.com/teamkeys/teamkeys/pkg/httpapi"
	"github.com/teamkeys/teamkeys/pkg/localgateway"
	"github.com/teamkeys/teamkeys/pkg/pagetoken"
	"github.com/teamkeys/teamkeys/pkg/seal"
	"github.com/teamkeys/teamkeys/pkg/tabledef"
	"github.com/teamkeys/teamkeys/pkg/verifier"
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
	issuer, err := auth.NewLocalIssuer(opts.JWTSecret)
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
	deps := httpapi.Deps{
		Store:      store,
		Sealer:     sealer,
		PageTokens: pagetoken.New(pageKey),
		Verifier:   verifier.New(store, sealer, store, verifier.Options{Signing: cfg.Signing(), Log: log}),
		Claims:     cfg.Claims,
		Log:        log,
	}
	functions := map[string]httpapi.LambdaHandlerFunc{}
	for _, name := range httpapi.Functions() {
		h, err := httpapi.NewFunction(name, deps)
		if err != nil {
			return nil, fmt.Errorf("function %s: %w", name, err)
		}
		functions[name] = httpapi.LambdaHandler(h, log)
	}
	return localgateway.New(httpapi.Routes, functions, issuer, log)
}
