// SelfRotateKey rotates the access key that signs the request, when the
// team's key policy allows it: POST /v1/access-keys/self/rotate. It has
// the verifier's reads and Decrypt (WhoAmI's) and the rotation's writes
// (RotateKey's); RotateKey itself keeps no Decrypt of key secrets.
package main

import (
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/lambdamain"
	"github.com/teamkeys/teamkeys/internal/seal"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

func main() {
	env := lambdamain.Init()
	store := env.Store()
	kmsClient := kms.NewFromConfig(env.AWS)
	opener := seal.NewEnvelopeOpener(kmsClient, env.Config.KMSKeyID, store)
	v := verifier.New(store, opener, store, verifier.Options{Signing: signature.Config{Region: env.Config.SigningRegion}, Log: env.Log})
	sealer := seal.NewEnvelopeSealer(kmsClient, env.Config.KMSKeyID, store)
	env.Start(httpapi.NewSelfRotateKey(httpapi.Common{Claims: env.Config.Claims, Log: env.Log}, v, store, sealer))
}
