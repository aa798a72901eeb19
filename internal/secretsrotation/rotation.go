// Package secretsrotation is an AWS Secrets Manager rotation function for a
// secret that holds a teamkeys access key: {"accessKeyId",
// "secretAccessKey","endpoint","region"}. Secrets Manager calls it four
// times per rotation (createSecret, setSecret, testSecret, finishSecret);
// createSecret self-rotates the current key (POST
// /v1/access-keys/self/rotate, signed by that key) with the rotation's
// token as Idempotency-Key, so a retried step makes no second key; the old
// key keeps working through its grace period, then expires.
//
// Every step first checks the AWS rotation contract: rotation enabled on
// the secret, the token staged, the token's version not already AWSCURRENT
// (then the step does nothing) and AWSPENDING. Nothing here logs a secret.
package secretsrotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// The steps of a rotation, in Secrets Manager's order.
const (
	StepCreate = "createSecret"
	StepSet    = "setSecret"
	StepTest   = "testSecret"
	StepFinish = "finishSecret"
)

// The staging labels.
const (
	StageCurrent = "AWSCURRENT"
	StagePending = "AWSPENDING"
)

// Event is what Secrets Manager invokes a rotation function with.
type Event struct {
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
	Step               string `json:"Step"`
}

// Value is the secret's value: a teamkeys access key and the API it signs
// for.
type Value struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	// Endpoint is the API's base URL, e.g.
	// https://abc123.execute-api.eu-west-1.amazonaws.com.
	Endpoint string `json:"endpoint"`
	// Region is the SigV4 signing region (the service's
	// TEAMKEYS_SIGNING_REGION).
	Region string `json:"region"`
}

// ParseValue reads a secret's value, failing with a message that names
// every field missing or empty (and never quotes the value).
func ParseValue(s string) (Value, error) {
	var raw map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return Value{}, errors.New(`the secret's value is not a JSON object {"accessKeyId","secretAccessKey","endpoint","region"}`)
	}
	var v Value
	var missing []string
	for _, f := range []struct {
		name string
		dst  *string
	}{{"accessKeyId", &v.AccessKeyID}, {"secretAccessKey", &v.SecretAccessKey}, {"endpoint", &v.Endpoint}, {"region", &v.Region}} {
		str, ok := raw[f.name].(string)
		if !ok || strings.TrimSpace(str) == "" {
			missing = append(missing, f.name)
			continue
		}
		*f.dst = str
	}
	if len(missing) > 0 {
		return Value{}, fmt.Errorf("the secret's value lacks %s (a non-empty string each): it must be {\"accessKeyId\",\"secretAccessKey\",\"endpoint\",\"region\"}", strings.Join(missing, ", "))
	}
	return v, nil
}

func (v Value) marshal() (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// SecretsManager is the part of the Secrets Manager API the function
// calls; the IAM policy of its template allows exactly these four.
type SecretsManager interface {
	DescribeSecret(context.Context, *secretsmanager.DescribeSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(context.Context, *secretsmanager.PutSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	UpdateSecretVersionStage(context.Context, *secretsmanager.UpdateSecretVersionStageInput, ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

var _ SecretsManager = (*secretsmanager.Client)(nil)

// Identity is what GET /v1/whoami names.
type Identity struct {
	TeamID, MemberID, AccessKeyID string
}

// KeyService is the teamkeys API as one access key sees it.
type KeyService interface {
	// RotateSelf replaces the key with a new one (its access key id and
	// secret); a retry with the same idempotencyKey answers the same key.
	RotateSelf(ctx context.Context, idempotencyKey string, gracePeriodSeconds *int) (accessKeyID, secretAccessKey string, err error)
	// WhoAmI is a signed GET /v1/whoami.
	WhoAmI(ctx context.Context) (Identity, error)
}

// Connect gives the KeyService of the key in v.
type Connect func(v Value) (KeyService, error)

// Rotator runs the steps.
type Rotator struct {
	SM      SecretsManager
	Connect Connect
	// GracePeriodSeconds is the old key's grace period (nil: the
	// service's default). It must outlast the time the secret's readers
	// take to fetch AWSCURRENT again.
	GracePeriodSeconds *int
	Log                *slog.Logger
}

// ErrRotation marks a step that failed; the message says why.
var ErrRotation = errors.New("secrets rotation")

func fail(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrRotation}, args...)...)
}

// Handle runs one step of a rotation. A step that fails returns an error
// (Secrets Manager retries it, then marks the rotation failed); the secret
// is left as it was, AWSCURRENT untouched.
func (r *Rotator) Handle(ctx context.Context, ev Event) error {
	log := r.Log.With("step", ev.Step, "secretId", ev.SecretID, "clientRequestToken", ev.ClientRequestToken)
	err := r.handle(ctx, ev, log)
	if err != nil {
		log.Error("rotation step failed", "error", err.Error())
		return err
	}
	return nil
}

func (r *Rotator) handle(ctx context.Context, ev Event, log *slog.Logger) error {
	if ev.SecretID == "" || ev.ClientRequestToken == "" {
		return fail("the event lacks SecretId or ClientRequestToken")
	}
	switch ev.Step {
	case StepCreate, StepSet, StepTest, StepFinish:
	default:
		return fail("unknown step %q", ev.Step)
	}
	desc, err := r.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(ev.SecretID)})
	if err != nil {
		return fail("describe the secret: %w", err)
	}
	if !aws.ToBool(desc.RotationEnabled) {
		return fail("rotation is not enabled on secret %s", ev.SecretID)
	}
	stages, ok := desc.VersionIdsToStages[ev.ClientRequestToken]
	if !ok {
		return fail("secret version %s has no stage for rotation of secret %s", ev.ClientRequestToken, ev.SecretID)
	}
	if slices.Contains(stages, StageCurrent) {
		log.Info("the version is already AWSCURRENT: nothing to do")
		return nil
	}
	if !slices.Contains(stages, StagePending) {
		return fail("secret version %s is not set as AWSPENDING for rotation of secret %s", ev.ClientRequestToken, ev.SecretID)
	}
	switch ev.Step {
	case StepCreate:
		return r.create(ctx, ev, log)
	case StepSet:
		log.Info("nothing to set: the service already holds the new key")
		return nil
	case StepTest:
		return r.test(ctx, ev, log)
	default:
		return r.finish(ctx, ev, desc.VersionIdsToStages, log)
	}
}

// value reads one version of the secret.
func (r *Rotator) value(ctx context.Context, in *secretsmanager.GetSecretValueInput, what string) (Value, error) {
	out, err := r.SM.GetSecretValue(ctx, in)
	if err != nil {
		return Value{}, fail("read the %s version: %w", what, err)
	}
	if out.SecretString == nil {
		return Value{}, fail("the %s version has no SecretString", what)
	}
	v, err := ParseValue(*out.SecretString)
	if err != nil {
		return Value{}, fail("the %s version: %w", what, err)
	}
	return v, nil
}

func (r *Rotator) create(ctx context.Context, ev Event, log *slog.Logger) error {
	current, err := r.value(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ev.SecretID), VersionStage: aws.String(StageCurrent)}, "AWSCURRENT")
	if err != nil {
		return err
	}
	_, err = r.SM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ev.SecretID),
		VersionId: aws.String(ev.ClientRequestToken), VersionStage: aws.String(StagePending)})
	var notFound *types.ResourceNotFoundException
	switch {
	case err == nil:
		log.Info("the AWSPENDING version already holds a key: nothing to create")
		return nil
	case !errors.As(err, &notFound):
		return fail("read the AWSPENDING version: %w", err)
	}
	svc, err := r.Connect(current)
	if err != nil {
		return fail("the AWSCURRENT version: %w", err)
	}
	id, secret, err := svc.RotateSelf(ctx, ev.ClientRequestToken, r.GracePeriodSeconds)
	if err != nil {
		return fail("self-rotate the AWSCURRENT key %s: %w", current.AccessKeyID, err)
	}
	next := Value{AccessKeyID: id, SecretAccessKey: secret, Endpoint: current.Endpoint, Region: current.Region}
	s, err := next.marshal()
	if err != nil {
		return fail("encode the new value: %w", err)
	}
	if _, err := r.SM.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(ev.SecretID),
		ClientRequestToken: aws.String(ev.ClientRequestToken), SecretString: aws.String(s), VersionStages: []string{StagePending}}); err != nil {
		// A retry of the step rotates again with the same Idempotency-Key,
		// which answers this same new key: nothing is lost.
		return fail("store the new key %s as AWSPENDING: %w", id, err)
	}
	log.Info("created the AWSPENDING version", "oldAccessKeyId", current.AccessKeyID, "newAccessKeyId", id)
	return nil
}

func (r *Rotator) test(ctx context.Context, ev Event, log *slog.Logger) error {
	pending, err := r.value(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ev.SecretID),
		VersionId: aws.String(ev.ClientRequestToken), VersionStage: aws.String(StagePending)}, "AWSPENDING")
	if err != nil {
		return err
	}
	current, err := r.value(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ev.SecretID), VersionStage: aws.String(StageCurrent)}, "AWSCURRENT")
	if err != nil {
		return err
	}
	if pending.AccessKeyID == current.AccessKeyID {
		return fail("the AWSPENDING version holds the AWSCURRENT key %s: it was not rotated", current.AccessKeyID)
	}
	want, err := r.whoAmI(ctx, current, "AWSCURRENT")
	if err != nil {
		return err
	}
	got, err := r.whoAmI(ctx, pending, "AWSPENDING")
	if err != nil {
		return err
	}
	if got.AccessKeyID != pending.AccessKeyID || got.TeamID != want.TeamID || got.MemberID != want.MemberID {
		return fail("the AWSPENDING key %s signs as team %q member %q, the AWSCURRENT key %s as team %q member %q",
			pending.AccessKeyID, got.TeamID, got.MemberID, current.AccessKeyID, want.TeamID, want.MemberID)
	}
	log.Info("the AWSPENDING key works", "accessKeyId", pending.AccessKeyID, "teamId", got.TeamID, "memberId", got.MemberID)
	return nil
}

func (r *Rotator) whoAmI(ctx context.Context, v Value, what string) (Identity, error) {
	svc, err := r.Connect(v)
	if err != nil {
		return Identity{}, fail("the %s version: %w", what, err)
	}
	id, err := svc.WhoAmI(ctx)
	if err != nil {
		return Identity{}, fail("GET /v1/whoami signed by the %s key %s: %w", what, v.AccessKeyID, err)
	}
	return id, nil
}

func (r *Rotator) finish(ctx context.Context, ev Event, versions map[string][]string, log *slog.Logger) error {
	var current string
	for id, stages := range versions {
		if slices.Contains(stages, StageCurrent) {
			current = id
			break
		}
	}
	in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(ev.SecretID), VersionStage: aws.String(StageCurrent),
		MoveToVersionId: aws.String(ev.ClientRequestToken)}
	if current != "" {
		in.RemoveFromVersionId = aws.String(current)
	}
	if _, err := r.SM.UpdateSecretVersionStage(ctx, in); err != nil {
		return fail("move AWSCURRENT to version %s: %w", ev.ClientRequestToken, err)
	}
	log.Info("moved AWSCURRENT", "fromVersion", current, "toVersion", ev.ClientRequestToken)
	return nil
}
