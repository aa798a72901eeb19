package dynamostore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// A key's restrictions (items.go): allowedCidrs and scopes, each a List of
// Strings in canonical form, absent when unrestricted. scopes may be an
// empty List (the key grants nothing); attributevalue would marshal an
// empty slice to NULL, or drop it with omitempty, so listValue writes the
// List itself.
//
// Races with a rotation (UpdateKey and Rotate): a rotation copies the old
// key's description and restrictions to the new key, so its transaction
// holds the old key to the values it copied (notRotated), and an update
// holds the key to not being rotated (attribute_not_exists(rotatedTo)) and
// to the values it read. Whichever commits first wins, the other fails its
// condition: an update after a rotation is 409 AlreadyRotated (update the
// new key), a rotation after an update is 409 too, and the update lives on
// the key that survives either way. An update racing a rotation without a
// grace period (the old key deleted) finds the key gone: 404.

// maxUpdateAttempts bounds UpdateKey's reads and writes when the key keeps
// changing under it.
const maxUpdateAttempts = 3

// listValue is a restriction list as a DynamoDB List of Strings (empty
// included).
func listValue(list []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(list))
	for i, s := range list {
		l[i] = &types.AttributeValueMemberS{Value: s}
	}
	return &types.AttributeValueMemberL{Value: l}
}

// marshalKeyItem is it as an item: an empty (not nil) scopes or
// allowedCidrs is written as an empty List, which omitempty would drop.
func marshalKeyItem(it keyItem) (map[string]types.AttributeValue, error) {
	item, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, err
	}
	if it.AllowedCIDRs != nil {
		item[attrAllowedCIDRs] = listValue(it.AllowedCIDRs)
	}
	if it.Scopes != nil {
		item[attrScopes] = listValue(it.Scopes)
	}
	return item, nil
}

// sameList is the condition that a list attribute is list (absent: nil).
func sameList(name string, list []string) expression.ConditionBuilder {
	if list == nil {
		return expression.AttributeNotExists(expression.Name(name))
	}
	return expression.Name(name).Equal(expression.Value(listValue(list)))
}

// sameRestrictions is the condition that a key item's description and
// restrictions are still k's.
func sameRestrictions(k accesskey.Key) expression.ConditionBuilder {
	return expression.Name(attrDescription).Equal(expression.Value(k.Description)).
		And(sameList(attrAllowedCIDRs, k.AllowedCIDRs)).
		And(sameList(attrScopes, k.Scopes))
}

// setList sets or (nil) removes a list attribute.
func setList(u expression.UpdateBuilder, name string, list []string) expression.UpdateBuilder {
	if list == nil {
		return u.Remove(expression.Name(name))
	}
	return u.Set(expression.Name(name), expression.Value(listValue(list)))
}

// UpdateKey changes a key's description and restrictions as u says and
// returns the key as it now is. It reads the key (strongly consistent, no
// ciphertext), then writes the fields that change and the AccessKeyUpdated
// audit record (each field before and after) in one transaction, held to
// the key's owner, to the values read and to the key not being rotated:
// the "before" is what the write overwrote. A key changed meanwhile is read
// again; a key gone is ErrNotFound; a key rotated (before or meanwhile) is
// ErrAlreadyRotated. An update that changes nothing writes nothing and
// records nothing.
func (s *Store) UpdateKey(ctx context.Context, ref accesskey.Ref, u accesskey.KeyUpdate, audit accesskey.Audit) (accesskey.Key, error) {
	for attempt := 1; ; attempt++ {
		policy, err := s.updatePolicy(ctx, ref, u)
		if err != nil {
			return accesskey.Key{}, err
		}
		old, err := s.GetKey(ctx, ref)
		if err != nil {
			return accesskey.Key{}, err
		}
		k, changes := u.Apply(old)
		if changes == nil {
			return k, nil
		}
		rec := audit.Record(accesskey.AuditKeyUpdated, ref)
		rec.KeyChanges = changes
		written, err := s.writeUpdate(ctx, ref, old, k, policy, rec)
		switch {
		case errors.Is(err, accesskey.ErrPolicyChanged) && attempt < maxUpdateAttempts:
			continue
		case errors.Is(err, accesskey.ErrPolicyChanged):
			return accesskey.Key{}, fmt.Errorf("update key %s: %w: %w", ref.AccessKeyID, accesskey.ErrUnavailable, err)
		case err != nil:
			return accesskey.Key{}, err
		case written:
			return k, nil
		}
		// Gone, rotated, or changed meanwhile.
		now, err := s.GetKey(ctx, ref)
		switch {
		case err != nil:
			return accesskey.Key{}, err
		case accesskey.SameRestrictions(now, old):
			return accesskey.Key{}, fmt.Errorf("update key %s: %w", ref.AccessKeyID, accesskey.ErrAlreadyRotated)
		case attempt == maxUpdateAttempts:
			return accesskey.Key{}, fmt.Errorf("update key %s: changed meanwhile, %d times: %w", ref.AccessKeyID, attempt, accesskey.ErrUnavailable)
		}
	}
}

// writeUpdate writes k's description and restrictions over old's, with
// rec, in one transaction; false when its condition failed.
func (s *Store) writeUpdate(ctx context.Context, ref accesskey.Ref, old, k accesskey.Key, policy *accesskey.KeyPolicy, rec accesskey.AuditRecord) (bool, error) {
	upd := expression.Set(expression.Name(attrDescription), expression.Value(k.Description))
	upd = setList(upd, attrAllowedCIDRs, k.AllowedCIDRs)
	upd = setList(upd, attrScopes, k.Scopes)
	e, err := expression.NewBuilder().
		WithUpdate(upd).
		WithCondition(ownedBy(ref).
			And(expression.AttributeNotExists(expression.Name(attrRotatedTo))).
			And(sameRestrictions(old))).
		Build()
	if err != nil {
		return false, err
	}
	if policy != nil {
		return s.writeKeyUpdateInPolicy(ctx, ref, e, *policy, rec)
	}
	return s.writeKeyUpdate(ctx, ref, e, rec)
}

// changesJSON is an AccessKeyUpdated's changes as stored (the audit item's
// changes attribute): a JSON object, so that null (unrestricted) and an
// empty list stay apart.
type changesJSON struct {
	Description  *stringChangeJSON `json:"description,omitempty"`
	AllowedCIDRs *listChangeJSON   `json:"allowedCidrs,omitempty"`
	Scopes       *listChangeJSON   `json:"scopes,omitempty"`
	// An AccessKeyExpiring's (expirywarn.go).
	DaysLeft      *int `json:"daysLeft,omitempty"`
	ThresholdDays *int `json:"thresholdDays,omitempty"`
	// A dormant key's (dormant.go).
	Reason string `json:"reason,omitempty"`
	// A KeyPolicyChanged's policy as it became (policy.go).
	Policy *policyValuesJSON `json:"policy,omitempty"`
}

// policyValuesJSON is a KeyPolicyChanged's policy: every field, null
// included (no lifetime bound, no networks, unrestricted new keys, off).
type policyValuesJSON struct {
	MaxLifetimeDays        *int     `json:"maxLifetimeDays"`
	AllowedCIDRs           []string `json:"allowedCidrs"`
	DefaultScopes          []string `json:"defaultScopes"`
	ExpiryWarningDays      []int    `json:"expiryWarningDays"`
	DisableUnusedAfterDays *int     `json:"disableUnusedAfterDays"`
	AllowSelfRotation      bool     `json:"allowSelfRotation"`
}

type stringChangeJSON struct {
	Before string `json:"before"`
	After  string `json:"after"`
}

type listChangeJSON struct {
	Before []string `json:"before"`
	After  []string `json:"after"`
}

func encodeChanges(c *accesskey.KeyChanges) string {
	if c == nil {
		return ""
	}
	var j changesJSON
	if c.Description != nil {
		j.Description = &stringChangeJSON{c.Description.Before, c.Description.After}
	}
	if c.AllowedCIDRs != nil {
		j.AllowedCIDRs = &listChangeJSON{c.AllowedCIDRs.Before, c.AllowedCIDRs.After}
	}
	if c.Scopes != nil {
		j.Scopes = &listChangeJSON{c.Scopes.Before, c.Scopes.After}
	}
	j.DaysLeft, j.ThresholdDays = c.DaysLeft, c.ThresholdDays
	j.Reason = c.Reason
	if v := c.Policy; v != nil {
		j.Policy = &policyValuesJSON{MaxLifetimeDays: v.MaxLifetimeDays, AllowedCIDRs: v.AllowedCIDRs, DefaultScopes: v.DefaultScopes,
			ExpiryWarningDays: v.ExpiryWarningDays, DisableUnusedAfterDays: v.DisableUnusedAfterDays, AllowSelfRotation: v.AllowSelfRotation}
	}
	b, _ := json.Marshal(j) // strings, ints and lists of them: never fails
	return string(b)
}

// decodeChanges reads a stored changes attribute; "" (or unreadable) is
// none.
func decodeChanges(s string) *accesskey.KeyChanges {
	var j changesJSON
	if s == "" || json.Unmarshal([]byte(s), &j) != nil {
		return nil
	}
	var c accesskey.KeyChanges
	if j.Description != nil {
		c.Description = &accesskey.StringChange{Before: j.Description.Before, After: j.Description.After}
	}
	if j.AllowedCIDRs != nil {
		c.AllowedCIDRs = &accesskey.ListChange{Before: j.AllowedCIDRs.Before, After: j.AllowedCIDRs.After}
	}
	if j.Scopes != nil {
		c.Scopes = &accesskey.ListChange{Before: j.Scopes.Before, After: j.Scopes.After}
	}
	c.DaysLeft, c.ThresholdDays = j.DaysLeft, j.ThresholdDays
	c.Reason = j.Reason
	if v := j.Policy; v != nil {
		c.Policy = &accesskey.PolicyValues{MaxLifetimeDays: v.MaxLifetimeDays, AllowedCIDRs: v.AllowedCIDRs, DefaultScopes: v.DefaultScopes,
			ExpiryWarningDays: v.ExpiryWarningDays, DisableUnusedAfterDays: v.DisableUnusedAfterDays, AllowSelfRotation: v.AllowSelfRotation}
	}
	return &c
}
