// Package lambdamain is what every function's main does around its own
// wiring: read the settings, build the logger and the AWS configuration once
// per execution environment, and start the runtime. An init failure is
// logged and ends the process, as Lambda expects of a failed init; nothing
// here runs per request.
package lambdamain

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/teamkeys/teamkeys/pkg/awsclient"
	"github.com/teamkeys/teamkeys/pkg/config"
	"github.com/teamkeys/teamkeys/pkg/httpapi"
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
	log := cfg.Logger()
	awsCfg, err := awsclient.Load(context.Background())
	Must(log, "load AWS config", err)
	return Env{Config: cfg, Log: log, AWS: awsCfg}
}

// Must ends the init when err is not nil.
func Must(log *slog.Logger, what string, err error) {
	if err != nil {
		log.Error("init failed: "+what, "error", err.Error())
		os.Exit(1)
	}
}

// StartHTTP serves function's routes as an HTTP API Lambda function, with
// deps plus the settings' claim names and the logger.
func (e Env) StartHTTP(function string, deps httpapi.Deps) {
	deps.Claims = e.Config.Claims
	deps.Log = e.Log
	handler, err := httpapi.NewFunction(function, deps)
	Must(e.Log, function, err)
	e.Start(function, httpapi.LambdaHandler(handler, e.Log))
}

// Start runs any other Lambda handler.
func (e Env) Start(function string, handler any) {
	e.Log.Info("init", "function", function)
	lambda.Start(handler)
}
