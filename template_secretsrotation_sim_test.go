package teamkeys_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/testing/iamsim"
)

// TestRotationTemplateSimulated evaluates the rotation function's role, as
// SAM translates secrets-rotation/template.yaml, with AWS's policy logic
// (iamsim): its four calls on its secret, the KMS key only via Secrets
// Manager for that secret, and nothing else.
func TestRotationTemplateSimulated(t *testing.T) {
	const (
		account = "111122223333"
		secret  = "arn:aws:secretsmanager:" + simRegion + ":" + account + ":secret:teamkeys/ci-AbC123"
		cmk     = "arn:aws:kms:" + simRegion + ":" + account + ":key/0f0f0f0f-1111-2222-3333-444455556666"
		via     = "secretsmanager." + simRegion + ".amazonaws.com"
	)
	others := []string{
		"arn:aws:secretsmanager:" + simRegion + ":" + account + ":secret:teamkeys/ci-other-XyZ789",
		"arn:aws:secretsmanager:" + simRegion + ":" + account + ":secret:teamkeys/ci-AbC124",
	}
	tmpl := iamsim.TranslateFile(t, rotationTemplate)
	smActions := []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"}
	notGranted := []string{"secretsmanager:RotateSecret", "secretsmanager:DeleteSecret", "secretsmanager:PutResourcePolicy", "secretsmanager:UpdateSecret", "secretsmanager:CancelRotateSecret"}
	kmsCtx := func(viaService, secretARN string) map[string]any {
		ctx := map[string]any{"kms:EncryptionContext:SecretARN": secretARN, "kms:EncryptionContextKeys": []string{"SecretARN", "SecretVersionId"}}
		if viaService != "" {
			ctx["kms:ViaService"] = viaService
		}
		return ctx
	}

	for _, withKey := range []bool{true, false} {
		params := map[string]any{"SecretArn": secret}
		if withKey {
			params["SecretKmsKeyArn"] = cmk
		}
		st := iamsim.Stack{Account: account, Region: simRegion, Name: "teamkeys-rotation", Parameters: params, Template: tmpl}
		roleID := "SecretsRotationRole"
		roleArn, err := st.GetAtt(roleID, "Arn")
		if err != nil {
			t.Fatal(err)
		}
		managed, err := st.Property(roleID, "ManagedPolicyArns")
		if err != nil {
			t.Fatal(err)
		}
		if m := anyStrings(managed); !slices.Equal(m, []string{"arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}) {
			t.Errorf("managed policies %v: want AWSLambdaBasicExecutionRole only", m)
		}
		inline, err := st.Property(roleID, "Policies")
		if err != nil {
			t.Fatal(err)
		}
		// A key's default key policy: the account's IAM decides.
		batch := iamsim.Batch{Policies: map[string]any{"defaultKeyPolicy": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + account + ":root"}, "Action": "kms:*", "Resource": "*"}}}}}
		var identity []string
		for i, p := range inline.([]any) {
			name := fmt.Sprintf("inline-%d", i)
			batch.Policies[name] = p.(map[string]any)["PolicyDocument"]
			identity = append(identity, name)
		}
		type tc struct {
			what  string
			req   iamsim.Request
			allow bool
		}
		var cases []tc
		add := func(what, action, resource string, ctx map[string]any, allow bool) {
			req := iamsim.Request{Principal: roleArn, Action: action, Resource: resource, Account: account, Context: ctx, Identity: identity}
			if strings.HasPrefix(action, "kms:") {
				req.ResourcePolicy = "defaultKeyPolicy"
			}
			cases = append(cases, tc{what, req, allow})
		}
		for _, a := range smActions {
			add("its call on its secret", a, secret, nil, true)
			for _, o := range others {
				add("its call on another secret", a, o, nil, false)
			}
		}
		for _, a := range notGranted {
			add("a call it does not make", a, secret, nil, false)
		}
		add("listing secrets", "secretsmanager:ListSecrets", "*", nil, false)
		for _, a := range []string{"kms:Decrypt", "kms:GenerateDataKey"} {
			add("the secret's key via Secrets Manager for its secret", a, cmk, kmsCtx(via, secret), withKey)
			add("the secret's key directly", a, cmk, kmsCtx("", secret), false)
			add("the secret's key via Secrets Manager for another secret", a, cmk, kmsCtx(via, others[0]), false)
			add("the secret's key via another service", a, cmk, kmsCtx("s3."+simRegion+".amazonaws.com", secret), false)
		}
		add("encrypting with the key", "kms:Encrypt", cmk, kmsCtx(via, secret), false)
		batch.Requests = make([]iamsim.Request, len(cases))
		for i, c := range cases {
			batch.Requests[i] = c.req
		}
		for i, d := range iamsim.Run(t, batch) {
			c := cases[i]
			label := fmt.Sprintf("with a CMK %v, %s", withKey, c.what)
			switch {
			case d.Error != "":
				t.Errorf("%s: the simulator cannot evaluate %s: %s", label, c.req.Explain(), d.Error)
			case len(d.Ignored) > 0 && c.allow:
				t.Errorf("%s: the simulator ignores the context keys %v of %s", label, d.Ignored, c.req.Explain())
			case c.allow && d.Result != iamsim.Allowed:
				t.Errorf("%s: %s, want Allowed: %s", label, d.Result, c.req.Explain())
			case !c.allow && d.Result == iamsim.Allowed:
				t.Errorf("%s: Allowed, want denied: %s", label, c.req.Explain())
			}
		}
	}
}
