package dynamostore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// Expiry warnings (issue 21, internal/sweep/warn.go). A key item carries
// expiryWarnedDays, the smallest threshold it has been warned for (absent:
// none); every larger threshold counts as used. A warning is one
// transaction: the key's expiryWarnedDays set to the threshold, on the
// condition that it is still active, not retired by a rotation, expires
// when the pass read, and has not been warned for this threshold or a
// smaller one; and the AccessKeyExpiring record. A retried or concurrent
// pass therefore writes each threshold's warning at most once.
const (
	attrExpiryWarnedDays = "expiryWarnedDays"
	// warnPassAt, on the sweep's lease item: when the last warning pass
	// started (epoch ms), so that passes run at most once an interval.
	attrWarnPassAt = "warnPassAt"
)

// ExpiringKeys returns up to limit keys of one ByExpiry shard that are not
// expired at now and expire by now+within, soonest first, with their
// expiry (from the index's sort key: no read of the key), and the next
// page's cursor (nil: the last).
func (s *Store) ExpiringKeys(ctx context.Context, shard string, now time.Time, within time.Duration, limit int, after map[string]string) ([]accesskey.ExpiringRef, map[string]string, error) {
	soon := expression.Key(attrGSI2SK).Between(expression.Value(expiredBy(now)), expression.Value(expiredBy(now.Add(within))))
	items, next, err := s.queryByExpiry(ctx, shard, soon, limit, after, "expiring")
	if err != nil {
		return nil, nil, err
	}
	refs := make([]accesskey.ExpiringRef, 0, len(items))
	for _, it := range items {
		at, _, _ := strings.Cut(it.GSI2SK, "#")
		t, err := time.Parse(timestampLayout, at)
		if err != nil {
			continue // not a key's expiry: nothing to warn
		}
		refs = append(refs, accesskey.ExpiringRef{ExpiresAt: t,
			Ref: it.ref()})
	}
	return refs, next, nil
}

// ExpiryWarnState reads what the warning pass needs of a key, eventually
// consistent (0.5 read units): the warning's transaction checks it again.
// A key gone is accesskey.ErrNotFound.
func (s *Store) ExpiryWarnState(ctx context.Context, ref accesskey.Ref) (accesskey.WarnState, error) {
	proj := expression.NamesList(expression.Name(attrTeamID), expression.Name(attrMemberID), expression.Name(attrStatus),
		expression.Name(attrExpiresAt), expression.Name(attrRotatedTo), expression.Name(attrExpiryWarnedDays))
	e, err := expression.NewBuilder().WithProjection(proj).Build()
	if err != nil {
		return accesskey.WarnState{}, err
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                &s.table,
		Key:                      itemKey(ref.AccessKeyID),
		ProjectionExpression:     e.Projection(),
		ExpressionAttributeNames: e.Names(),
	})
	if err != nil {
		return accesskey.WarnState{}, fmt.Errorf("get key %s: %w", ref.AccessKeyID, awsclient.Classify(err))
	}
	var it struct {
		TeamID     string `dynamodbav:"teamId"`
		MemberID   string `dynamodbav:"memberId"`
		Status     string `dynamodbav:"status"`
		ExpiresAt  string `dynamodbav:"expiresAt"`
		RotatedTo  string `dynamodbav:"rotatedTo"`
		WarnedDays int    `dynamodbav:"expiryWarnedDays"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return accesskey.WarnState{}, fmt.Errorf("unmarshal key %s: %w", ref.AccessKeyID, err)
	}
	if out.Item == nil || it.TeamID != ref.TeamID || it.MemberID != ref.MemberID {
		return accesskey.WarnState{}, fmt.Errorf("%w: key %s", accesskey.ErrNotFound, ref.AccessKeyID)
	}
	st := accesskey.WarnState{Status: accesskey.Status(it.Status), Retired: it.RotatedTo != "", WarnedDays: it.WarnedDays}
	if it.ExpiresAt != "" {
		t, err := time.Parse(timestampLayout, it.ExpiresAt)
		if err != nil {
			return accesskey.WarnState{}, fmt.Errorf("key %s: expiresAt: %w", ref.AccessKeyID, err)
		}
		st.ExpiresAt = &t
	}
	return st, nil
}

// WarnExpiring writes one expiry warning: the key's expiryWarnedDays and
// its AccessKeyExpiring record, in one transaction (see above). It returns
// false, having written nothing, when the key no longer needs it (warned
// meanwhile, disabled, rotated, removed, or its expiry changed).
func (s *Store) WarnExpiring(ctx context.Context, ref accesskey.Ref, expiresAt time.Time, w accesskey.ExpiryWarning, audit accesskey.Audit) (bool, error) {
	warned := expression.Name(attrExpiryWarnedDays)
	cond := ownedBy(ref).
		And(expression.Name(attrStatus).Equal(expression.Value(string(accesskey.StatusActive)))).
		And(expression.AttributeNotExists(expression.Name(attrRotatedTo))).
		And(expression.Name(attrExpiresAt).Equal(expression.Value(expiresAt.UTC().Format(timestampLayout)))).
		And(expression.AttributeNotExists(warned).Or(warned.GreaterThan(expression.Value(w.ThresholdDays))))
	e, err := expression.NewBuilder().WithUpdate(expression.Set(warned, expression.Value(w.ThresholdDays))).WithCondition(cond).Build()
	if err != nil {
		return false, err
	}
	rec := audit.Record(accesskey.AuditKeyExpiring, ref)
	rec.ExpiresAt = &expiresAt
	days, threshold := w.DaysLeft, w.ThresholdDays
	rec.KeyChanges = &accesskey.KeyChanges{DaysLeft: &days, ThresholdDays: &threshold}
	return s.writeKeyUpdate(ctx, ref, e, rec)
}

// ClaimWarnPass records on the sweep's lease item, which owner holds, that
// a warning pass starts at now, unless one started less than every ago:
// then false. Passes re-read every key inside its team's largest threshold,
// so they run at most once an interval, not at every sweep.
func (s *Store) ClaimWarnPass(ctx context.Context, owner string, now time.Time, every time.Duration) (bool, error) {
	at := expression.Name(attrWarnPassAt)
	e, err := expression.NewBuilder().
		WithUpdate(expression.Set(at, expression.Value(now.UnixMilli()))).
		WithCondition(expression.Name(attrLeaseOwner).Equal(expression.Value(owner)).
			And(expression.AttributeNotExists(at).Or(at.LessThanEqual(expression.Value(now.Add(-every).UnixMilli()))))).
		Build()
	if err != nil {
		return false, err
	}
	return s.updateLease(ctx, e, "claim the warning pass on")
}
