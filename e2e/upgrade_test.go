package e2e

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/sweep"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// The items below are written exactly as the release before issue 18 wrote
// them (commit e7f2377, internal/dynamostore/items.go of that day): one
// POLICY#<team> item, audit records under the one AUDIT#<team> partition,
// expiring keys in the one EXPIRY partition of the ByExpiry index, and
// secrets sealed by a KMS Encrypt of their own under the key's encryption
// context. They are spelled out here, attribute by attribute, on purpose:
// this test must keep describing that release when the store moves on.
type legacyKey struct {
	id, team, member, secret string
	expiresAt                *time.Time
}

// seedLegacyKey writes a key item, its member's slot counter (+1) and its
// AccessKeyCreated record as that release did.
func seedLegacyKey(t *testing.T, s *stack, k legacyKey, createdAt time.Time) {
	t.Helper()
	ctx := context.Background()
	enc, err := s.KMS.Encrypt(ctx, &kms.EncryptInput{
		KeyId:     &s.Config.KMSKeyID,
		Plaintext: []byte(k.secret),
		EncryptionContext: map[string]string{
			"teamId": k.team, "memberId": k.member, "accessKeyId": k.id,
		},
	})
	if err != nil {
		t.Fatalf("seal %s the old way: %v", k.id, err)
	}
	created := createdAt.UTC().Format(time.RFC3339)
	item := map[string]any{
		"pk": "KEY#" + k.id, "sk": "KEY",
		"gsi1pk": "TEAM#" + k.team, "gsi1sk": "MEMBER#" + k.member + "#" + created + "#" + k.id,
		"accessKeyId": k.id, "teamId": k.team, "memberId": k.member, "status": "Active",
		"description": "made before the upgrade", "createdAt": created, "createdBy": "admin",
		"secretCiphertext": enc.CiphertextBlob, "secretSha256": accesskey.SecretSHA256(k.secret),
	}
	if k.expiresAt != nil {
		at := k.expiresAt.UTC().Format(time.RFC3339)
		item["expiresAt"], item["gsi2pk"], item["gsi2sk"] = at, "EXPIRY", at+"#"+k.id
	}
	putLegacy(t, s, item)
	if _, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.Name,
		Key:                       mustMarshal(t, map[string]any{"pk": "MEMBER#" + k.team + "#" + k.member, "sk": "COUNTER"}),
		UpdateExpression:          str("ADD keyCount :one SET teamId = :t, memberId = :m"),
		ExpressionAttributeValues: mustMarshal(t, map[string]any{":one": 1, ":t": k.team, ":m": k.member}),
	}); err != nil {
		t.Fatalf("slot counter of %s: %v", k.member, err)
	}
	seedLegacyRecord(t, s, k.team, k.member, k.id, "AccessKeyCreated", createdAt, map[string]any{"statusAfter": "Active"})
}

// seedLegacyRecord writes an audit record in its team's one partition.
func seedLegacyRecord(t *testing.T, s *stack, team, member, keyID, action string, at time.Time, extra map[string]any) string {
	t.Helper()
	id := accesskey.NewEventID()
	when := at.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	item := map[string]any{
		"pk": "AUDIT#" + team, "sk": when + "#" + id, "eventId": id, "time": when, "teamId": team,
		"action": action, "actorType": "user", "actorSub": "admin", "requestId": "before-upgrade",
		"ttl": at.Add(400 * 24 * time.Hour).Unix(),
	}
	if member != "" {
		item["memberId"] = member
	}
	if keyID != "" {
		item["accessKeyId"] = keyID
	}
	for k, v := range extra {
		item[k] = v
	}
	putLegacy(t, s, item)
	return id
}

func putLegacy(t *testing.T, s *stack, item map[string]any) {
	t.Helper()
	if _, err := s.DB.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: &s.Name, Item: mustMarshal(t, item)}); err != nil {
		t.Fatalf("put %v: %v", item["pk"], err)
	}
}

func mustMarshal(t *testing.T, v map[string]any) map[string]types.AttributeValue {
	t.Helper()
	av, err := attributevalue.MarshalMap(v)
	if err != nil {
		t.Fatal(err)
	}
	return av
}

func str(s string) *string { return &s }

// TestUpgradeFromTheReleaseBefore18: a table written by the release before
// the scale work keeps working under the new code, without a migration:
// its keys verify (secrets sealed the old way), its policy binds new keys,
// its audit records are listed (team, member and key), its expired keys
// are swept, its keys rotate (the new key sealed the new way), and the
// operator's check finds nothing wrong.
func TestUpgradeFromTheReleaseBefore18(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	team := "up"
	now := time.Now()
	past := now.Add(-time.Hour).Truncate(time.Second)

	alice := legacyKey{id: accesskey.NewAccessKeyID(), team: team, member: "alice", secret: accesskey.NewSecret()}
	bob := legacyKey{id: accesskey.NewAccessKeyID(), team: team, member: "bob", secret: accesskey.NewSecret(), expiresAt: &past}
	seedLegacyKey(t, s, alice, now.Add(-48*time.Hour))
	seedLegacyKey(t, s, bob, now.Add(-47*time.Hour))
	putLegacy(t, s, map[string]any{"pk": "POLICY#" + team, "sk": "POLICY", "teamId": team, "maxLifetimeDays": 30,
		"updatedAt": now.Add(-46 * time.Hour).UTC().Format(time.RFC3339), "updatedBy": "olga"})
	seedLegacyRecord(t, s, team, "", "", "KeyPolicyChanged", now.Add(-46*time.Hour), map[string]any{"maxLifetimeDays": 30})

	admin := s.Token("admin", team, accesskey.RoleAdmin)
	owner := s.Token("olga", team, accesskey.RoleOwner)

	// A key sealed the old way verifies.
	wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", alice.id, alice.secret, time.Now())),
		createdKey{Key: teststack.Key{AccessKeyID: alice.id, TeamID: team, MemberID: "alice"}}, signature.SchemeSigV4)

	// The old records are listed: the team's, a member's, a key's.
	all := auditEventIDs(t, s, admin, team, "")
	for _, want := range []string{"AccessKeyCreated:" + alice.id, "AccessKeyCreated:" + bob.id, "KeyPolicyChanged:"} {
		if !all[want] {
			t.Errorf("team's audit list lacks the old record %s: %v", want, all)
		}
	}
	if got := auditEventIDs(t, s, admin, team, "memberId=alice"); !got["AccessKeyCreated:"+alice.id] || got["AccessKeyCreated:"+bob.id] {
		t.Errorf("alice's history: %v", got)
	}
	if got := auditEventIDs(t, s, admin, team, "accessKeyId="+bob.id); !got["AccessKeyCreated:"+bob.id] || len(got) != 1 {
		t.Errorf("bob's key's history: %v", got)
	}

	// The old policy is the team's, and binds a new key.
	resp := s.Do(request{Method: "GET", Path: "/v1/teams/" + team + "/key-policy", Token: owner})
	if resp.Status != http.StatusOK || !strings.Contains(string(resp.Body), `"maxLifetimeDays":30`) {
		t.Fatalf("GET the old policy: %s", resp)
	}
	resp = s.Do(request{Method: "POST", Path: keysPath(team, "carol"), Token: admin,
		Body: fmt.Sprintf(`{"expiresAt":%q}`, now.Add(40*24*time.Hour).UTC().Format(time.RFC3339))})
	if resp.Status != http.StatusBadRequest {
		t.Fatalf("a key past the old policy's 30 days: %s, want 400", resp)
	}
	carol := s.Generate(team, "carol", "")
	var carolKey struct {
		ExpiresAt *time.Time `json:"expiresAt"`
	}
	s.Do(request{Method: "GET", Path: keysPath(team, "carol") + "/" + carol.AccessKeyID, Token: admin}).Decode(t, &carolKey)
	if carolKey.ExpiresAt == nil || carolKey.ExpiresAt.After(time.Now().Add(30*24*time.Hour+time.Minute)) {
		t.Fatalf("carol's key expires %v, want within the old policy's 30 days", carolKey.ExpiresAt)
	}

	// The policy changes under the new layout; keys follow the new one.
	resp = s.Do(request{Method: "PUT", Path: "/v1/teams/" + team + "/key-policy", Token: owner, Body: `{"maxLifetimeDays":null}`})
	if resp.Status != http.StatusOK {
		t.Fatalf("PUT policy over the old one: %s", resp)
	}
	dave := s.Generate(team, "dave", "")
	var daveKey struct {
		ExpiresAt *time.Time `json:"expiresAt"`
	}
	s.Do(request{Method: "GET", Path: keysPath(team, "dave") + "/" + dave.AccessKeyID, Token: admin}).Decode(t, &daveKey)
	if daveKey.ExpiresAt != nil {
		t.Fatalf("dave's key expires %v although the policy was lifted", daveKey.ExpiresAt)
	}

	// An expired key in the old expiry partition is swept, slot and all.
	store := dynamostore.New(s.DB, s.Name)
	if _, err := sweep.Run(ctx, store, time.Now(), slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	if it := s.RawItem("KEY#"+bob.id, "KEY"); it != nil {
		t.Fatalf("bob's expired key, indexed the old way, was not swept")
	}
	if c := s.Item("MEMBER#"+team+"#bob", "COUNTER")["keyCount"]; c != float64(0) {
		t.Fatalf("bob's slot counter %v after the sweep, want 0", c)
	}

	// A key sealed the old way rotates; the new key verifies.
	resp = s.Do(request{Method: "POST", Path: keysPath(team, "alice") + "/" + alice.id + "/rotate", Token: admin, Body: `{"gracePeriodSeconds":0}`})
	if resp.Status != http.StatusCreated && resp.Status != http.StatusOK {
		t.Fatalf("rotate the old key: %s", resp)
	}
	var rotated createdKey
	resp.Decode(t, &rotated)
	wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", rotated.AccessKeyID, rotated.SecretAccessKey, time.Now())), rotated, signature.SchemeSigV4)

	// The operator's check finds the upgraded table sound.
	report, err := s.Check(ctx)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if !report.OK() {
		t.Fatalf("check after the upgrade: %s", report)
	}
}

// auditEventIDs lists every audit record of team (all pages) as
// "action:accessKeyId".
func auditEventIDs(t *testing.T, s *stack, token, team, query string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	path := "/v1/teams/" + team + "/audit-events?limit=100"
	if query != "" {
		path += "&" + query
	}
	next := ""
	for page := 0; page < 100; page++ {
		p := path
		if next != "" {
			p += "&nextToken=" + next
		}
		resp := s.Do(request{Method: "GET", Path: p, Token: token})
		if resp.Status != http.StatusOK {
			t.Fatalf("GET %s: %s", p, resp)
		}
		var body struct {
			AuditEvents []struct {
				Action      string `json:"action"`
				AccessKeyID string `json:"accessKeyId"`
			} `json:"auditEvents"`
			NextToken *string `json:"nextToken"`
		}
		resp.Decode(t, &body)
		for _, e := range body.AuditEvents {
			got[e.Action+":"+e.AccessKeyID] = true
		}
		if body.NextToken == nil {
			return got
		}
		next = url.QueryEscape(*body.NextToken)
	}
	t.Fatalf("audit list of %s did not end after 100 pages", team)
	return nil
}
