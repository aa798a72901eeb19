// Package smtest drives a Secrets Manager emulator (moto's server,
// internal/testing/motoserver) the way Secrets Manager drives a rotation:
// a secret, a rotation begun with a token staged AWSPENDING and no value,
// then the four steps in order, each called by the test.
package smtest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/testing/motoserver"
)

// Start starts moto's server for t and returns a client of its Secrets
// Manager, in the process's region (config.Region: under testenv.Main, the
// region the emulators and a function under aws-lambda-rie use).
func Start(t testing.TB) (sm *secretsmanager.Client, endpoint string) {
	endpoint = motoserver.Start(t)
	return secretsmanager.New(secretsmanager.Options{
		Region:       config.Region(),
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	}), endpoint
}

// Token is a fresh ClientRequestToken (a UUID, as Secrets Manager makes).
func Token() string { return (rand.Text() + rand.Text())[:36] }

// CreateSecret creates a secret named after the test holding value as its
// AWSCURRENT version; it returns the secret's ARN.
func CreateSecret(t testing.TB, sm *secretsmanager.Client, value string) string {
	t.Helper()
	out, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String("teamkeys-" + rand.Text()[:12]), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	return aws.ToString(out.ARN)
}

// BeginRotation leaves the secret as Secrets Manager leaves it before it
// invokes createSecret: rotation enabled and a version for a fresh token
// staged AWSPENDING without a value, AWSCURRENT untouched. It returns the
// token.
//
// moto can't invoke a rotation Lambda without Docker, and RotateSecret
// without a function moves AWSCURRENT at once. But its RotateSecret stages
// the pending version and enables rotation before it looks the function up:
// naming a function it doesn't have stops it right there, in exactly that
// state. The state is checked, so a moto that behaves otherwise fails here.
func BeginRotation(t testing.TB, sm *secretsmanager.Client, arn string) string {
	t.Helper()
	ctx := context.Background()
	token := Token()
	_, err := sm.RotateSecret(ctx, &secretsmanager.RotateSecretInput{
		SecretId: aws.String(arn), ClientRequestToken: aws.String(token),
		RotationLambdaARN: aws.String("arn:aws:lambda:" + sm.Options().Region + ":123456789012:function:not-in-moto"),
		RotationRules:     &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(30)},
	})
	var notFound *types.ResourceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("RotateSecret naming a function moto lacks: want ResourceNotFoundException, got %v", err)
	}
	d := Describe(t, sm, arn)
	if !aws.ToBool(d.RotationEnabled) || !slices.Equal(d.VersionIdsToStages[token], []string{"AWSPENDING"}) {
		t.Fatalf("after RotateSecret: rotation enabled %v, stages %v: want enabled and token %s AWSPENDING", aws.ToBool(d.RotationEnabled), d.VersionIdsToStages, token)
	}
	return token
}

// Describe is DescribeSecret.
func Describe(t testing.TB, sm *secretsmanager.Client, arn string) *secretsmanager.DescribeSecretOutput {
	t.Helper()
	d, err := sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatalf("DescribeSecret: %v", err)
	}
	return d
}

// Value is the SecretString of the version with stage (AWSCURRENT,
// AWSPENDING) and its version id.
func Value(t testing.TB, sm *secretsmanager.Client, arn, stage string) (value, versionID string) {
	t.Helper()
	out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String(stage)})
	if err != nil {
		t.Fatalf("GetSecretValue %s: %v", stage, err)
	}
	return aws.ToString(out.SecretString), aws.ToString(out.VersionId)
}

// CurrentVersion is the id of the AWSCURRENT version.
func CurrentVersion(t testing.TB, sm *secretsmanager.Client, arn string) string {
	t.Helper()
	for id, stages := range Describe(t, sm, arn).VersionIdsToStages {
		if slices.Contains(stages, "AWSCURRENT") {
			return id
		}
	}
	t.Fatalf("secret %s has no AWSCURRENT version", arn)
	return ""
}

// PutPending stores value as the AWSPENDING version of a rotation's
// token, as createSecret does.
func PutPending(t testing.TB, sm *secretsmanager.Client, arn, token, value string) {
	t.Helper()
	if _, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn),
		ClientRequestToken: aws.String(token), SecretString: aws.String(value), VersionStages: []string{"AWSPENDING"}}); err != nil {
		t.Fatalf("PutSecretValue AWSPENDING: %v", err)
	}
}

// String formats a secret value.
func String(accessKeyID, secret, endpoint, region string) string {
	return fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":%q,"endpoint":%q,"region":%q}`, accessKeyID, secret, endpoint, region)
}
