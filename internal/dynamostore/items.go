package dynamostore

import (
	"fmt"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// The table's layout (template.yaml's KeysTable):
//
//	key item      pk=KEY#<accessKeyId>          sk=KEY      gsi1pk=TEAM#<teamId>  gsi1sk=MEMBER#<memberId>#<createdAt>#<accessKeyId>
//	counter item  pk=MEMBER#<teamId>#<memberId> sk=COUNTER  keyCount=<n>
//
// A key is found by its id with one strongly consistent GetItem; lists Query
// the ByTeam index, which does not project the secret's ciphertext. Team and
// member ids cannot contain '#', so the prefixes cannot collide.
const (
	attrPK       = "pk"
	attrSK       = "sk"
	attrGSI1PK   = "gsi1pk"
	attrGSI1SK   = "gsi1sk"
	attrTeamID   = "teamId"
	attrMemberID = "memberId"
	attrStatus   = "status"
	attrKeyCount = "keyCount"
	// lastUsedAt is RFC 3339 UTC with seconds, so that its strings sort as
	// its times do and a condition can compare them.
	attrLastUsedAt     = "lastUsedAt"
	attrLastUsedIP     = "lastUsedIp"
	attrLastUsedScheme = "lastUsedScheme"
	indexByTeam        = "ByTeam"
	skKey              = "KEY"
	skCounter          = "COUNTER"
	timestampLayout    = time.RFC3339
)

// Key prefixes. Team and member ids cannot contain '#', so they cannot
// collide.
const (
	prefixKey    = "KEY#"
	prefixMember = "MEMBER#"
	prefixTeam   = "TEAM#"
)

func keyPK(accessKeyID string) string { return prefixKey + accessKeyID }

func counterPK(teamID, memberID string) string {
	return prefixMember + teamID + "#" + memberID
}

func teamPartition(teamID string) string { return prefixTeam + teamID }

func memberSortPrefix(memberID string) string { return prefixMember + memberID + "#" }

// keyItem is a key as stored. SecretCiphertext is read back only by Get,
// for the verifier; the lists read the ByTeam index, which does not project
// it, and no response or log carries it.
type keyItem struct {
	PK               string `dynamodbav:"pk"`
	SK               string `dynamodbav:"sk"`
	GSI1PK           string `dynamodbav:"gsi1pk"`
	GSI1SK           string `dynamodbav:"gsi1sk"`
	AccessKeyID      string `dynamodbav:"accessKeyId"`
	TeamID           string `dynamodbav:"teamId"`
	MemberID         string `dynamodbav:"memberId"`
	Status           string `dynamodbav:"status"`
	Description      string `dynamodbav:"description"`
	CreatedAt        string `dynamodbav:"createdAt"`
	CreatedBy        string `dynamodbav:"createdBy"`
	LastUsedAt       string `dynamodbav:"lastUsedAt,omitempty"`
	SecretCiphertext []byte `dynamodbav:"secretCiphertext,omitempty"`
}

func newKeyItem(k accesskey.Key, ciphertext []byte) keyItem {
	createdAt := k.CreatedAt.UTC().Format(timestampLayout)
	return keyItem{
		PK:               keyPK(k.AccessKeyID),
		SK:               skKey,
		GSI1PK:           teamPartition(k.TeamID),
		GSI1SK:           memberSortPrefix(k.MemberID) + createdAt + "#" + k.AccessKeyID,
		AccessKeyID:      k.AccessKeyID,
		TeamID:           k.TeamID,
		MemberID:         k.MemberID,
		Status:           string(k.Status),
		Description:      k.Description,
		CreatedAt:        createdAt,
		CreatedBy:        k.CreatedBy,
		SecretCiphertext: ciphertext,
	}
}

func (it keyItem) key() (accesskey.Key, error) {
	createdAt, err := time.Parse(timestampLayout, it.CreatedAt)
	if err != nil {
		return accesskey.Key{}, fmt.Errorf("item %s: createdAt: %w", it.PK, err)
	}
	k := accesskey.Key{
		AccessKeyID: it.AccessKeyID,
		TeamID:      it.TeamID,
		MemberID:    it.MemberID,
		Status:      accesskey.Status(it.Status),
		Description: it.Description,
		CreatedAt:   createdAt,
		CreatedBy:   it.CreatedBy,
	}
	if it.LastUsedAt != "" {
		t, err := time.Parse(timestampLayout, it.LastUsedAt)
		if err != nil {
			return accesskey.Key{}, fmt.Errorf("item %s: lastUsedAt: %w", it.PK, err)
		}
		k.LastUsedAt = &t
	}
	return k, nil
}
