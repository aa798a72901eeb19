// DisableKey disables a key (idempotent): POST /v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/disable.
package main

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/pkg/dynamostore"
	"github.com/teamkeys/teamkeys/pkg/httpapi"
	"github.com/teamkeys/teamkeys/pkg/lambdamain"
)

func main() {
	env := lambdamain.Init()
	env.StartHTTP(httpapi.FunctionDisableKey, httpapi.Deps{
		Store: dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.Config.Table),
	})
}
