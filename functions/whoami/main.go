// WhoAmI verifies a request signed with an access key and names the key's
// owner: GET and POST /v1/whoami.
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
	"github.com/teamkeys/teamkeys/pkg/verifier"
)

func main() {
	cfg := config.FromEnv()
	log := cfg.Logger()
	awsCfg, err := awsclient.Load(context.Background())
	if err != nil {
		log.Error("init: load AWS config", "error", err.Error())
		os.Exit(1)
	}
	store := dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.Table)
	sealer := seal.New(kms.NewFromConfig(awsCfg), cfg.KMSKeyID)
	h, err := httpapi.NewFunction(httpapi.FunctionWhoAmI, httpapi.Deps{
		Verifier: verifier.New(store, sealer, store, verifier.Options{Signing: cfg.Signing(), Log: log}),
		Claims:   cfg.Claims,
		Log:      log,
	})
	if err != nil {
		log.Error("init", "error", err.Error())
		os.Exit(1)
	}
	log.Info("init", "function", httpapi.FunctionWhoAmI)
	lambda.Start(httpapi.LambdaHandler(h, log))
}
