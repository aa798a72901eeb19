// ListKeys lists keys: GET /v1/teams/{teamId}/members/{memberId}/access-keys
// and GET /v1/teams/{teamId}/access-keys.
package main

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/pkg/dynamostore"
	"github.com/teamkeys/teamkeys/pkg/httpapi"
	"github.com/teamkeys/teamkeys/pkg/lambdamain"
	"github.com/teamkeys/teamkeys/pkg/pagetoken"
)

func main() {
	env := lambdamain.Init()
	if len(env.Config.PageTokenKey) < 32 {
		// Every instance must sign page tokens with the same key.
		lambdamain.Must(env.Log, "settings", errors.New("TEAMKEYS_PAGE_TOKEN_KEY must hold at least 32 characters"))
	}
	env.StartHTTP(httpapi.FunctionListKeys, httpapi.Deps{
		Store:      dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.Config.Table),
		PageTokens: pagetoken.New([]byte(env.Config.PageTokenKey)),
	})
}
