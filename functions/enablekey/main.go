// EnableKey enables a key again (idempotent): POST /v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/enable.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/pkg/awsclient"
	"github.com/teamkeys/teamkeys/pkg/config"
	"github.com/teamkeys/teamkeys/pkg/dynamostore"
	"github.com/teamkeys/teamkeys/pkg/httpapi"
)

func main() {
	cfg := config.FromEnv()
	log := cfg.Logger()
	awsCfg, err := awsclient.Load(context.Background())
	if err != nil {
		log.Error("init: load AWS config", "error", err.Error())
		os.Exit(1)
	}
	h, err := httpapi.NewFunction(httpapi.FunctionEnableKey, httpapi.Deps{
		Store:  dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table),
		Claims: cfg.Claims,
		Log:    log,
	})
	if err != nil {
		log.Error("init", "error", err.Error())
		os.Exit(1)
	}
	log.Info("init", "function", httpapi.FunctionEnableKey)
	lambda.Start(httpapi.LambdaHandler(h, log))
}
