// Authorizer is an HTTP API Lambda authorizer (REQUEST, payload 2.0, simple
// responses) that admits requests SigV4-signed with an active access key.
package main

import (
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/authorizer"
	"github.com/teamkeys/teamkeys/internal/awsclient"
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
	// The route table is read once: an invalid one stops the function here,
	// naming the entry.
	routes, err := authorizer.Routes(env.Config.RouteScopes)
	env.Must("read the route table", err)
	env.Start(authorizer.HandlerWithRoutes(v, routes, env.Log), nil)
}
