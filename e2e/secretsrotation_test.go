package e2e

// The Secrets Manager rotation function (issue 21, part 4) against moto's
// Secrets Manager and the local teamkeys server: the four steps in
// Secrets Manager's order (driven by the test: moto runs no Lambda without
// Docker), each retried; a testSecret failure; a self-rotation refused by
// the team's policy; and its binary under the Lambda emulator.

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/secretsrotation"
	"github.com/teamkeys/teamkeys/internal/testing/lambdarie"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
	"github.com/teamkeys/teamkeys/internal/testing/smtest"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
	"github.com/teamkeys/teamkeys/pkg/client"
)

var rotationSteps = []string{secretsrotation.StepCreate, secretsrotation.StepSet, secretsrotation.StepTest, secretsrotation.StepFinish}

// whoAmIAs is a signed GET /v1/whoami with the key in value.
func whoAmIAs(t *testing.T, s *teststack.Stack, value string) (*client.WhoAmI, error) {
	t.Helper()
	v, err := secretsrotation.ParseValue(value)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(v.Endpoint, client.WithAccessKey(v.AccessKeyID, v.SecretAccessKey), client.WithSigningRegion(v.Region),
		client.WithHTTPClient(s.Client), client.WithRetryPolicy(client.RetryPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	return c.WhoAmIGet(context.Background())
}

func TestSecretsRotation(t *testing.T) {
	s := teststack.New(t, teststack.Options{})
	sm, _ := smtest.Start(t)
	region := s.Config.SigningRegion
	grace := 3600
	logs := &logbuf.Buffer{}
	r := &secretsrotation.Rotator{SM: sm, Connect: secretsrotation.ClientConnect(s.Client), GracePeriodSeconds: &grace,
		Log: slog.New(slog.NewJSONHandler(logs, nil))}
	valueOf := func(k teststack.CreatedKey) string {
		return smtest.String(k.AccessKeyID, k.SecretAccessKey, s.URL, region)
	}
	run := func(arn, token, step string) error {
		return r.Handle(context.Background(), secretsrotation.Event{SecretID: arn, ClientRequestToken: token, Step: step})
	}

	// testSecret and finishSecret need no self-rotation: a second key of
	// the same member, put as AWSPENDING, stands for createSecret's.
	t.Run("testSecret and finishSecret with the member's second key", func(t *testing.T) {
		k1, k2 := s.Generate("t1", "svc", ""), s.Generate("t1", "svc", "")
		arn := smtest.CreateSecret(t, sm, valueOf(k1))
		token := smtest.BeginRotation(t, sm, arn)
		smtest.PutPending(t, sm, arn, token, valueOf(k2))
		for _, step := range rotationSteps[1:] {
			for try := range 2 {
				if err := run(arn, token, step); err != nil {
					t.Fatalf("%s (try %d): %v", step, try+1, err)
				}
			}
		}
		if v := smtest.CurrentVersion(t, sm, arn); v != token {
			t.Fatalf("AWSCURRENT on %s, want %s", v, token)
		}
	})

	t.Run("a testSecret failure leaves AWSCURRENT untouched", func(t *testing.T) {
		mine, other := s.Generate("t1", "svc2", ""), s.Generate("t1", "someone-else", "")
		disabled := s.Generate("t1", "svc2", "")
		if resp := s.Do(request{Method: "POST", Path: teststack.KeysPath("t1", "svc2") + "/" + disabled.AccessKeyID + "/disable",
			Token: s.Token("admin", "t1", accesskey.RoleAdmin)}); resp.Status != http.StatusOK {
			t.Fatalf("disable: %v", resp)
		}
		for _, c := range []struct {
			name    string
			pending teststack.CreatedKey
			want    string
		}{
			{"another member's key", other, `member "someone-else"`},
			{"a disabled key", disabled, "401"},
		} {
			arn := smtest.CreateSecret(t, sm, valueOf(mine))
			before := smtest.CurrentVersion(t, sm, arn)
			token := smtest.BeginRotation(t, sm, arn)
			smtest.PutPending(t, sm, arn, token, valueOf(c.pending))
			err := run(arn, token, secretsrotation.StepTest)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: testSecret %v; want a failure containing %q", c.name, err, c.want)
			}
			if v := smtest.CurrentVersion(t, sm, arn); v != before {
				t.Errorf("%s: AWSCURRENT moved to %s", c.name, v)
			}
		}
	})

	// The self-rotation route (POST /v1/access-keys/self/rotate) comes from
	// another branch of issue 21: without it, createSecret can't run here.
	probe := s.Do(request{Method: "POST", Path: "/v1/access-keys/self/rotate", Body: "{}"})
	selfRotation := probe.Status != http.StatusNotFound

	t.Run("the four steps in order, each retried", func(t *testing.T) {
		if !selfRotation {
			t.Skip("POST /v1/access-keys/self/rotate answers 404: the self-rotation route is not in this build")
		}
		if resp := s.Do(request{Method: "PUT", Path: "/v1/teams/t2/key-policy", Token: s.Token("olga", "t2", accesskey.RoleOwner),
			Body: `{"maxLifetimeDays":null,"allowSelfRotation":true}`}); resp.Status != http.StatusOK {
			t.Fatalf("PUT key policy: %v", resp)
		}
		old := s.Generate("t2", "svc", "ci deploy key")
		arn := smtest.CreateSecret(t, sm, valueOf(old))
		token := smtest.BeginRotation(t, sm, arn)
		for _, step := range rotationSteps {
			for try := range 2 {
				if err := run(arn, token, step); err != nil {
					t.Fatalf("%s (try %d): %v", step, try+1, err)
				}
			}
		}
		if v := smtest.CurrentVersion(t, sm, arn); v != token {
			t.Fatalf("AWSCURRENT on %s, want %s", v, token)
		}
		keys := s.ListMember("t2", "svc").AccessKeys
		if len(keys) != 2 {
			t.Fatalf("the member has %d keys, want 2 (the old in its grace period, the new): a retried step made another", len(keys))
		}
		current, _ := smtest.Value(t, sm, arn, "AWSCURRENT")
		if w, err := whoAmIAs(t, s, current); err != nil || w.TeamId != "t2" || w.MemberId != "svc" || string(w.AccessKeyId) == old.AccessKeyID {
			t.Fatalf("whoami with the new key: %+v, %v", w, err)
		}
		previous, _ := smtest.Value(t, sm, arn, "AWSPREVIOUS")
		if w, err := whoAmIAs(t, s, previous); err != nil || string(w.AccessKeyId) != old.AccessKeyID {
			t.Fatalf("whoami with the old key in its grace period: %+v, %v", w, err)
		}
		newKey, _ := secretsrotation.ParseValue(current)
		if strings.Contains(logs.String(), old.SecretAccessKey) || strings.Contains(logs.String(), newKey.SecretAccessKey) {
			t.Fatal("a secret is in the rotation's log")
		}
	})

	t.Run("createSecret retried after the service rotated but the put was lost", func(t *testing.T) {
		if !selfRotation {
			t.Skip("POST /v1/access-keys/self/rotate answers 404: the self-rotation route is not in this build")
		}
		old := s.Generate("t2", "svc-lost", "")
		arn := smtest.CreateSecret(t, sm, valueOf(old))
		token := smtest.BeginRotation(t, sm, arn)
		// The first attempt's self-rotation, whose answer never reached
		// Secrets Manager.
		c, err := client.New(s.URL, client.WithAccessKey(old.AccessKeyID, old.SecretAccessKey), client.WithSigningRegion(region), client.WithHTTPClient(s.Client))
		if err != nil {
			t.Fatal(err)
		}
		first, err := c.RotateSelf(context.Background(), client.RotateSelfInput{GracePeriodSeconds: &grace, IdempotencyKey: token})
		if err != nil {
			t.Fatal(err)
		}
		if err := run(arn, token, secretsrotation.StepCreate); err != nil {
			t.Fatalf("createSecret retried: %v", err)
		}
		pending, _ := smtest.Value(t, sm, arn, "AWSPENDING")
		if v, _ := secretsrotation.ParseValue(pending); v.AccessKeyID != first.AccessKeyID || v.SecretAccessKey != first.SecretAccessKey {
			t.Fatalf("AWSPENDING holds %s, want the first attempt's key %s", v.AccessKeyID, first.AccessKeyID)
		}
		if n := len(s.ListMember("t2", "svc-lost").AccessKeys); n != 2 {
			t.Fatalf("the member has %d keys, want 2", n)
		}
	})

	t.Run("a self-rotation refused by the team's policy fails createSecret", func(t *testing.T) {
		if !selfRotation {
			t.Skip("POST /v1/access-keys/self/rotate answers 404: the self-rotation route is not in this build")
		}
		k := s.Generate("t3", "svc", "")
		arn := smtest.CreateSecret(t, sm, valueOf(k))
		token := smtest.BeginRotation(t, sm, arn)
		err := run(arn, token, secretsrotation.StepCreate)
		if !errors.Is(err, secretsrotation.ErrSelfRotationNotAllowed) || !strings.Contains(err.Error(), "allowSelfRotation: true") {
			t.Fatalf("createSecret: %v; want ErrSelfRotationNotAllowed", err)
		}
		if n := len(s.ListMember("t3", "svc").AccessKeys); n != 1 {
			t.Fatalf("the member has %d keys after a refusal, want 1", n)
		}
		if stages := smtest.Describe(t, sm, arn).VersionIdsToStages[token]; !slices.Equal(stages, []string{"AWSPENDING"}) {
			t.Fatalf("token stages %v after a refusal", stages)
		}
	})
}

// TestSecretsRotationUnderLambdaRIE runs the function's binary, built by
// its make target, under the Lambda emulator: testSecret against the local
// server (signed whoami with both keys) and finishSecret against moto.
func TestSecretsRotationUnderLambdaRIE(t *testing.T) {
	s := teststack.New(t, teststack.Options{})
	sm, smEndpoint := smtest.Start(t)
	bin := lambdarie.BuildAll(t, []lambdarie.Build{{Function: "SecretsRotation"}})["SecretsRotation"]
	fn := lambdarie.Start(t, lambdarie.Binary(t), "SecretsRotation", bin, s.Table.Name,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER="+smEndpoint, "TEAMKEYS_ROTATION_GRACE_SECONDS=3600")
	region := s.Config.SigningRegion
	k1, k2 := s.Generate("t1", "svc", ""), s.Generate("t1", "svc", "")
	arn := smtest.CreateSecret(t, sm, smtest.String(k1.AccessKeyID, k1.SecretAccessKey, s.URL, region))
	token := smtest.BeginRotation(t, sm, arn)
	smtest.PutPending(t, sm, arn, token, smtest.String(k2.AccessKeyID, k2.SecretAccessKey, s.URL, region))

	if out := fn.InvokeRaw(secretsrotation.Event{SecretID: arn, ClientRequestToken: smtest.Token(), Step: secretsrotation.StepTest}); !strings.Contains(string(out), "has no stage") {
		t.Fatalf("testSecret with an unstaged token answered %s; want a function error saying so", out)
	}
	for _, step := range []string{secretsrotation.StepTest, secretsrotation.StepFinish} {
		if out := fn.InvokeRaw(secretsrotation.Event{SecretID: arn, ClientRequestToken: token, Step: step}); string(out) != "null" {
			t.Fatalf("%s answered %s, want null", step, out)
		}
	}
	if v := smtest.CurrentVersion(t, sm, arn); v != token {
		t.Fatalf("AWSCURRENT on %s after finishSecret, want %s", v, token)
	}
	lines := fn.OutputLines(func(l []string) bool { return lambdarie.CountContaining(l, "moved AWSCURRENT") > 0 })
	for _, l := range lines {
		if strings.Contains(l, k1.SecretAccessKey) || strings.Contains(l, k2.SecretAccessKey) {
			t.Fatalf("a secret is in the function's log: %s", l)
		}
	}
}
