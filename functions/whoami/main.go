// WhoAmI verifies a request signed with an access key and names the key's
// owner: GET and POST /v1/whoami.
package main

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/pkg/dynamostore"
	"github.com/teamkeys/teamkeys/pkg/httpapi"
	"github.com/teamkeys/teamkeys/pkg/lambdamain"
	"github.com/teamkeys/teamkeys/pkg/seal"
	"github.com/teamkeys/teamkeys/pkg/verifier"
)

func main() {
	env := lambdamain.Init()
	store := dynamostore.New(dynamodb.NewFromConfig(env.AWS), env.Config.Table)
	sealer := seal.New(kms.NewFromConfig(env.AWS), env.Config.KMSKeyID)
	env.StartHTTP(httpapi.FunctionWhoAmI, httpapi.Deps{
		Verifier: verifier.New(store, sealer, store, verifier.Options{Signing: env.Config.Signing(), Log: env.Log}),
	})
}
