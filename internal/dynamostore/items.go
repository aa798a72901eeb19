package dynamostore

import (
	"fmt"
	"strconv"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// The table's layout (template.yaml's KeysTable):
//
//	key item      pk=KEY#<accessKeyId>          sk=KEY      gsi1pk=TEAM#<teamId>#<shard> gsi1sk=MEMBER#<memberId>#<createdAt>#<accessKeyId>   (shard: teamindex.go, by member)
//	                                                        (gsi1pk=TEAM#<teamId>, unsharded: written before the shards; still listed)
//	                                                        gsi2pk=EXPIRY#<shard> gsi2sk=<expiresAt>#<accessKeyId>   (only a key that expires; shard: expiry.go)
//	                                                        (gsi2pk=EXPIRY, unsharded: written before the shards; still swept)
//	counter item  pk=MEMBER#<teamId>#<memberId> sk=COUNTER  keyCount=<n>
//	policy item   pk=POLICY#<teamId>            sk=POLICY   maxLifetimeDays=<n> (absent: none)
//	team key pair pk=TEAMKEY#<teamId>           sk=TEAMKEY  publicKey privateKeyCiphertext (teamkeypair.go: made once, never changed)
//	replay item   pk=IDEMPOTENCY#<recordId>     sk=IDEMPOTENCY  requestHash status answer ttl (DynamoDB TTL)
//	(key item)                                              secretSha256=<hex>  (BySecretHash, sparse: keys issued since the tksk_ format)
//	audit record  pk=AUDIT#<teamId>#<shard>     sk=<time, ms>#<eventId>  action, actor, what changed, ttl (DynamoDB TTL)
//	                                            gsi3pk=AUDITMEMBER#<teamId>#<memberId>   gsi3sk=<sk>  (ByMemberAudit; records naming a member)
//	                                            gsi4pk=AUDITKEY#<teamId>#<accessKeyId>   gsi4sk=<sk>  (ByKeyAudit; records naming a key)
//	policy copy   pk=POLICY#<teamId>#<shard>    sk=POLICY   as the policy item
//	(key item)                                              leakUrl=<url>  (the last leak report's URL: a report repeated is not recorded again)
//	(key item)                                              allowedCidrs=[S…] (absent: any source) scopes=[S…] (absent: unrestricted; empty: grants nothing)
//	                                                        (restrictions.go: canonical strings; an update conditions on them and on rotatedTo)
//	(key item)                                              leakedAt=<time>  (when a leak report last disabled it: never enabled again, leaked.go)
//	(key item)                                              expiryWarnedDays=<n>  (the smallest expiry-warning threshold warned: expirywarn.go)
//	(policy item)                                           expiryWarningDays=[N…]  (absent: the default thresholds)
//	(key item)                                              dormantAt dormantWarnedFor  (dormant.go: the last dormant disable; the clock start a warning was for)
//	dormant team  pk=DORMANTTEAMS               sk=<teamId>  (a team whose policy disables unused keys: dormant.go)
//	sweep lease   pk=SWEEPLEASE                 sk=SWEEPLEASE  leaseOwner leaseUntil (epoch ms): one expiry sweep at a time (expiry.go)
//
// Sharding (policy.go, audit.go), so that no item or partition takes every
// change of a team:
//   - A team's key policy is policyCopies identical copies, shard 0 to 63.
//     SetPolicy writes them all in one transaction; a generate or rotation
//     condition-checks only the copy of its member's shard (FNV-1a of the
//     member id), Policy reads any one copy.
//   - A team's audit records spread over auditShards partitions, shard 0 to
//     15 by FNV-1a of the event id. ListAudit queries every shard at once
//     and merges them newest first under one cursor (a sort key: every
//     shard sorts the same way). A member's or a key's records are one
//     Query of ByMemberAudit or ByKeyAudit (template parameter
//     AuditIndexes; until an index exists, a filter over the shards).
//   - A team's ByTeam entries spread over teamShards partitions, shard 00
//     to 15 by FNV-1a of the member id (teamindex.go): a member's keys
//     share one, so its list is one Query (plus the unsharded partition
//     of keys made before the shards); the team's list queries them all
//     and merges them by sort key under one cursor; the credential report
//     reads them one after another.
//
// Upgrade from the unsharded layout (pk=POLICY#<teamId>, pk=AUDIT#<teamId>
// above, which today's release wrote):
//   - Policy: when the copy read is absent, Policy falls back to the legacy
//     POLICY#<teamId> item. The create's check of the member's copy then
//     holds the copy absent (or equal to the policy read), so a SetPolicy
//     in between, which writes every copy and deletes the legacy item in
//     its one transaction, fails the check and the create retries on the
//     copies. The legacy item is never condition-checked: a copy, once
//     written, is never deleted, so the copy's absence says no policy
//     change has happened since the read. (While a deploy of this release
//     rolls out, the old release's SetPolicy writes only the legacy item:
//     don't change a policy then.)
//   - Audit: AUDIT#<teamId> is one more shard of ListAudit's merge, with a
//     filter for a member's or a key's history (its records carry no gsi3
//     or gsi4 attributes, so no index holds them), until its records
//     expire (AuditRetentionDays).
//
// A key is found by its id with one strongly consistent GetItem; lists Query
// the ByTeam index, which does not project the secret's ciphertext; the
// expiry sweep Queries the sparse ByExpiry index. Team and member ids cannot
// contain '#', so the prefixes cannot collide.
const (
	attrPK       = "pk"
	attrSK       = "sk"
	attrGSI1PK   = "gsi1pk"
	attrGSI1SK   = "gsi1sk"
	attrTeamID   = "teamId"
	attrMemberID = "memberId"
	attrStatus   = "status"
	attrKeyCount = "keyCount"
	attrGSI2PK   = "gsi2pk"
	attrGSI2SK   = "gsi2sk"
	// expiresAt is RFC 3339 UTC with seconds, like lastUsedAt: its strings
	// sort as its times do, so conditions and the ByExpiry index compare
	// them.
	attrExpiresAt       = "expiresAt"
	attrMaxLifetimeDays = "maxLifetimeDays"
	// rotatedTo marks a key that a rotation replaced: it is rotated once.
	attrRotatedTo = "rotatedTo"
	// lastUsedAt is RFC 3339 UTC with seconds, so that its strings sort as
	// its times do and a condition can compare them.
	attrLastUsedAt     = "lastUsedAt"
	attrLastUsedIP     = "lastUsedIp"
	attrLastUsedScheme = "lastUsedScheme"
	attrDescription    = "description"
	// allowedCidrs and scopes are Lists of Strings (canonical form):
	// absent is unrestricted; scopes present and empty grants nothing.
	attrAllowedCIDRs = "allowedCidrs"
	attrScopes       = "scopes"
	// attrDefaultScopes: a policy item's default scopes.
	attrDefaultScopes = "defaultScopes"
	indexByTeam       = "ByTeam"
	indexByExpiry     = "ByExpiry"
	skKey             = "KEY"
	skCounter         = "COUNTER"
	skPolicy          = "POLICY"
	skReplay          = "IDEMPOTENCY"
	// ttl is the table's DynamoDB TTL attribute (epoch seconds); reads
	// filter on it too, since DynamoDB deletes expired items only within
	// about two days (and DynamoDB Local never does).
	attrTTL          = "ttl"
	attrSecretSHA256 = "secretSha256"
	expiryPartition  = "EXPIRY"
	timestampLayout  = time.RFC3339
)

// Key prefixes. Team and member ids cannot contain '#', so they cannot
// collide.
const (
	prefixKey    = "KEY#"
	prefixMember = "MEMBER#"
	prefixTeam   = "TEAM#"
	prefixPolicy = "POLICY#"
	prefixReplay = "IDEMPOTENCY#"
	prefixAudit  = "AUDIT#"
	// The audit indexes' partitions (gsi3pk, gsi4pk): never a pk.
	prefixAuditMember = "AUDITMEMBER#"
	prefixAuditKey    = "AUDITKEY#"
)

func keyPK(accessKeyID string) string { return prefixKey + accessKeyID }

func counterPK(teamID, memberID string) string {
	return prefixMember + teamID + "#" + memberID
}

func teamPartition(teamID string) string { return prefixTeam + teamID }

func memberSortPrefix(memberID string) string { return prefixMember + memberID + "#" }

func policyPK(teamID string) string { return prefixPolicy + teamID }

func expirySortKey(expiresAt, accessKeyID string) string { return expiresAt + "#" + accessKeyID }

// expiredBy is the ByExpiry sort key bound below which every key has
// expired at now (expiresAt <= now): ids hold only A-Z and 2-7, which sort
// before '~'.
func expiredBy(now time.Time) string { return now.UTC().Format(timestampLayout) + "#~" }

// shownAttributes are the key item's attributes a response may show: what
// GetKey reads; the ByTeam index projects them but allowedCidrs and scopes
// (extras.go). Never the ciphertext or the secret's hash.
var shownAttributes = []string{"accessKeyId", attrTeamID, attrMemberID, attrStatus, "description", "createdAt", "createdBy",
	attrExpiresAt, "rotatedFrom", attrLastUsedAt, attrLastUsedIP, attrLastUsedScheme, attrAllowedCIDRs, attrScopes}

// leakAttributes are the key item's leak marks a response shows
// (leaked.go): GetKey reads them with shownAttributes; the ByTeam index,
// created before them, does not project them (a deployed index's
// projection cannot change), so a list reads them with the restrictions
// (extras.go keysWithExtras).
var leakAttributes = []string{attrLeakedAt, attrLeakURL}

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
	ExpiresAt        string `dynamodbav:"expiresAt,omitempty"`
	GSI2PK           string `dynamodbav:"gsi2pk,omitempty"`
	GSI2SK           string `dynamodbav:"gsi2sk,omitempty"`
	RotatedFrom      string `dynamodbav:"rotatedFrom,omitempty"`
	RotatedTo        string `dynamodbav:"rotatedTo,omitempty"`
	LastUsedAt       string `dynamodbav:"lastUsedAt,omitempty"`
	LastUsedIP       string `dynamodbav:"lastUsedIp,omitempty"`
	LastUsedScheme   string `dynamodbav:"lastUsedScheme,omitempty"`
	SecretCiphertext []byte `dynamodbav:"secretCiphertext,omitempty"`
	// SecretSHA256 traces a leaked secret to its key; never the secret.
	SecretSHA256 string `dynamodbav:"secretSha256,omitempty"`
	// LeakURL is the URL of the last leak reported for the key (leak.go).
	LeakURL string `dynamodbav:"leakUrl,omitempty"`
	// LeakedAt is when a leak report last disabled the key (leaked.go).
	LeakedAt string `dynamodbav:"leakedAt,omitempty"`
	// AllowedCIDRs and Scopes: nil is absent (unrestricted). An empty
	// Scopes is written as an empty List by marshalKeyItem (omitempty
	// would drop it).
	AllowedCIDRs []string `dynamodbav:"allowedCidrs,omitempty"`
	Scopes       []string `dynamodbav:"scopes,omitempty"`
}

func newKeyItem(k accesskey.Key, ciphertext []byte, secretSHA256 string) keyItem {
	createdAt := k.CreatedAt.UTC().Format(timestampLayout)
	it := keyItem{
		PK:               keyPK(k.AccessKeyID),
		SK:               skKey,
		GSI1PK:           teamShardPartition(k.TeamID, k.MemberID),
		GSI1SK:           memberSortPrefix(k.MemberID) + createdAt + "#" + k.AccessKeyID,
		AccessKeyID:      k.AccessKeyID,
		TeamID:           k.TeamID,
		MemberID:         k.MemberID,
		Status:           string(k.Status),
		Description:      k.Description,
		CreatedAt:        createdAt,
		CreatedBy:        k.CreatedBy,
		RotatedFrom:      k.RotatedFrom,
		SecretCiphertext: ciphertext,
		SecretSHA256:     secretSHA256,
		AllowedCIDRs:     k.AllowedCIDRs,
		Scopes:           k.Scopes,
	}
	if k.ExpiresAt != nil {
		it.ExpiresAt = k.ExpiresAt.UTC().Format(timestampLayout)
		it.GSI2PK = expiryPartitionOf(k.AccessKeyID)
		it.GSI2SK = expirySortKey(it.ExpiresAt, k.AccessKeyID)
	}
	return it
}

func (it keyItem) key() (accesskey.Key, error) {
	createdAt, err := time.Parse(timestampLayout, it.CreatedAt)
	if err != nil {
		return accesskey.Key{}, fmt.Errorf("item %s: createdAt: %w", it.PK, err)
	}
	k := accesskey.Key{
		AccessKeyID:    it.AccessKeyID,
		TeamID:         it.TeamID,
		MemberID:       it.MemberID,
		Status:         accesskey.Status(it.Status),
		Description:    it.Description,
		CreatedAt:      createdAt,
		CreatedBy:      it.CreatedBy,
		RotatedFrom:    it.RotatedFrom,
		LastUsedIP:     it.LastUsedIP,
		LastUsedScheme: it.LastUsedScheme,
		AllowedCIDRs:   it.AllowedCIDRs,
		Scopes:         it.Scopes,
	}
	if it.ExpiresAt != "" {
		t, err := time.Parse(timestampLayout, it.ExpiresAt)
		if err != nil {
			return accesskey.Key{}, fmt.Errorf("item %s: expiresAt: %w", it.PK, err)
		}
		k.ExpiresAt = &t
	}
	if it.LastUsedAt != "" {
		t, err := time.Parse(timestampLayout, it.LastUsedAt)
		if err != nil {
			return accesskey.Key{}, fmt.Errorf("item %s: lastUsedAt: %w", it.PK, err)
		}
		k.LastUsedAt = &t
	}
	return it.withLeak(k)
}

// policyItem is a team's key policy as stored.
type policyItem struct {
	PK              string `dynamodbav:"pk"`
	SK              string `dynamodbav:"sk"`
	TeamID          string `dynamodbav:"teamId"`
	MaxLifetimeDays *int   `dynamodbav:"maxLifetimeDays,omitempty"`
	// The team's networks and new keys' default scopes (absent: none;
	// defaultScopes may be an empty List, written by listValue).
	AllowedCIDRs  []string `dynamodbav:"allowedCidrs,omitempty"`
	DefaultScopes []string `dynamodbav:"defaultScopes,omitempty"`
	// ExpiryWarningDays: absent is the default thresholds (expirywarn.go).
	ExpiryWarningDays []int `dynamodbav:"expiryWarningDays,omitempty"`
	// DisableUnusedAfterDays: absent is off (dormant.go).
	DisableUnusedAfterDays *int   `dynamodbav:"disableUnusedAfterDays,omitempty"`
	UpdatedAt              string `dynamodbav:"updatedAt"`
	UpdatedBy              string `dynamodbav:"updatedBy"`
	// AllowSelfRotation: absent is false.
	AllowSelfRotation bool `dynamodbav:"allowSelfRotation,omitempty"`
}

// replayItem is an idempotency key's replay record as stored.
type replayItem struct {
	PK          string `dynamodbav:"pk"`
	SK          string `dynamodbav:"sk"`
	RequestHash string `dynamodbav:"requestHash"`
	Status      int    `dynamodbav:"status"`
	Answer      []byte `dynamodbav:"answer"`
	CreatedAt   string `dynamodbav:"createdAt"`
	TTL         int64  `dynamodbav:"ttl"`
}

func replayPK(recordID string) string { return prefixReplay + recordID }

// auditTimeLayout is an audit record's time: RFC 3339 UTC with exactly three
// fraction digits, so that sort keys sort as times do.
const auditTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// auditPK is the legacy, unsharded partition of a team's audit records.
func auditPK(teamID string) string { return prefixAudit + teamID }

func auditShardPK(teamID string, shard int) string {
	return auditPK(teamID) + "#" + strconv.Itoa(shard)
}

func auditMemberPK(teamID, memberID string) string {
	return prefixAuditMember + teamID + "#" + memberID
}

func auditKeyPK(teamID, accessKeyID string) string {
	return prefixAuditKey + teamID + "#" + accessKeyID
}

// auditItem is an audit record as stored.
type auditItem struct {
	PK              string `dynamodbav:"pk"`
	SK              string `dynamodbav:"sk"`
	GSI3PK          string `dynamodbav:"gsi3pk,omitempty"`
	GSI3SK          string `dynamodbav:"gsi3sk,omitempty"`
	GSI4PK          string `dynamodbav:"gsi4pk,omitempty"`
	GSI4SK          string `dynamodbav:"gsi4sk,omitempty"`
	EventID         string `dynamodbav:"eventId"`
	Time            string `dynamodbav:"time"`
	TeamID          string `dynamodbav:"teamId"`
	MemberID        string `dynamodbav:"memberId,omitempty"`
	AccessKeyID     string `dynamodbav:"accessKeyId,omitempty"`
	Action          string `dynamodbav:"action"`
	ActorType       string `dynamodbav:"actorType"`
	ActorSub        string `dynamodbav:"actorSub,omitempty"`
	ActorSourceIP   string `dynamodbav:"actorSourceIp,omitempty"`
	ActorUserAgent  string `dynamodbav:"actorUserAgent,omitempty"`
	RequestID       string `dynamodbav:"requestId,omitempty"`
	StatusBefore    string `dynamodbav:"statusBefore,omitempty"`
	StatusAfter     string `dynamodbav:"statusAfter,omitempty"`
	ExpiresAt       string `dynamodbav:"expiresAt,omitempty"`
	RotatedFrom     string `dynamodbav:"rotatedFrom,omitempty"`
	MaxLifetimeDays *int   `dynamodbav:"maxLifetimeDays,omitempty"`
	LeakURL         string `dynamodbav:"leakUrl,omitempty"`
	LeakSource      string `dynamodbav:"leakSource,omitempty"`
	// Changes is an AccessKeyUpdated's changes, as JSON (restrictions.go).
	Changes string `dynamodbav:"changes,omitempty"`
	// fromIndex: read from ByMemberAudit or ByKeyAudit, which do not
	// project changes (extras.go withAuditChanges). Not stored.
	fromIndex bool
	TTL       int64 `dynamodbav:"ttl"`
}

func newAuditItem(r accesskey.AuditRecord, retention time.Duration) auditItem {
	at := r.Time.UTC().Format(auditTimeLayout)
	it := auditItem{PK: auditShardPK(r.TeamID, shardOf(r.EventID, auditShards)), SK: at + "#" + r.EventID, EventID: r.EventID, Time: at, TeamID: r.TeamID,
		MemberID: r.MemberID, AccessKeyID: r.AccessKeyID, Action: r.Action, ActorType: r.Actor.Type, ActorSub: storedActorSub(r.Actor),
		ActorSourceIP: r.Actor.SourceIP, ActorUserAgent: r.Actor.UserAgent, RequestID: r.RequestID,
		StatusBefore: string(r.StatusBefore), StatusAfter: string(r.StatusAfter), RotatedFrom: r.RotatedFrom,
		MaxLifetimeDays: r.MaxLifetimeDays, LeakURL: r.Leak.URL, LeakSource: r.Leak.Source, TTL: r.Time.Add(retention).Unix()}
	if r.ExpiresAt != nil {
		it.ExpiresAt = r.ExpiresAt.UTC().Format(timestampLayout)
	}
	it.Changes = encodeChanges(r.KeyChanges)
	if r.MemberID != "" {
		it.GSI3PK, it.GSI3SK = auditMemberPK(r.TeamID, r.MemberID), it.SK
	}
	if r.AccessKeyID != "" {
		it.GSI4PK, it.GSI4SK = auditKeyPK(r.TeamID, r.AccessKeyID), it.SK
	}
	return it
}

func (it auditItem) record() accesskey.AuditRecord {
	t, _ := time.Parse(auditTimeLayout, it.Time)
	r := accesskey.AuditRecord{EventID: it.EventID, Time: t, TeamID: it.TeamID, MemberID: it.MemberID, AccessKeyID: it.AccessKeyID,
		Action: it.Action, Actor: storedActor(it.ActorType, it.ActorSub, it.ActorSourceIP, it.ActorUserAgent),
		RequestID: it.RequestID, StatusBefore: accesskey.Status(it.StatusBefore), StatusAfter: accesskey.Status(it.StatusAfter),
		RotatedFrom: it.RotatedFrom, MaxLifetimeDays: it.MaxLifetimeDays, Leak: accesskey.Leak{URL: it.LeakURL, Source: it.LeakSource}}
	if it.ExpiresAt != "" {
		if e, err := time.Parse(timestampLayout, it.ExpiresAt); err == nil {
			r.ExpiresAt = &e
		}
	}
	r.KeyChanges = decodeChanges(it.Changes)
	return r
}
