// GenerateKey creates a member's access key: POST /v1/teams/{teamId}/members/{memberId}/access-keys.
package main

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
	"github.com/teamkeys/teamkeys/internal/seal"
)

func main() {
	env := lambdamain.Init()
	store := dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.Config.Table)
	sealer := seal.New(kms.NewFromConfig(env.AWS), env.Config.KMSKeyID)
	handler, err := httpapi.NewGenerateKey(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, store, sealer)
	env.Must("GenerateKey", err)
	env.Start("GenerateKey", httpapi.LambdaHandler(handler, env.Log))
}
