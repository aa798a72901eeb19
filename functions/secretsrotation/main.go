// SecretsRotation is the AWS Secrets Manager rotation function of a secret
// that holds a teamkeys access key (secrets-rotation/template.yaml deploys
// it on its own, in the account that holds the secret).
package main

import (
	"os"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/teamkeys/teamkeys/internal/lambdamain"
	"github.com/teamkeys/teamkeys/internal/secretsrotation"
)

func main() {
	env := lambdamain.Init()
	grace, err := secretsrotation.GracePeriodFromEnv(os.Getenv)
	env.Must("read the grace period", err)
	r := &secretsrotation.Rotator{SM: secretsmanager.NewFromConfig(env.AWS), Connect: secretsrotation.ClientConnect(nil),
		GracePeriodSeconds: grace, Log: env.Log}
	env.Start(r.Handle, nil)
}
