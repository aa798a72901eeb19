// Package dynamostore keeps access keys in one DynamoDB table and enforces
// the per-member cap with a conditional write inside the same transaction as
// the key item. The cap's enforcement is Create and Delete in this file.
package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// DynamoDB is the part of the DynamoDB client the store uses.
type DynamoDB interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	// BatchGetItem reads what the indexes do not project (extras.go).
	BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error)
}

var _ DynamoDB = (*dynamodb.Client)(nil)

// conflictRetry bounds the retries of a transaction that DynamoDB cancelled
// because another transaction touched the same item at the same time.
type conflictRetry struct {
	Attempts  int
	BaseDelay time.Duration
	MaxDelay  time.Duration
}

// defaultConflictRetry suits a Lambda with a 10 s timeout: at most about 2 s
// of waiting in all.
var defaultConflictRetry = conflictRetry{Attempts: 8, BaseDelay: 20 * time.Millisecond, MaxDelay: 500 * time.Millisecond}

// Store is the DynamoDB adapter of the key store.
type Store struct {
	db    DynamoDB
	table string
	retry conflictRetry
	now   func() time.Time
	// auditRetention is how long audit records are kept (DynamoDB TTL).
	auditRetention time.Duration
	auditIndexes   AuditIndexes
}

// New returns a Store on table.
func New(db DynamoDB, table string) *Store {
	return &Store{db: db, table: table, retry: defaultConflictRetry, now: time.Now,
		auditRetention: accesskey.DefaultAuditDays * 24 * time.Hour, auditIndexes: AuditIndexes{Member: true, Key: true}}
}

// WithAuditRetention returns a copy of s whose audit records expire days
// after they are written (TEAMKEYS_AUDIT_RETENTION_DAYS); 0 keeps the
// default of 400.
func (s *Store) WithAuditRetention(days int) *Store {
	c := *s
	if days > 0 {
		c.auditRetention = time.Duration(days) * 24 * time.Hour
	}
	return &c
}

// withConflictRetry returns a copy of s that retries conflicts as r says.
func (s *Store) withConflictRetry(r conflictRetry) *Store {
	c := *s
	c.retry = r
	return &c
}

// Create writes a new key and takes one of its member's slots in a single
// transaction: the member's counter is incremented only while it is below the
// cap, the key item is put only if its id is new, and the team's key policy
// must still be the one the key's expiry was computed from. All happen or
// none does, so concurrent generates can never exceed the cap.
//
// A member at the cap whose keys include an expired one still gets the new
// key: the expired key is deleted and its slot reused, in one transaction
// with the new key (replaceExpired). The cap is checked first, so this costs
// a Query only when the cap refuses.
func (s *Store) Create(ctx context.Context, k accesskey.Key, sealed accesskey.SealedSecret, policy accesskey.KeyPolicy, audit accesskey.Audit) error {
	put, err := s.txPutKey(k, sealed)
	if err != nil {
		return err
	}
	takeSlot, err := s.txTakeSlot(k.TeamID, k.MemberID)
	if err != nil {
		return err
	}
	policyCheck, err := s.txPolicyCheck(k.TeamID, k.MemberID, policy)
	if err != nil {
		return err
	}
	created := audit.Record(accesskey.AuditKeyCreated, k.Ref())
	created.StatusAfter, created.ExpiresAt, created.RotatedFrom = k.Status, k.ExpiresAt, k.RotatedFrom
	actions, replayAt, err := s.withRecords([]types.TransactWriteItem{takeSlot, put, policyCheck}, sealed.Replay, created)
	if err != nil {
		return err
	}
	failed, err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
	switch {
	case err != nil:
		return fmt.Errorf("create key %s: %w", k.AccessKeyID, err)
	case failed == replayAt:
		return fmt.Errorf("create key %s: %w", k.AccessKeyID, accesskey.ErrReplayRecordTaken)
	case failed == 0:
		return s.replaceExpired(ctx, k, put, policyCheck, sealed.Replay, audit, created)
	case failed == 1:
		// 100 random bits make this practically impossible; refuse rather
		// than overwrite another key.
		return fmt.Errorf("create key %s: id already in use", k.AccessKeyID)
	case failed == 2:
		return fmt.Errorf("create key %s: %w", k.AccessKeyID, accesskey.ErrPolicyChanged)
	case failed != noConditionFailed:
		return fmt.Errorf("create key %s: condition %d failed", k.AccessKeyID, failed)
	}
	return nil
}

// withRecords appends a change's audit records and, last, its replay record
// (if any) to its actions, and says where the replay record is
// (noReplayRecord: none).
// Every change carries its audit records in its own transaction: no change
// without its record, no record without its change.
func (s *Store) withRecords(actions []types.TransactWriteItem, replay *accesskey.ReplayRecord, records ...accesskey.AuditRecord) ([]types.TransactWriteItem, int, error) {
	for _, rec := range records {
		put, err := s.txPutAudit(rec)
		if err != nil {
			return nil, 0, err
		}
		actions = append(actions, put)
	}
	if replay == nil {
		return actions, noReplayRecord, nil
	}
	put, err := s.txPutReplay(*replay)
	if err != nil {
		return nil, 0, err
	}
	return append(actions, put), len(actions), nil
}

// replaceExpired puts the new key in the slot of one of its member's expired
// keys, deleting that key in the same transaction (through the same
// conditional delete as an admin's, plus the condition that it has expired).
// Without an expired key, the member is at the cap.
func (s *Store) replaceExpired(ctx context.Context, k accesskey.Key, put, policyCheck types.TransactWriteItem, replay *accesskey.ReplayRecord, audit accesskey.Audit, created accesskey.AuditRecord) error {
	atCap := fmt.Errorf("create key for member %s: %w", k.MemberID, accesskey.ErrLimitExceeded)
	keys, err := s.ListMember(ctx, k.TeamID, k.MemberID)
	if err != nil {
		return err
	}
	now := s.now()
	for _, old := range keys { // oldest first
		if !old.Expired(now) {
			continue
		}
		expired := expiredAt(now)
		del, err := s.txDeleteKey(old.Ref(), &expired)
		if err != nil {
			return err
		}
		gone := audit.Record(accesskey.AuditKeyExpired, old.Ref())
		gone.StatusBefore, gone.ExpiresAt = old.Status, old.ExpiresAt
		actions, replayAt, err := s.withRecords([]types.TransactWriteItem{del, put, policyCheck}, replay, created, gone)
		if err != nil {
			return err
		}
		failed, err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
		switch {
		case err != nil:
			return fmt.Errorf("create key %s in place of %s: %w", k.AccessKeyID, old.AccessKeyID, err)
		case failed == replayAt:
			return fmt.Errorf("create key %s: %w", k.AccessKeyID, accesskey.ErrReplayRecordTaken)
		case failed == 0:
			continue // gone already (the sweep, an admin): try the next
		case failed == 1:
			return fmt.Errorf("create key %s: id already in use", k.AccessKeyID)
		case failed == 2:
			return fmt.Errorf("create key %s: %w", k.AccessKeyID, accesskey.ErrPolicyChanged)
		}
		return nil
	}
	return atCap
}

// Rotate replaces a key with a new one in one transaction. With an expiry
// for the old key, it takes a slot for the new one (or an expired key's),
// marks the old key rotated (once: a second rotation of it is refused) and
// sets its expiry, and the member needs a free slot. Without one (a grace
// of zero), the old key is deleted and the new one takes its slot, so a
// member at the cap can always rotate. Either way the team's policy must
// still be the one the new key's expiry came from.
func (s *Store) Rotate(ctx context.Context, r accesskey.Rotation) error {
	put, err := s.txPutKey(r.New, r.Sealed)
	if err != nil {
		return err
	}
	policyCheck, err := s.txRotationPolicyCheck(r)
	if err != nil {
		return err
	}
	rotated := r.Audit.Record(accesskey.AuditKeyRotated, r.New.Ref())
	rotated.StatusBefore, rotated.StatusAfter, rotated.ExpiresAt, rotated.RotatedFrom = r.Old.Status, r.New.Status, r.New.ExpiresAt, r.Old.AccessKeyID
	unchanged := selfRotationHold(r, notRotated(r.Old))
	if r.OldExpiresAt == nil {
		del, err := s.txDeleteKey(r.Old.Ref(), &unchanged)
		if err != nil {
			return err
		}
		return s.rotateOutcome(ctx, r, []types.TransactWriteItem{del, put, policyCheck}, -1, rotated)
	}
	retire, err := s.txRetireKey(r.Old, r.New.AccessKeyID, *r.OldExpiresAt, unchanged)
	if err != nil {
		return err
	}
	takeSlot, err := s.txTakeSlot(r.New.TeamID, r.New.MemberID)
	if err != nil {
		return err
	}
	err = s.rotateOutcome(ctx, r, []types.TransactWriteItem{retire, put, policyCheck, takeSlot}, 3, rotated)
	if !errors.Is(err, accesskey.ErrLimitExceeded) {
		return err
	}
	// At the cap: reuse an expired key's slot, as a generate does.
	keys, err := s.ListMember(ctx, r.New.TeamID, r.New.MemberID)
	if err != nil {
		return err
	}
	now := s.now()
	for _, other := range keys {
		if other.AccessKeyID == r.Old.AccessKeyID || !other.Expired(now) {
			continue
		}
		expired := expiredAt(now)
		del, err := s.txDeleteKey(other.Ref(), &expired)
		if err != nil {
			return err
		}
		gone := r.Audit.Record(accesskey.AuditKeyExpired, other.Ref())
		gone.StatusBefore, gone.ExpiresAt = other.Status, other.ExpiresAt
		err = s.rotateOutcome(ctx, r, []types.TransactWriteItem{retire, put, policyCheck, del}, 3, rotated, gone)
		if errors.Is(err, accesskey.ErrLimitExceeded) {
			continue // that one is gone already: try the next
		}
		return err
	}
	return fmt.Errorf("rotate key %s: %w", r.Old.AccessKeyID, accesskey.ErrRotateAtCap)
}

// rotateOutcome runs a rotation's transaction: [the old key's change, the
// new key, the policy check, and the slot at slotAction (-1: none)].
func (s *Store) rotateOutcome(ctx context.Context, r accesskey.Rotation, change []types.TransactWriteItem, slotAction int, records ...accesskey.AuditRecord) error {
	actions, replayAt, err := s.withRecords(change, r.Sealed.Replay, records...)
	if err != nil {
		return err
	}
	failed, err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
	switch {
	case err != nil:
		return fmt.Errorf("rotate key %s: %w", r.Old.AccessKeyID, err)
	case failed == noConditionFailed:
		return nil
	case failed == replayAt:
		return fmt.Errorf("rotate key %s: %w", r.Old.AccessKeyID, accesskey.ErrReplayRecordTaken)
	case failed == 0:
		// Gone, moved, or rotated by someone else meanwhile.
		return s.rotateRefusal(ctx, r)
	case failed == 1:
		return fmt.Errorf("rotate key %s: new id %s already in use", r.Old.AccessKeyID, r.New.AccessKeyID)
	case failed == 2:
		return fmt.Errorf("rotate key %s: %w", r.Old.AccessKeyID, accesskey.ErrPolicyChanged)
	case failed == slotAction:
		return fmt.Errorf("rotate key %s: %w", r.Old.AccessKeyID, accesskey.ErrLimitExceeded)
	}
	return fmt.Errorf("rotate key %s: condition %d failed", r.Old.AccessKeyID, failed)
}

// rotateRefusal tells why the old key's condition failed: it is gone (or
// belongs elsewhere), or it was rotated or changed since it was read.
func (s *Store) rotateRefusal(ctx context.Context, r accesskey.Rotation) error {
	proj := shownProjection()
	it, err := s.getKeyItem(ctx, r.Old.AccessKeyID, &proj)
	switch {
	case errors.Is(err, accesskey.ErrNotFound):
		return fmt.Errorf("rotate key %s: %w", r.Old.AccessKeyID, accesskey.ErrNotFound)
	case err != nil:
		return err
	case it.TeamID != r.Old.TeamID || it.MemberID != r.Old.MemberID:
		return fmt.Errorf("rotate key %s: %w", r.Old.AccessKeyID, accesskey.ErrNotFound)
	}
	if r.Self && it.Status != string(accesskey.StatusActive) {
		return fmt.Errorf("rotate key %s: %w", r.Old.AccessKeyID, accesskey.ErrKeyDisabled)
	}
	return fmt.Errorf("rotate key %s: %w", r.Old.AccessKeyID, accesskey.ErrAlreadyRotated)
}

// notRotated is the condition that a key is as it was read for a rotation:
// not rotated yet, its expiry unchanged, and its description and
// restrictions (which the new key copies) unchanged (restrictions.go).
func notRotated(old accesskey.Key) expression.ConditionBuilder {
	at := expression.Name(attrExpiresAt)
	same := expression.AttributeNotExists(at)
	if old.ExpiresAt != nil {
		same = at.Equal(expression.Value(old.ExpiresAt.UTC().Format(timestampLayout)))
	}
	return expression.AttributeNotExists(expression.Name(attrRotatedTo)).And(same).And(sameRestrictions(old))
}

// txRetireKey marks a key rotated to newID and sets its expiry (and its
// place in the ByExpiry index), under the key's ownership and cond.
func (s *Store) txRetireKey(old accesskey.Key, newID string, expiresAt time.Time, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	at := expiresAt.UTC().Format(timestampLayout)
	e, err := expression.NewBuilder().
		WithUpdate(expression.
			Set(expression.Name(attrRotatedTo), expression.Value(newID)).
			Set(expression.Name(attrExpiresAt), expression.Value(at)).
			Set(expression.Name(attrGSI2PK), expression.Value(expiryPartitionOf(old.AccessKeyID))).
			Set(expression.Name(attrGSI2SK), expression.Value(expirySortKey(at, old.AccessKeyID)))).
		WithCondition(ownedBy(old.Ref()).And(cond)).
		Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return s.txUpdate(itemKey(old.AccessKeyID), e), nil
}

// Delete removes a key of the member the ref names and frees its slot in the
// same transaction. A key that does not exist, or belongs to another member
// or team, is ErrNotFound and nothing changes.
func (s *Store) Delete(ctx context.Context, ref accesskey.Ref, audit accesskey.Audit) error {
	return s.delete(ctx, ref, nil, audit.Record(accesskey.AuditKeyDeleted, ref))
}

// DeleteExpired is Delete for the expiry sweep: the same conditional delete,
// plus the condition that the key has expired at now.
func (s *Store) DeleteExpired(ctx context.Context, ref accesskey.Ref, now time.Time) error {
	c := expiredAt(now)
	return s.delete(ctx, ref, &c, accesskey.Audit{Actor: accesskey.SystemActor("sweep"), At: now}.Record(accesskey.AuditKeyExpired, ref))
}

func (s *Store) delete(ctx context.Context, ref accesskey.Ref, also *expression.ConditionBuilder, record accesskey.AuditRecord) error {
	del, err := s.txDeleteKey(ref, also)
	if err != nil {
		return err
	}
	freeSlot, err := s.txFreeSlot(ref.TeamID, ref.MemberID)
	if err != nil {
		return err
	}
	actions, _, err := s.withRecords([]types.TransactWriteItem{del, freeSlot}, nil, record)
	if err != nil {
		return err
	}
	failed, err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
	switch {
	case err != nil:
		return fmt.Errorf("delete key %s: %w", ref.AccessKeyID, err)
	case failed == 0:
		return fmt.Errorf("delete key %s: %w", ref.AccessKeyID, accesskey.ErrNotFound)
	case failed == 1:
		return fmt.Errorf("delete key %s: member %s/%s has a key but a zero slot counter", ref.AccessKeyID, ref.TeamID, ref.MemberID)
	}
	return nil
}

// DeleteMemberKeys deletes every key of a member, each through Delete (its
// own conditional transaction, slot and all), and returns the ids it
// deleted. The member's keys are found in the ByTeam index, eventually
// consistent on AWS: until the member's slot counter, read strongly
// consistent, says no key is left, it looks again (a few times, briefly),
// so that a key generated a moment before is not missed. Running it again
// deletes nothing more: it is idempotent.
func (s *Store) DeleteMemberKeys(ctx context.Context, teamID, memberID string, audit accesskey.Audit) ([]string, error) {
	deleted := []string{}
	for attempt := 0; ; attempt++ {
		keys, err := s.ListMember(ctx, teamID, memberID)
		if err != nil {
			return deleted, err
		}
		for _, k := range keys {
			err := s.Delete(ctx, k.Ref(), audit)
			if errors.Is(err, accesskey.ErrNotFound) {
				continue // gone meanwhile
			}
			if err != nil {
				return deleted, err
			}
			deleted = append(deleted, k.AccessKeyID)
		}
		left, err := s.slotsTaken(ctx, teamID, memberID)
		if err != nil || left == 0 {
			return deleted, err
		}
		if attempt == 4 {
			return deleted, fmt.Errorf("offboard %s/%s: %d key(s) still counted: %w", teamID, memberID, left, accesskey.ErrUnavailable)
		}
		select {
		case <-ctx.Done():
			return deleted, fmt.Errorf("%w: %w", accesskey.ErrUnavailable, ctx.Err())
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
	}
}

// slotsTaken is the member's slot counter, strongly consistent.
func (s *Store) slotsTaken(ctx context.Context, teamID, memberID string) (int, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                &s.table,
		Key:                      counterKey(teamID, memberID),
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#c"),
		ExpressionAttributeNames: map[string]string{"#c": attrKeyCount},
	})
	if err != nil {
		return 0, fmt.Errorf("get slot counter of %s/%s: %w", teamID, memberID, awsclient.Classify(err))
	}
	var c struct {
		KeyCount int `dynamodbav:"keyCount"`
	}
	if err := attributevalue.UnmarshalMap(out.Item, &c); err != nil {
		return 0, fmt.Errorf("unmarshal slot counter of %s/%s: %w", teamID, memberID, err)
	}
	return c.KeyCount, nil
}

// SetStatus sets a key's status and returns the key as it now is. It reads
// the key (strongly consistent, no ciphertext), then writes the status and
// the change's audit record in one transaction that holds the status to
// the one read: a concurrent change means reading again. Setting the status
// a key already has succeeds, writes nothing and records nothing.
func (s *Store) SetStatus(ctx context.Context, ref accesskey.Ref, status accesskey.Status, audit accesskey.Audit) (accesskey.Key, error) {
	for attempt := 1; ; attempt++ {
		k, err := s.GetKey(ctx, ref)
		if err != nil {
			return accesskey.Key{}, err
		}
		if status == accesskey.StatusActive && k.Leaked() {
			// Never undone (only the item's delete removes it); the
			// write's condition holds it too (leaked.go notLeaked).
			return accesskey.Key{}, accesskey.KeyLeaked(k)
		}
		if k.Status == status {
			return k, nil
		}
		action := accesskey.AuditKeyDisabled
		if status == accesskey.StatusActive {
			action = accesskey.AuditKeyEnabled
		}
		rec := audit.Record(action, ref)
		rec.StatusBefore, rec.StatusAfter, rec.ExpiresAt = k.Status, status, k.ExpiresAt
		written, err := s.writeStatus(ctx, ref, rec)
		switch {
		case err != nil:
			return accesskey.Key{}, err
		case written:
			k.Status = status
			return k, nil
		case attempt == 3:
			return accesskey.Key{}, fmt.Errorf("set status of %s: changed meanwhile, 3 times: %w", ref.AccessKeyID, accesskey.ErrUnavailable)
		}
		// Gone, or its status changed meanwhile: read it again.
	}
}

// writeStatus writes the key's status rec.StatusAfter, held to its owner and
// to the status rec.StatusBefore, and an enable to a key no leak report
// disabled (leaked.go), with rec, in one transaction; false when that
// condition failed (the key gone, its status another, or leaked).
func (s *Store) writeStatus(ctx context.Context, ref accesskey.Ref, rec accesskey.AuditRecord) (bool, error) {
	st := expression.Name(attrStatus)
	cond := ownedBy(ref).And(st.Equal(expression.Value(string(rec.StatusBefore))))
	if rec.StatusAfter == accesskey.StatusActive {
		cond = cond.And(notLeaked())
	}
	e, err := expression.NewBuilder().
		WithUpdate(expression.Set(st, expression.Value(string(rec.StatusAfter)))).
		WithCondition(cond).
		Build()
	if err != nil {
		return false, err
	}
	return s.writeKeyUpdate(ctx, ref, e, rec)
}

// Get returns a key and its secret's ciphertext with one strongly consistent
// GetItem, so that a key disabled or deleted a moment ago is seen as such.
func (s *Store) Get(ctx context.Context, accessKeyID string) (accesskey.Key, []byte, error) {
	it, err := s.getKeyItem(ctx, accessKeyID, nil)
	if err != nil {
		return accesskey.Key{}, nil, err
	}
	k, err := it.key()
	return k, it.SecretCiphertext, err
}

// GetKey returns the key the ref names, strongly consistent, without reading
// its secret's ciphertext (a projection): a key of another member or team is
// ErrNotFound.
func (s *Store) GetKey(ctx context.Context, ref accesskey.Ref) (accesskey.Key, error) {
	proj := shownProjection()
	it, err := s.getKeyItem(ctx, ref.AccessKeyID, &proj)
	if err != nil {
		return accesskey.Key{}, err
	}
	if it.TeamID != ref.TeamID || it.MemberID != ref.MemberID {
		return accesskey.Key{}, fmt.Errorf("get key %s: %w", ref.AccessKeyID, accesskey.ErrNotFound)
	}
	return it.key()
}

// shownProjection reads a key item's key and shown attributes: never its
// ciphertext (the roles that read keys this way may read no more).
func shownProjection() expression.ProjectionBuilder {
	proj := expression.NamesList(expression.Name(attrPK))
	for _, name := range append(shownAttributes[:len(shownAttributes):len(shownAttributes)], leakAttributes...) {
		proj = proj.AddNames(expression.Name(name))
	}
	return proj
}

func (s *Store) getKeyItem(ctx context.Context, accessKeyID string, proj *expression.ProjectionBuilder) (keyItem, error) {
	input := &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            itemKey(accessKeyID),
		ConsistentRead: aws.Bool(true),
	}
	if proj != nil {
		e, err := expression.NewBuilder().WithProjection(*proj).Build()
		if err != nil {
			return keyItem{}, err
		}
		input.ProjectionExpression = e.Projection()
		input.ExpressionAttributeNames = e.Names()
	}
	out, err := s.db.GetItem(ctx, input)
	if err != nil {
		return keyItem{}, fmt.Errorf("get key %s: %w", accessKeyID, awsclient.Classify(err))
	}
	if out.Item == nil {
		return keyItem{}, fmt.Errorf("get key %s: %w", accessKeyID, accesskey.ErrNotFound)
	}
	var it keyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return keyItem{}, fmt.Errorf("unmarshal key %s: %w", accessKeyID, err)
	}
	return it, nil
}

// RecordUse records that a key verified a request at the given time, from
// sourceIP with scheme, unless a use within accesskey.LastUseInterval before it is
// already recorded. The condition also keeps lastUsedAt from going back in
// time when writes arrive out of order. It returns whether it wrote.
func (s *Store) RecordUse(ctx context.Context, ref accesskey.Ref, at time.Time, sourceIP, scheme string) (bool, error) {
	last := expression.Name(attrLastUsedAt)
	expr, err := expression.NewBuilder().
		WithUpdate(expression.
			Set(last, expression.Value(at.UTC().Format(timestampLayout))).
			Set(expression.Name(attrLastUsedIP), expression.Value(sourceIP)).
			Set(expression.Name(attrLastUsedScheme), expression.Value(scheme))).
		WithCondition(ownedBy(ref).And(expression.Or(
			expression.AttributeNotExists(last),
			last.LessThan(expression.Value(at.Add(-accesskey.LastUseInterval).UTC().Format(timestampLayout)))))).
		Build()
	if err != nil {
		return false, err
	}
	_, err = s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &s.table,
		Key:                       itemKey(ref.AccessKeyID),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	})
	var condErr *types.ConditionalCheckFailedException
	switch {
	case errors.As(err, &condErr):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("record use of %s: %w", ref.AccessKeyID, awsclient.Classify(err))
	}
	return true, nil
}

func cursorFromAttributes(av map[string]types.AttributeValue) map[string]string {
	c := map[string]string{}
	for name, v := range av {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			c[name] = s.Value
		}
	}
	return c
}

func cursorAttributes(c map[string]string) map[string]types.AttributeValue {
	av := make(map[string]types.AttributeValue, len(c))
	for name, v := range c {
		av[name] = &types.AttributeValueMemberS{Value: v}
	}
	return av
}

// txPutKey puts a new key item, only if its id is new.
func (s *Store) txPutKey(k accesskey.Key, sealed accesskey.SealedSecret) (types.TransactWriteItem, error) {
	item, err := marshalKeyItem(newKeyItem(k, sealed.Ciphertext, sealed.SHA256))
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("marshal key item: %w", err)
	}
	return s.txPut(item, expression.AttributeNotExists(expression.Name(attrPK)))
}

// txTakeSlot takes one of the member's slots, only while it holds fewer
// than the cap: the cap's enforcement.
func (s *Store) txTakeSlot(teamID, memberID string) (types.TransactWriteItem, error) {
	count := expression.Name(attrKeyCount)
	e, err := expression.NewBuilder().
		WithUpdate(expression.
			Add(count, expression.Value(1)).
			Set(expression.Name(attrTeamID), expression.Value(teamID)).
			Set(expression.Name(attrMemberID), expression.Value(memberID))).
		WithCondition(expression.AttributeNotExists(count).
			Or(count.LessThan(expression.Value(accesskey.MaxKeysPerMember)))).
		Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return s.txUpdate(counterKey(teamID, memberID), e), nil
}

// txFreeSlot frees one of the member's slots.
func (s *Store) txFreeSlot(teamID, memberID string) (types.TransactWriteItem, error) {
	count := expression.Name(attrKeyCount)
	e, err := expression.NewBuilder().
		WithUpdate(expression.Add(count, expression.Value(-1))).
		WithCondition(count.GreaterThan(expression.Value(0))).
		Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return s.txUpdate(counterKey(teamID, memberID), e), nil
}

// txDeleteKey deletes a key of the member the ref names, and only of that
// member (plus the condition also, when given).
func (s *Store) txDeleteKey(ref accesskey.Ref, also *expression.ConditionBuilder) (types.TransactWriteItem, error) {
	cond := ownedBy(ref)
	if also != nil {
		cond = cond.And(*also)
	}
	e, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Delete: &types.Delete{
		TableName:                 &s.table,
		Key:                       itemKey(ref.AccessKeyID),
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}}, nil
}

// expiredAt is the condition that a key item has expired at now.
func expiredAt(now time.Time) expression.ConditionBuilder {
	at := expression.Name(attrExpiresAt)
	return expression.AttributeExists(at).And(at.LessThanEqual(expression.Value(now.UTC().Format(timestampLayout))))
}

// txUpdate is a transaction's conditional Update of the item at key.
func (s *Store) txUpdate(key map[string]types.AttributeValue, e expression.Expression) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName:                 &s.table,
		Key:                       key,
		UpdateExpression:          e.Update(),
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}}
}

// ownedBy is the condition that a key item exists under the ref's team and
// member: a key is never touched through another member's or team's path.
func ownedBy(ref accesskey.Ref) expression.ConditionBuilder {
	return expression.AttributeExists(expression.Name(attrPK)).
		And(expression.Name(attrTeamID).Equal(expression.Value(ref.TeamID))).
		And(expression.Name(attrMemberID).Equal(expression.Value(ref.MemberID)))
}

func itemKey(accessKeyID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: keyPK(accessKeyID)},
		attrSK: &types.AttributeValueMemberS{Value: skKey},
	}
}

func counterKey(teamID, memberID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: counterPK(teamID, memberID)},
		attrSK: &types.AttributeValueMemberS{Value: skCounter},
	}
}

// txPutReplay writes an idempotency key's replay record, unless one that has
// not expired is there already.
func (s *Store) txPutReplay(rec accesskey.ReplayRecord) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(replayItem{
		PK: replayPK(rec.ID), SK: skReplay, RequestHash: rec.RequestHash, Status: rec.Status, Answer: rec.Ciphertext,
		CreatedAt: rec.CreatedAt.UTC().Format(timestampLayout), TTL: rec.ExpiresAt.Unix(),
	})
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("marshal replay record: %w", err)
	}
	return s.txPut(item, expression.AttributeNotExists(expression.Name(attrPK)).
		Or(expression.Name(attrTTL).LessThan(expression.Value(rec.CreatedAt.Unix()))))
}

// txPutAudit writes an audit record (its event id is new: the condition
// only guards against a collision).
func (s *Store) txPutAudit(r accesskey.AuditRecord) (types.TransactWriteItem, error) {
	item, err := attributevalue.MarshalMap(newAuditItem(r, s.auditRetention))
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("marshal audit record: %w", err)
	}
	return s.txPut(item, expression.AttributeNotExists(expression.Name(attrPK)))
}

// txPut is a transaction's Put of item under cond.
func (s *Store) txPut(item map[string]types.AttributeValue, cond expression.ConditionBuilder) (types.TransactWriteItem, error) {
	e, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	return types.TransactWriteItem{Put: &types.Put{
		TableName:                 &s.table,
		Item:                      item,
		ConditionExpression:       e.Condition(),
		ExpressionAttributeNames:  e.Names(),
		ExpressionAttributeValues: e.Values(),
	}}, nil
}

func isReplayPut(p *types.Put) bool {
	pk, _ := p.Item[attrPK].(*types.AttributeValueMemberS)
	return pk != nil && strings.HasPrefix(pk.Value, prefixReplay)
}

// Replay returns the replay record of an idempotency key, strongly
// consistent; false when there is none, or it has expired.
func (s *Store) Replay(ctx context.Context, recordID string) (accesskey.ReplayRecord, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.table,
		Key: map[string]types.AttributeValue{
			attrPK: &types.AttributeValueMemberS{Value: replayPK(recordID)},
			attrSK: &types.AttributeValueMemberS{Value: skReplay},
		},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return accesskey.ReplayRecord{}, false, fmt.Errorf("get replay record: %w", awsclient.Classify(err))
	}
	if out.Item == nil {
		return accesskey.ReplayRecord{}, false, nil
	}
	var it replayItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return accesskey.ReplayRecord{}, false, fmt.Errorf("unmarshal replay record: %w", err)
	}
	expires := time.Unix(it.TTL, 0)
	if !s.now().Before(expires) {
		return accesskey.ReplayRecord{}, false, nil
	}
	created, _ := time.Parse(timestampLayout, it.CreatedAt)
	return accesskey.ReplayRecord{ID: recordID, RequestHash: it.RequestHash, Status: it.Status, Ciphertext: it.Answer,
		CreatedAt: created, ExpiresAt: expires}, true, nil
}

// noReplayRecord is withRecords' index of a replay record when there is
// none: no index transact returns.
const noReplayRecord = -2

// noConditionFailed is what transact returns when the transaction succeeded.
const noConditionFailed = -1

// transact runs a transaction, retrying it with jittered exponential backoff
// while DynamoDB cancels it for a conflict with another transaction. It
// returns the index of the first action whose condition failed, or
// noConditionFailed when the transaction went through.
func (s *Store) transact(ctx context.Context, input *dynamodb.TransactWriteItemsInput) (int, error) {
	delay := s.retry.BaseDelay
	for attempt := 1; ; attempt++ {
		_, err := s.db.TransactWriteItems(ctx, input)
		if err == nil {
			return noConditionFailed, nil
		}
		var cancelled *types.TransactionCanceledException
		if !errors.As(err, &cancelled) {
			return noConditionFailed, awsclient.Classify(err)
		}
		// A replay record, always the last action, is reported first: a
		// concurrent request with the same idempotency key got there first,
		// and its answer is this request's too.
		if n := len(cancelled.CancellationReasons); n == len(input.TransactItems) && n > 0 &&
			input.TransactItems[n-1].Put != nil && isReplayPut(input.TransactItems[n-1].Put) &&
			aws.ToString(cancelled.CancellationReasons[n-1].Code) == "ConditionalCheckFailed" {
			return n - 1, nil
		}
		conflict := false
		for i, reason := range cancelled.CancellationReasons {
			switch aws.ToString(reason.Code) {
			case "ConditionalCheckFailed":
				return i, nil
			case "TransactionConflict":
				conflict = true
			case "ThrottlingError", "ProvisionedThroughputExceeded":
				return noConditionFailed, fmt.Errorf("%w: %v", accesskey.ErrUnavailable, err)
			}
		}
		if !conflict {
			return noConditionFailed, err
		}
		if attempt >= s.retry.Attempts {
			return noConditionFailed, fmt.Errorf("%w: transaction still conflicting after %d attempts", accesskey.ErrUnavailable, attempt)
		}
		// Full jitter: concurrent writers that collided spread out.
		wait := time.Duration(rand.Int64N(int64(delay) + 1))
		select {
		case <-ctx.Done():
			return noConditionFailed, fmt.Errorf("%w: %v", accesskey.ErrUnavailable, ctx.Err())
		case <-time.After(wait):
		}
		delay = min(2*delay, s.retry.MaxDelay)
	}
}

// indexBySecretHash is the sparse index on a key item's secretSha256: a
// leaked secret's key in one Query.
const indexBySecretHash = "BySecretHash"

// DisableLeaked disables the key whose secret hashes to secretSHA256 (hex),
// found with one Query of the BySecretHash index (teamId, memberId and
// status projected; eventually consistent on AWS), and of teamID only when
// teamID is not empty. The status and the AccessKeyLeaked audit record are
// one transaction, held to the key's team and member and to the status
// read. A key already Inactive is written Inactive again, with its record,
// unless the leak's URL is the one last recorded for it (leak.go): a
// report repeated (GitHub retries) writes nothing; a new URL is on the
// record, statusBefore telling a repeat. It returns the key's ref and
// whether a key matched; no match writes nothing.
func (s *Store) DisableLeaked(ctx context.Context, secretSHA256, teamID string, leak accesskey.Leak, audit accesskey.Audit) (accesskey.Ref, bool, error) {
	expr, err := expression.NewBuilder().WithKeyCondition(
		expression.Key(attrSecretSHA256).Equal(expression.Value(secretSHA256))).Build()
	if err != nil {
		return accesskey.Ref{}, false, err
	}
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:                 &s.table,
		IndexName:                 aws.String(indexBySecretHash),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		Limit:                     aws.Int32(2),
	})
	if err != nil {
		return accesskey.Ref{}, false, fmt.Errorf("query secret hash: %w", awsclient.Classify(err))
	}
	var items []keyItem
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		return accesskey.Ref{}, false, fmt.Errorf("unmarshal leaked key: %w", err)
	}
	if len(items) != 1 || (teamID != "" && items[0].TeamID != teamID) {
		// None, or (256 random bits make this practically impossible)
		// two keys of one secret: touch neither.
		return accesskey.Ref{}, false, nil
	}
	it := items[0]
	ref := it.ref()
	before := accesskey.Status(it.Status)
	// The index may be behind: on a failed condition, the other status.
	for _, st := range []accesskey.Status{before, otherStatus(before)} {
		done, err := s.disableLeaked(ctx, ref, st, leak, audit)
		if err != nil || done {
			return ref, done, err
		}
	}
	// Already disabled for this very leak, or gone (deleted) meanwhile.
	return s.leakRecorded(ctx, ref, leak)
}

func otherStatus(st accesskey.Status) accesskey.Status {
	if st == accesskey.StatusActive {
		return accesskey.StatusInactive
	}
	return accesskey.StatusActive
}

// disableLeaked writes the key's status Inactive and the leak's URL, held
// to its owner and to the status before (and, before Inactive, to another
// URL: leak.go), with its AccessKeyLeaked record; false when the condition
// failed.
func (s *Store) disableLeaked(ctx context.Context, ref accesskey.Ref, before accesskey.Status, leak accesskey.Leak, audit accesskey.Audit) (bool, error) {
	rec := audit.Record(accesskey.AuditKeyLeaked, ref)
	rec.StatusBefore, rec.StatusAfter, rec.Leak = before, accesskey.StatusInactive, leak
	return s.writeLeakDisable(ctx, ref, rec)
}
