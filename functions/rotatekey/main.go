// RotateKey replaces a key with a new one, the old one kept for a grace
// period (or deleted at once): POST /v1/teams/{teamId}/members/{memberId}/access-keys/{accessKeyId}/rotate.
package main

import (
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
	"github.com/teamkeys/teamkeys/internal/seal"
)

func main() {
	env := lambdamain.Init()
	store := env.Store()
	sealer := seal.NewEnvelopeSealer(kms.NewFromConfig(env.AWS), env.Config.KMSKeyID, store)
	env.Start(httpapi.NewRotateKey(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, store, sealer))
}
