// EnableKey enables a key again (idempotent): POST /v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/enable.
package main

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
)

func main() {
	env := lambdamain.Init()
	store := dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.Config.Table)
	handler, err := httpapi.NewEnableKey(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, store)
	env.Must("EnableKey", err)
	env.Start("EnableKey", httpapi.LambdaHandler(handler, env.Log))
}
