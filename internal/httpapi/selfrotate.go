package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// FunctionSelfRotateKey serves a key's rotation of itself: a function of
// its own, with the verifier's reads and Decrypt and the rotation's
// writes, so that RotateKey keeps no Decrypt of key secrets.
const FunctionSelfRotateKey = "SelfRotateKey"

// NewSelfRotateKey returns the SelfRotateKey function's handler.
func NewSelfRotateKey(c Common, v Verifier, store Rotator, sealer Sealer) (LambdaHandlerFunc, error) {
	if v == nil || store == nil || sealer == nil {
		return nil, missing(FunctionSelfRotateKey, "a Verifier, a Rotator and a Sealer")
	}
	return newFunction(FunctionSelfRotateKey, &api{Common: c, verifier: v, rotator: store, sealer: sealer, policyCache: newPolicyCache()})
}

// graceField reads a rotation's optional "gracePeriodSeconds": 0 to
// MaxGracePeriod in seconds, DefaultGracePeriod when absent.
func graceField(fields map[string]json.RawMessage) (time.Duration, error) {
	raw, ok := fields["gracePeriodSeconds"]
	if !ok {
		return accesskey.DefaultGracePeriod, nil
	}
	var n int64
	maxSeconds := int64(accesskey.MaxGracePeriod / time.Second)
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 || n > maxSeconds {
		return 0, accesskey.Invalid("gracePeriodSeconds", fmt.Sprintf("must be an integer from 0 to %d", maxSeconds))
	}
	return time.Duration(n) * time.Second, nil
}

// selfRotate rotates the key that signed the request, as rotate does
// (same transaction, cap rules, grace, copied description and
// restrictions, the policy's expiry, AccessKeyRotated, Idempotency-Key),
// when the team's key policy allows self-rotation. The order of refusals:
// 401 (signature, disabled, expired), 400 (body), 403 (policy).
func (a *api) selfRotate(w http.ResponseWriter, r *http.Request) error {
	res, err := a.verifySigned(r)
	if err != nil {
		return err
	}
	self := res.Key
	t := target{caller: accesskey.Caller{Subject: accesskey.SelfRotationSubject(self.AccessKeyID), TeamID: self.TeamID}, ref: self.Ref()}
	idem, err := idempotencyOf(r, t)
	if err != nil {
		return err
	}
	fields, err := readJSONObject(r, "gracePeriodSeconds")
	if err != nil {
		return err
	}
	grace, err := graceField(fields)
	if err != nil {
		return err
	}
	// A cached "not allowed" is read again: an owner who just allowed it
	// is not kept waiting for the cache. A cached "allowed" is checked by
	// the transaction (txRotationPolicyCheck).
	policy, err := a.policyCache.get(r.Context(), a.rotator.Policy, self.TeamID, a.Now(), false)
	if err == nil && !policy.AllowSelfRotation {
		policy, err = a.policyCache.get(r.Context(), a.rotator.Policy, self.TeamID, a.Now(), true)
	}
	if err != nil {
		return err
	}
	if !policy.AllowSelfRotation {
		return accesskey.ErrSelfRotationNotAllowed
	}
	if done, err := a.replay(w, r, a.rotator, idem); done || err != nil {
		return err
	}
	old, err := a.rotator.GetKey(r.Context(), t.ref)
	if err != nil {
		if done, rerr := a.replay(w, r, a.rotator, idem); done || rerr != nil {
			return rerr
		}
		return err
	}
	now := a.Now().UTC().Truncate(time.Second)
	rot := accesskey.Rotation{
		Audit: a.selfAuditOf(r, self.AccessKeyID),
		Old:   old,
		New: accesskey.Key{
			AccessKeyID:  accesskey.NewAccessKeyID(),
			TeamID:       old.TeamID,
			MemberID:     old.MemberID,
			Status:       accesskey.StatusActive,
			Description:  old.Description,
			CreatedAt:    now,
			CreatedBy:    old.MemberID, // the key's owner: its key acted for it
			RotatedFrom:  old.AccessKeyID,
			AllowedCIDRs: old.AllowedCIDRs,
			Scopes:       old.Scopes,
		},
		OldExpiresAt: accesskey.RetiredExpiry(old, now, grace),
		Self:         true,
	}
	return a.issue(w, r, idem, a.rotator, &rot.New, nil, rotateRestrictions(&rot.New, accesskey.ListField{}), func(sealed accesskey.SealedSecret, policy accesskey.KeyPolicy) error {
		// The policy read again after a conflict (ErrPolicyChanged) may
		// have turned self-rotation off.
		if !policy.AllowSelfRotation {
			return accesskey.ErrSelfRotationNotAllowed
		}
		rot.Sealed, rot.Policy = sealed, policy
		return a.rotator.Rotate(r.Context(), rot)
	})
}

// selfAuditOf is the audit of a change the access key keyID makes to
// itself: actor access-key, from API Gateway's source address and
// User-Agent.
func (a *api) selfAuditOf(r *http.Request, keyID string) accesskey.Audit {
	var sourceIP, userAgent string
	if ev, ok := eventFrom(r.Context()); ok {
		sourceIP, userAgent = ev.RequestContext.HTTP.SourceIP, ev.RequestContext.HTTP.UserAgent
	}
	return accesskey.Audit{
		Actor:     accesskey.AccessKeyActor(keyID, sourceIP, userAgent),
		RequestID: RequestID(r.Context()),
		At:        a.Now(),
	}
}

// fieldAllowSelfRotation is the key policy's switch for self-rotation.
const fieldAllowSelfRotation = "allowSelfRotation"

// allowSelfRotationField reads the policy's optional allowSelfRotation:
// true or false; left out (or null), false.
func allowSelfRotationField(fields map[string]json.RawMessage) (bool, error) {
	raw, ok := fields[fieldAllowSelfRotation]
	if !ok || string(raw) == "null" {
		return false, nil
	}
	var allow bool
	if err := json.Unmarshal(raw, &allow); err != nil {
		return false, accesskey.Invalid(fieldAllowSelfRotation, "must be true or false")
	}
	return allow, nil
}
