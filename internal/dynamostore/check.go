// Check verifies, after the fact, the table invariants the store maintains
// with its transactions: every member holds at most
// accesskey.MaxKeysPerMember keys, and every member's slot counter equals the
// number of its key items.
//
// Check Scans the whole table. It is an operator's tool (teamkeys-local
// check, the fault tests), not part of the service: the service never scans,
// and Check is not meant to run on a hot path or against a large production
// table without thought for the read capacity it consumes. It lives here
// because this package alone knows the table's layout (items.go).

package dynamostore

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// ViolationKind names a violated invariant.
type ViolationKind string

const (
	// OverCap: the member holds more than MaxKeysPerMember keys.
	OverCap ViolationKind = "OverCap"
	// CounterMismatch: the counter's keyCount is not the number of key items.
	CounterMismatch ViolationKind = "CounterMismatch"
	// MissingCounter: the member has key items but no counter item.
	MissingCounter ViolationKind = "MissingCounter"
	// Malformed: an item of the table's layout that can't be read (a key
	// without team or member, a counter without a readable keyCount).
	Malformed ViolationKind = "Malformed"
	// ExpiryUnindexed: a key's expiresAt is unreadable, or its ByExpiry
	// attributes do not say the same: the sweep would never find it.
	ExpiryUnindexed ViolationKind = "ExpiryUnindexed"
	// MissingAuditRecord: a key created within the audit retention has no
	// creation record (AccessKeyCreated or AccessKeyRotated).
	MissingAuditRecord ViolationKind = "MissingAuditRecord"
)

// Violation is one broken invariant.
type Violation struct {
	Kind     ViolationKind
	TeamID   string
	MemberID string
	// Keys is the number of key items of the member.
	Keys int
	// Counter is the counter's keyCount; HasCounter is false when the
	// member has no counter item.
	Counter    int
	HasCounter bool
	// Detail says more for Malformed items (the item's pk).
	Detail string
}

func (v Violation) String() string {
	counter := "absent"
	if v.HasCounter {
		counter = strconv.Itoa(v.Counter)
	}
	s := fmt.Sprintf("%s: member %s/%s: %d key item(s), counter %s", v.Kind, v.TeamID, v.MemberID, v.Keys, counter)
	if v.Kind == OverCap {
		s += fmt.Sprintf(" (cap %d)", accesskey.MaxKeysPerMember)
	}
	if v.Detail != "" {
		s += ": " + v.Detail
	}
	return s
}

// Report is what Check found.
type Report struct {
	Table    string
	Items    int // items scanned
	Keys     int // key items
	Counters int // counter items
	// Expired counts the keys past their expiresAt at the check's time that
	// are still in the table (the sweep's backlog: not a violation).
	Expired int
	// Replays counts idempotency replay records; StaleReplays those past
	// their ttl that DynamoDB has not deleted yet (it takes up to about two
	// days; reads ignore them).
	Replays, StaleReplays int
	// AuditRecords counts the audit records.
	AuditRecords int
	Members      int // distinct members with a key or a counter
	// Violations, sorted by team, member and kind.
	Violations []Violation
}

// OK reports whether no invariant is violated.
func (r Report) OK() bool { return len(r.Violations) == 0 }

// String is the report for a person.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table %s: %d items, %d keys (%d expired, awaiting the sweep), %d counters, %d members, %d replay records (%d past their ttl), %d audit records\n",
		r.Table, r.Items, r.Keys, r.Expired, r.Counters, r.Members, r.Replays, r.StaleReplays, r.AuditRecords)
	if r.OK() {
		b.WriteString("OK: every member holds at most " + strconv.Itoa(accesskey.MaxKeysPerMember) + " keys and every counter matches its keys\n")
		return b.String()
	}
	fmt.Fprintf(&b, "%d violation(s):\n", len(r.Violations))
	for _, v := range r.Violations {
		b.WriteString("  " + v.String() + "\n")
	}
	return b.String()
}

type member struct{ team, id string }

type tally struct {
	keys       int
	counter    int
	hasCounter bool
}

// Check Scans table (strongly consistent, page by page) and verifies the
// invariants. An error means the table could not be read; violations are in
// the Report. While writes go on, a Scan is not a snapshot: run Check on a
// quiescent table for an exact answer.
func Check(ctx context.Context, db dynamodb.ScanAPIClient, table string) (Report, error) {
	return CheckWithRetention(ctx, db, table, accesskey.DefaultAuditDays)
}

// CheckWithRetention is Check for a table whose audit records are kept
// retentionDays (keys older than that may have lost their creation record
// to TTL).
func CheckWithRetention(ctx context.Context, db dynamodb.ScanAPIClient, table string, retentionDays int) (Report, error) {
	auditRetention := time.Duration(retentionDays) * 24 * time.Hour
	now := time.Now()
	r := Report{Table: table}
	type keyOf struct{ pk, team, member string }
	var recent []keyOf
	created := map[string]bool{}
	members := map[member]*tally{}
	get := func(m member) *tally {
		t := members[m]
		if t == nil {
			t = &tally{}
			members[m] = t
		}
		return t
	}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{
		TableName:            aws.String(table),
		ConsistentRead:       aws.Bool(true),
		ProjectionExpression: aws.String("#pk, #sk, #team, #member, #count, #exp, #g2pk, #g2sk, #ttl, #created, #action, #key"),
		ExpressionAttributeNames: map[string]string{
			"#pk": attrPK, "#sk": attrSK, "#team": attrTeamID, "#member": attrMemberID, "#count": attrKeyCount,
			"#exp": attrExpiresAt, "#g2pk": attrGSI2PK, "#g2sk": attrGSI2SK, "#ttl": attrTTL, "#created": "createdAt",
			"#action": "action", "#key": "accessKeyId",
		},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return r, fmt.Errorf("check: scan %s: %w", table, err)
		}
		for _, item := range page.Items {
			r.Items++
			pk, sk := stringAttr(item[attrPK]), stringAttr(item[attrSK])
			switch sk {
			case skKey:
				r.Keys++
				team, id := stringAttr(item[attrTeamID]), stringAttr(item[attrMemberID])
				if team == "" || id == "" {
					r.Violations = append(r.Violations, Violation{Kind: Malformed, Detail: "key item " + pk + " lacks teamId or memberId"})
					continue
				}
				get(member{team, id}).keys++
				if at, err := time.Parse(timestampLayout, stringAttr(item["createdAt"])); err == nil && now.Sub(at) < auditRetention {
					recent = append(recent, keyOf{pk: pk, team: team, member: id})
				}
				if v, ok := checkExpiry(pk, item, now); !ok {
					r.Violations = append(r.Violations, v)
				} else if v.Kind == "" && v.Detail == "expired" {
					r.Expired++
				}
			case skReplay:
				r.Replays++
				if v, ok := checkReplay(pk, item, now); !ok {
					r.Violations = append(r.Violations, v)
				} else if v.Detail == "stale" {
					r.StaleReplays++
				}
			case skCounter:
				r.Counters++
				team, id, ok := parseCounterPK(pk)
				if !ok {
					r.Violations = append(r.Violations, Violation{Kind: Malformed, Detail: "counter item " + pk + " has no MEMBER#<team>#<member> key"})
					continue
				}
				t := get(member{team, id})
				t.hasCounter = true
				if av, present := item[attrKeyCount]; present {
					n, ok := numberAttr(av)
					if !ok {
						r.Violations = append(r.Violations, Violation{Kind: Malformed, TeamID: team, MemberID: id, Detail: "counter item " + pk + " has an unreadable keyCount"})
						continue
					}
					t.counter = n
				}
				// An absent keyCount counts as 0, like no counter at all.
			default:
				if strings.HasPrefix(pk, prefixAudit) {
					r.AuditRecords++
					if a := stringAttr(item["action"]); a == accesskey.AuditKeyCreated || a == accesskey.AuditKeyRotated {
						created[stringAttr(item["accessKeyId"])] = true
					}
				}
			}
		}
	}
	for _, k := range recent {
		if !created[strings.TrimPrefix(k.pk, prefixKey)] {
			r.Violations = append(r.Violations, Violation{Kind: MissingAuditRecord, TeamID: k.team, MemberID: k.member,
				Detail: "key item " + k.pk + " has no creation record"})
		}
	}
	r.Members = len(members)
	for m, t := range members {
		v := Violation{TeamID: m.team, MemberID: m.id, Keys: t.keys, Counter: t.counter, HasCounter: t.hasCounter}
		if t.keys > accesskey.MaxKeysPerMember {
			v.Kind = OverCap
			r.Violations = append(r.Violations, v)
		}
		switch {
		case !t.hasCounter && t.keys > 0:
			v.Kind = MissingCounter
			r.Violations = append(r.Violations, v)
		case t.hasCounter && t.counter != t.keys:
			v.Kind = CounterMismatch
			r.Violations = append(r.Violations, v)
		}
	}
	sort.SliceStable(r.Violations, func(i, j int) bool {
		a, b := r.Violations[i], r.Violations[j]
		if a.TeamID != b.TeamID {
			return a.TeamID < b.TeamID
		}
		if a.MemberID != b.MemberID {
			return a.MemberID < b.MemberID
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Detail < b.Detail
	})
	return r, nil
}

func parseCounterPK(pk string) (team, id string, ok bool) {
	rest, found := strings.CutPrefix(pk, prefixMember)
	if !found {
		return "", "", false
	}
	team, id, found = strings.Cut(rest, "#")
	if !found || team == "" || id == "" {
		return "", "", false
	}
	return team, id, true
}

func stringAttr(av types.AttributeValue) string {
	if s, ok := av.(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

func numberAttr(av types.AttributeValue) (int, bool) {
	n, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(n.Value)
	return v, err == nil
}

// checkExpiry checks a key item's expiry against its ByExpiry attributes:
// both absent, or gsi2pk its shard's EXPIRY#<n> (or the unsharded EXPIRY
// written before the shards) and gsi2sk <expiresAt>#<id>. It returns a
// violation and false when they disagree; else a zero violation whose
// Detail is "expired" when the key has expired at now.
func checkExpiry(pk string, item map[string]types.AttributeValue, now time.Time) (Violation, bool) {
	exp, g2pk, g2sk := stringAttr(item[attrExpiresAt]), stringAttr(item[attrGSI2PK]), stringAttr(item[attrGSI2SK])
	team, id := stringAttr(item[attrTeamID]), stringAttr(item[attrMemberID])
	bad := Violation{Kind: ExpiryUnindexed, TeamID: team, MemberID: id}
	if exp == "" {
		if g2pk != "" || g2sk != "" {
			bad.Detail = "key item " + pk + " is in the ByExpiry index without an expiresAt"
			return bad, false
		}
		return Violation{}, true
	}
	at, err := time.Parse(timestampLayout, exp)
	if err != nil {
		bad.Detail = "key item " + pk + " has an unreadable expiresAt"
		return bad, false
	}
	if keyID := strings.TrimPrefix(pk, prefixKey); g2pk != expiryPartitionOf(keyID) && g2pk != expiryPartition || g2sk != expirySortKey(exp, keyID) {
		bad.Detail = "key item " + pk + " expires but its ByExpiry attributes do not say so"
		return bad, false
	}
	if !now.Before(at) {
		return Violation{Detail: "expired"}, true
	}
	return Violation{}, true
}

// checkReplay checks an idempotency replay record: a ttl (so that DynamoDB
// deletes it) no later than the window after its creation. It returns a
// violation and false when not; else a zero violation whose Detail is
// "stale" when the ttl has passed.
func checkReplay(pk string, item map[string]types.AttributeValue, now time.Time) (Violation, bool) {
	ttl, ok := numberAttr(item[attrTTL])
	created, err := time.Parse(timestampLayout, stringAttr(item["createdAt"]))
	if !ok || err != nil {
		return Violation{Kind: Malformed, Detail: "replay record " + pk + " lacks a readable ttl or createdAt"}, false
	}
	if time.Unix(int64(ttl), 0).After(created.Add(accesskey.IdempotencyWindow)) {
		return Violation{Kind: Malformed, Detail: "replay record " + pk + " outlives the idempotency window"}, false
	}
	if !now.Before(time.Unix(int64(ttl), 0)) {
		return Violation{Detail: "stale"}, true
	}
	return Violation{}, true
}
