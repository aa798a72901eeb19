// WhoAmI verifies a request signed with an access key and names the key's
// owner: GET and POST /v1/whoami.
package main

import (
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
	"github.com/teamkeys/teamkeys/internal/seal"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

func main() {
	env := lambdamain.Init()
	// Verification fails fast: 2 attempts, at most 50 ms between them.
	env.AWS = awsclient.FailFast(env.AWS)
	store := env.Store()
	opener := seal.NewEnvelopeOpener(kms.NewFromConfig(env.AWS), env.Config.KMSKeyID, store)
	v := verifier.New(store, opener, store, verifier.Options{Signing: signature.Config{Region: env.Config.SigningRegion}, Log: env.Log})
	env.Start(httpapi.NewWhoAmI(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, v))
}
