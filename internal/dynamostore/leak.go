package dynamostore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// attrLeakURL is the key item's last reported leak URL: a report of the
// same URL again (GitHub retries a report it got no answer to) finds it and
// changes nothing, records nothing.
const attrLeakURL = "leakUrl"

// writeLeakDisable writes the key's status Inactive, leakedAt (the
// record's time: an enable's condition refuses it, leaked.go), and the
// leak's URL when it has one, with rec, in one transaction held to the key's owner
// and to the status rec.StatusBefore; from Inactive, also to a leak URL
// other than this one (none recorded, or another). No read decides it: a
// repeated report's transaction fails its condition and writes nothing.
// False when the condition failed.
func (s *Store) writeLeakDisable(ctx context.Context, ref accesskey.Ref, rec accesskey.AuditRecord) (bool, error) {
	st := expression.Name(attrStatus)
	update := expression.Set(st, expression.Value(string(accesskey.StatusInactive))).
		Set(expression.Name(attrLeakedAt), expression.Value(rec.Time.UTC().Format(timestampLayout)))
	cond := ownedBy(ref).And(st.Equal(expression.Value(string(rec.StatusBefore))))
	if url := rec.Leak.URL; url != "" {
		at := expression.Name(attrLeakURL)
		update = update.Set(at, expression.Value(url))
		if rec.StatusBefore == accesskey.StatusInactive {
			cond = cond.And(expression.AttributeNotExists(at).Or(at.NotEqual(expression.Value(url))))
		}
	}
	e, err := expression.NewBuilder().WithUpdate(update).WithCondition(cond).Build()
	if err != nil {
		return false, err
	}
	return s.writeKeyUpdate(ctx, ref, e, rec)
}

// writeKeyUpdate runs the update e of ref's key item with rec in one
// transaction; false when e's condition failed.
func (s *Store) writeKeyUpdate(ctx context.Context, ref accesskey.Ref, e expression.Expression, rec accesskey.AuditRecord) (bool, error) {
	actions, _, err := s.withRecords([]types.TransactWriteItem{s.txUpdate(itemKey(ref.AccessKeyID), e)}, nil, rec)
	if err != nil {
		return false, err
	}
	failed, err := s.transact(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions})
	switch {
	case err != nil:
		return false, fmt.Errorf("%s %s: %w", rec.Action, ref.AccessKeyID, err)
	case failed == 0:
		return false, nil
	case failed != noConditionFailed:
		return false, fmt.Errorf("%s %s: condition %d failed", rec.Action, ref.AccessKeyID, failed)
	}
	return true, nil
}

// leakRecorded tells, after DisableLeaked's writes both failed their
// conditions, a key already disabled for this very leak (matched: nothing
// to write) from one gone meanwhile (no match), with one strongly
// consistent GetItem projected to the key's owner, status and leak URL.
// A leak without a URL (an admin's report) is never a repeat.
func (s *Store) leakRecorded(ctx context.Context, ref accesskey.Ref, leak accesskey.Leak) (accesskey.Ref, bool, error) {
	if leak.URL == "" {
		return accesskey.Ref{}, false, nil
	}
	proj := expression.NamesList(expression.Name(attrPK), expression.Name(attrTeamID), expression.Name(attrMemberID),
		expression.Name(attrStatus), expression.Name(attrLeakURL))
	it, err := s.getKeyItem(ctx, ref.AccessKeyID, &proj)
	switch {
	case errors.Is(err, accesskey.ErrNotFound):
		return accesskey.Ref{}, false, nil
	case err != nil:
		return accesskey.Ref{}, false, err
	}
	if it.TeamID == ref.TeamID && it.MemberID == ref.MemberID && it.Status == string(accesskey.StatusInactive) && it.LeakURL == leak.URL {
		return ref, true, nil
	}
	return accesskey.Ref{}, false, nil
}
