package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/seal"
	"github.com/teamkeys/teamkeys/internal/signature"
)

// TestSecretsSealedBeforeTheKeyPairsStillVerify: a key whose secret was
// sealed the way releases before the team key pairs sealed it (a bare KMS
// ciphertext under its three ids) still verifies, with one KMS Decrypt, and
// its rotation seals the new secret to the team's key pair.
func TestSecretsSealedBeforeTheKeyPairsStillVerify(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	key := s.Generate("t1", "alice", "")
	ref := accesskey.Ref{TeamID: "t1", MemberID: "alice", AccessKeyID: key.AccessKeyID}
	old, err := seal.New(s.KMS, "alias/teamkeys").Seal(ctx, ref, key.SecretAccessKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table.Name),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "KEY#" + key.AccessKeyID}, "sk": &types.AttributeValueMemberS{Value: "KEY"}},
		UpdateExpression:          aws.String("SET secretCiphertext = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberB{Value: old}},
	}); err != nil {
		t.Fatal(err)
	}
	s.Calls.Take()
	wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, time.Now())), key, signature.SchemeSigV4)
	if got := s.Calls.Take(); got["KMS.Decrypt"] != 1 || got["DynamoDB.GetItem"] != 1 {
		t.Fatalf("verifying an old secret made %v, want 1 GetItem and 1 Decrypt", got)
	}

	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	resp := s.Do(request{Method: "POST", Path: keysPath("t1", "alice") + "/" + key.AccessKeyID + "/rotate", Token: admin, Body: `{"gracePeriodSeconds":0}`})
	var rotated createdKey
	resp.Decode(t, &rotated)
	if resp.Status >= 300 || rotated.SecretAccessKey == "" {
		t.Fatalf("rotate: %s", resp)
	}
	ciphertext, _ := s.Item("KEY#"+rotated.AccessKeyID, "KEY")["secretCiphertext"].([]byte)
	if !seal.IsEnvelope(ciphertext) {
		t.Fatal("the rotated key's secret is not sealed to the team's key pair")
	}
	wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", rotated.AccessKeyID, rotated.SecretAccessKey, time.Now())), rotated, signature.SchemeSigV4)
}
