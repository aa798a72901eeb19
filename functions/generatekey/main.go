// GenerateKey creates a member's access key: POST /v1/teams/{teamId}/members/{memberId}/access-keys.
package main

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/pkg/dynamostore"
	"github.com/teamkeys/teamkeys/pkg/httpapi"
	"github.com/teamkeys/teamkeys/pkg/lambdamain"
	"github.com/teamkeys/teamkeys/pkg/seal"
)

func main() {
	env := lambdamain.Init()
	env.StartHTTP(httpapi.FunctionGenerateKey, httpapi.Deps{
		Store:  dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.Config.Table),
		Sealer: seal.New(kms.NewFromConfig(env.AWS), env.Config.KMSKeyID),
	})
}
