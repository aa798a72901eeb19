package tabledef_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/teamkeys/teamkeys"
	"github.com/teamkeys/teamkeys/internal/local/tabledef"
)

// TestAuditIndexesFollowTheParameter: the local table has the audit
// indexes the template's AuditIndexes default names, and the key
// attributes of those only (DynamoDB refuses a definition no index uses).
func TestAuditIndexesFollowTheParameter(t *testing.T) {
	for _, tc := range []struct {
		value       string
		wantIndexes []string
		wantAttrs   []string
	}{
		{"MemberAndKey", []string{"ByExpiry", "ByKeyAudit", "ByMemberAudit", "BySecretHash", "ByTeam"},
			[]string{"gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "gsi4pk", "gsi4sk", "pk", "secretSha256", "sk"}},
		{"Member", []string{"ByExpiry", "ByMemberAudit", "BySecretHash", "ByTeam"},
			[]string{"gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "gsi3pk", "gsi3sk", "pk", "secretSha256", "sk"}},
		{"None", []string{"ByExpiry", "BySecretHash", "ByTeam"},
			[]string{"gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "pk", "secretSha256", "sk"}},
	} {
		t.Run(tc.value, func(t *testing.T) {
			yaml := bytes.Replace(teamkeys.TemplateYAML, []byte("    Default: MemberAndKey\n"), []byte("    Default: "+tc.value+"\n"), 1)
			if tc.value != "MemberAndKey" && bytes.Equal(yaml, teamkeys.TemplateYAML) {
				t.Fatal("template.yaml has no AuditIndexes default to replace")
			}
			in, err := tabledef.CreateTableInput(yaml, "keys")
			if err != nil {
				t.Fatal(err)
			}
			var indexes, attrs []string
			for _, g := range in.GlobalSecondaryIndexes {
				indexes = append(indexes, aws.ToString(g.IndexName))
			}
			for _, a := range in.AttributeDefinitions {
				attrs = append(attrs, aws.ToString(a.AttributeName))
			}
			slices.Sort(indexes)
			slices.Sort(attrs)
			if !slices.Equal(indexes, tc.wantIndexes) || !slices.Equal(attrs, tc.wantAttrs) {
				t.Errorf("indexes %v, attributes %v; want %v, %v", indexes, attrs, tc.wantIndexes, tc.wantAttrs)
			}
		})
	}
}
