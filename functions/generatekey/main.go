// GenerateKey creates a member's access key: POST /v1/teams/{teamId}/members/{memberId}/access-keys.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/pkg/awsclient"
	"github.com/teamkeys/teamkeys/pkg/config"
	"github.com/teamkeys/teamkeys/pkg/dynamostore"
	"github.com/teamkeys/teamkeys/pkg/httpapi"
	"github.com/teamkeys/teamkeys/pkg/seal"
)

func main() {
	cfg := config.FromEnv()
	log := cfg.Logger()
	awsCfg, err := awsclient.Load(context.Background())
	if err != nil {
		log.Error("init: load AWS config", "error", err.Error())
		os.Exit(1)
	}
	h, err := httpapi.NewFunction(httpapi.FunctionGenerateKey, httpapi.Deps{
		Store:  dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table),
		Sealer: seal.New(kms.NewFromConfig(awsCfg), cfg.KMSKeyID),
		Claims: cfg.Claims,
		Log:    log,
	})
	if err != nil {
		log.Error("init", "error", err.Error())
		os.Exit(1)
	}
	log.Info("init", "function", httpapi.FunctionGenerateKey)
	lambda.Start(httpapi.LambdaHandler(h, log))
}
