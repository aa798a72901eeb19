// ListKeys lists keys: GET /v1/teams/{teamId}/members/{memberId}/access-keys
// and GET /v1/teams/{teamId}/access-keys.
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
	"github.com/teamkeys/teamkeys/pkg/pagetoken"
)

func main() {
	cfg := config.FromEnv()
	log := cfg.Logger()
	if len(cfg.PageTokenKey) < 32 {
		// Every instance must sign page tokens with the same key.
		log.Error("init: TEAMKEYS_PAGE_TOKEN_KEY must hold at least 32 characters")
		os.Exit(1)
	}
	awsCfg, err := awsclient.Load(context.Background())
	if err != nil {
		log.Error("init: load AWS config", "error", err.Error())
		os.Exit(1)
	}
	h, err := httpapi.NewFunction(httpapi.FunctionListKeys, httpapi.Deps{
		Store:      dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table),
		PageTokens: pagetoken.New([]byte(cfg.PageTokenKey)),
		Claims:     cfg.Claims,
		Log:        log,
	})
	if err != nil {
		log.Error("init", "error", err.Error())
		os.Exit(1)
	}
	log.Info("init", "function", httpapi.FunctionListKeys)
	lambda.Start(httpapi.LambdaHandler(h, log))
}
