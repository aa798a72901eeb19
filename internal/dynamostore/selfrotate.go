package dynamostore

import (
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// attrAllowSelfRotation is a key policy copy's allowSelfRotation (true, or
// absent: false).
const attrAllowSelfRotation = "allowSelfRotation"

// txRotationPolicyCheck is a rotation's check of the team's key policy: the
// policy it read (txPolicyCheck), and, for a self-rotation, that the copy
// allows self-rotation now. A copy that is absent (no policy written since
// the copies exist) allows none: the default is false, so a self-rotation
// that got here read true from a copy, and a policy change since that
// turned it off wrote every copy, which fails the check (ErrPolicyChanged;
// the handler reads the policy again and refuses).
func (s *Store) txRotationPolicyCheck(r accesskey.Rotation) (types.TransactWriteItem, error) {
	cond := policyCondition(r.Policy)
	if r.Self {
		cond = cond.And(expression.Name(attrAllowSelfRotation).Equal(expression.Value(true)))
	}
	return s.txPolicyCopyCheck(r.New.TeamID, r.New.MemberID, cond)
}

// selfRotationHold adds to a rotation's condition on the old key, for a
// self-rotation, that the key is still active: a key disabled after its
// signature was verified (or while the verifier held its item in its
// cache) cannot mint its replacement (rotateRefusal: ErrKeyDisabled).
func selfRotationHold(r accesskey.Rotation, cond expression.ConditionBuilder) expression.ConditionBuilder {
	if !r.Self {
		return cond
	}
	return cond.And(expression.Name(attrStatus).Equal(expression.Value(string(accesskey.StatusActive))))
}
