// DisableKey disables a key (idempotent): POST /v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/disable.
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
	handler, err := httpapi.NewDisableKey(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, store)
	env.Must("DisableKey", err)
	env.Start("DisableKey", httpapi.LambdaHandler(handler, env.Log))
}
