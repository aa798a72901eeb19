// Authorizer is an HTTP API Lambda authorizer (REQUEST, payload 2.0, simple
// responses) that admits requests SigV4-signed with an active access key.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/pkg/authorizer"
	"github.com/teamkeys/teamkeys/pkg/awsclient"
	"github.com/teamkeys/teamkeys/pkg/config"
	"github.com/teamkeys/teamkeys/pkg/dynamostore"
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
	v := verifier.New(store, sealer, store, verifier.Options{Signing: cfg.Signing(), Log: log})
	log.Info("init", "function", "Authorizer")
	lambda.Start(authorizer.Handler(v, log))
}
