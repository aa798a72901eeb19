package teamkeys_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/teamkeys/teamkeys/internal/testing/lambdarie"
)

// secrets-rotation/template.yaml (issue 21, part 4) deploys the Secrets
// Manager rotation function on its own, next to the secret: its IAM is that
// one secret, and a customer managed key only through Secrets Manager.

const rotationTemplate = "secrets-rotation/template.yaml"

func loadRotationTemplate(t *testing.T) map[string]any {
	t.Helper()
	src, err := os.ReadFile(rotationTemplate)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := intrinsics.ProcessYAML(src, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func jsonEq(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestRotationTemplateLeastPrivilege(t *testing.T) {
	doc := loadRotationTemplate(t)
	resources := section(doc, "Resources")
	var functions []string
	for name, r := range resources {
		switch r["Type"] {
		case "AWS::Serverless::Function", "AWS::Lambda::Function":
			functions = append(functions, name)
		case "AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			t.Errorf("%s: an IAM resource of its own; the function's Policies are the whole grant", name)
		}
	}
	if !slices.Equal(functions, []string{"SecretsRotation"}) {
		t.Fatalf("functions %v, want [SecretsRotation]", functions)
	}
	fn := resources["SecretsRotation"]
	props, _ := fn["Properties"].(map[string]any)
	meta, _ := fn["Metadata"].(map[string]any)

	t.Run("built by its make target", func(t *testing.T) {
		if meta["BuildMethod"] != "makefile" || props["CodeUri"] != ".." {
			t.Fatalf("want BuildMethod makefile and CodeUri '..' (the root Makefile), got %v and %v", meta["BuildMethod"], props["CodeUri"])
		}
		out, err := exec.Command("make", "-n", "build-SecretsRotation", "ARTIFACTS_DIR=/tmp/x").CombinedOutput()
		if err != nil {
			t.Fatalf("make -n build-SecretsRotation: %v\n%s", err, out)
		}
		for _, want := range []string{"CGO_ENABLED=0", "-tags lambda.norpc", "-trimpath", "GOARCH=arm64", "/tmp/x/bootstrap", "./functions/secretsrotation"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("build-SecretsRotation lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("the emulator's timeout is the template's", func(t *testing.T) {
		if got, _ := props["Timeout"].(float64); int(got) != lambdarie.Timeout("SecretsRotation") {
			t.Errorf("Timeout %v, the Lambda emulator's %d", props["Timeout"], lambdarie.Timeout("SecretsRotation"))
		}
	})

	t.Run("statements", func(t *testing.T) {
		policies, _ := props["Policies"].([]any)
		if len(policies) != 1 {
			t.Fatalf("Policies %v: want one inline Statement list (no SAM policy template, no managed policy)", policies)
		}
		p, _ := policies[0].(map[string]any)
		stmts, _ := p["Statement"].([]any)
		if len(p) != 1 || len(stmts) != 2 {
			t.Fatalf("policy %v: want {Statement: [secrets, kms]}", p)
		}
		secrets, _ := stmts[0].(map[string]any)
		wantActions := []any{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecretVersionStage"}
		if secrets["Effect"] != "Allow" || !reflect.DeepEqual(secrets["Action"], wantActions) ||
			!jsonEq(secrets["Resource"], map[string]any{"Ref": "SecretArn"}) || secrets["Condition"] != nil || len(secrets) != 3 {
			t.Errorf("secrets statement %v: want exactly %v on Ref SecretArn", secrets, wantActions)
		}
		// The KMS statement exists only with a key, and only via Secrets
		// Manager for this secret.
		cond, _ := stmts[1].(map[string]any)
		branches, _ := cond["Fn::If"].([]any)
		if len(branches) != 3 || branches[0] != "HasKmsKey" || !jsonEq(branches[2], map[string]any{"Ref": "AWS::NoValue"}) {
			t.Fatalf("KMS statement %v: want Fn::If [HasKmsKey, statement, AWS::NoValue]", cond)
		}
		kms, _ := branches[1].(map[string]any)
		want := map[string]any{
			"Effect":   "Allow",
			"Action":   []any{"kms:Decrypt", "kms:GenerateDataKey"},
			"Resource": map[string]any{"Ref": "SecretKmsKeyArn"},
			"Condition": map[string]any{"StringEquals": map[string]any{
				"kms:ViaService":                  map[string]any{"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"},
				"kms:EncryptionContext:SecretARN": map[string]any{"Ref": "SecretArn"},
			}},
		}
		if !jsonEq(kms, want) {
			got, _ := json.Marshal(kms)
			t.Errorf("KMS statement %s: want Decrypt and GenerateDataKey on the key, via Secrets Manager, for the secret", got)
		}
		hasKey := section(doc, "Conditions")["HasKmsKey"]
		if !jsonEq(hasKey, map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "SecretKmsKeyArn"}, ""}}}}) {
			t.Errorf("HasKmsKey %v: want SecretKmsKeyArn not empty", hasKey)
		}
	})

	t.Run("only Secrets Manager invokes it, for this secret", func(t *testing.T) {
		var perms []map[string]any
		for _, r := range resources {
			if r["Type"] == "AWS::Lambda::Permission" {
				perms = append(perms, r["Properties"].(map[string]any))
			}
		}
		want := map[string]any{
			"Action": "lambda:InvokeFunction", "FunctionName": map[string]any{"Fn::GetAtt": "SecretsRotation.Arn"},
			"Principal": "secretsmanager.amazonaws.com", "SourceAccount": map[string]any{"Ref": "AWS::AccountId"},
			"SourceArn": map[string]any{"Ref": "SecretArn"},
		}
		if len(perms) != 1 || !jsonEq(perms[0], want) {
			t.Errorf("permissions %v: want one, %v", perms, want)
		}
		if ev := props["Events"]; ev != nil {
			t.Errorf("Events %v: Secrets Manager is the only caller", ev)
		}
	})

	t.Run("a log group with retention", func(t *testing.T) {
		var ok bool
		for _, r := range resources {
			p, _ := r["Properties"].(map[string]any)
			if r["Type"] == "AWS::Logs::LogGroup" && jsonEq(p["LogGroupName"], map[string]any{"Fn::Sub": "/aws/lambda/${SecretsRotation}"}) && p["RetentionInDays"] != nil {
				ok = true
			}
		}
		if !ok {
			t.Error("no log group /aws/lambda/${SecretsRotation} with RetentionInDays")
		}
	})

	t.Run("the secret's ARN is complete", func(t *testing.T) {
		// A partial ARN (no suffix) or a wildcard would grant other
		// secrets of the same name prefix.
		p := section(doc, "Parameters")["SecretArn"]
		pattern, _ := p["AllowedPattern"].(string)
		re, err := regexp.Compile(pattern)
		if err != nil {
			t.Fatalf("SecretArn AllowedPattern %q: %v", pattern, err)
		}
		const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:teamkeys/ci"
		for v, want := range map[string]bool{arn + "-AbC123": true, arn: false, arn + "-*": false, arn + "*": false, "*": false} {
			if re.MatchString(v) != want {
				t.Errorf("SecretArn AllowedPattern %q admits %q: %v, want %v", pattern, v, !want, want)
			}
		}
	})
}
