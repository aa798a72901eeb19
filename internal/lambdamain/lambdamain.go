// Package lambdamain is what every function's main does around its own
// wiring: read the settings, build the logger and the AWS configuration once
// per execution environment, and start the runtime. An init failure is
// logged and ends the process, as Lambda expects of a failed init; nothing
// here runs per request. It links no handler package, so each function links
// only the adapter it uses (httpapi or authorizer), and no KMS client: only
// the functions that seal or open secrets build one.
package lambdamain

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
)

// Env is what a function's main builds its clients from.
type Env struct {
	Config config.Config
	Log    *slog.Logger
	AWS    aws.Config
}

// Init reads the settings and the AWS configuration from the environment.
func Init() Env {
	cfg := config.FromEnv()
	env := Env{Config: cfg, Log: cfg.Logger()}
	// Libraries that write with the standard log package write JSON lines
	// through this logger too, their text escaped, never a raw line.
	slog.SetDefault(env.Log)
	var err error
	env.AWS, err = awsclient.Load(context.Background())
	env.Must("load AWS config", err)
	return env
}

// Store is the keys table's store, on a DynamoDB client of its own.
func (e Env) Store() *dynamostore.Store {
	return dynamostore.New(dynamodb.NewFromConfig(e.AWS), e.Config.Table).WithAuditRetention(e.Config.AuditRetentionDays).
		WithAuditIndexes(dynamostore.AuditIndexesNamed(e.Config.AuditIndexes))
}

// Must ends the init when err is not nil.
func (e Env) Must(what string, err error) {
	if err != nil {
		e.Log.Error("init failed: "+what, "error", err.Error())
		os.Exit(1)
	}
}

// Start runs the function's Lambda handler, or ends the init when the
// handler could not be built: env.Start(httpapi.NewDeleteKey(…)).
func (e Env) Start(handler any, err error) {
	e.Must("build the handler", err)
	e.Log.Info("init", "function", os.Getenv("AWS_LAMBDA_FUNCTION_NAME"))
	lambda.Start(handler)
}
