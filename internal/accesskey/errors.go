package accesskey

import (
	"errors"
	"fmt"
)

// Domain errors. Adapters wrap them with %w; the HTTP layer maps them to a
// status and an error code in one place.
var (
	ErrNotFound      = errors.New("access key not found")
	ErrLimitExceeded = errors.New("member already holds the maximum number of access keys")
	// ErrRotateAtCap is a rotation with a grace period by a member at the
	// cap with no expired key: rotate with no grace, or delete a key.
	ErrRotateAtCap = errors.New("member holds the maximum number of access keys: no slot for the new key during the grace period")
	// ErrAlreadyRotated is a rotation of a key that a rotation already
	// replaced (or that changed while it was being rotated).
	ErrAlreadyRotated  = errors.New("access key was already rotated")
	ErrForbidden       = errors.New("caller may not do this")
	ErrUnauthenticated = errors.New("caller is not authenticated")
	// ErrUnavailable means a dependency (DynamoDB, KMS) was unreachable or
	// throttling: the client should retry later.
	ErrUnavailable = errors.New("service temporarily unavailable")
	// ErrPolicyChanged means the team's key policy changed while a key was
	// being created from it: compute the key's expiry again and retry.
	ErrPolicyChanged = errors.New("the team's key policy changed meanwhile")
	// ErrSealedForAnotherKey means a stored ciphertext does not open for the
	// key it is stored on (copied from another key's item, altered, or
	// under a rewritten team or member): KMS refuses its encryption context.
	ErrSealedForAnotherKey = errors.New("ciphertext does not belong to this key")
	// ErrKeyLeaked is an enable of a key a leak report disabled: it must be
	// rotated or deleted (a *LeakedKeyError says when and where: leaked.go).
	ErrKeyLeaked = errors.New("access key was reported leaked")
)

// Refusals of a signed request (all 401). ErrKeyDisabled is only ever
// returned once the signature itself checked out, so that it tells nothing
// to someone without the secret.
var (
	ErrMissingSignature = errors.New("request is not signed")
	ErrInvalidSignature = errors.New("signature does not match")
	ErrUnknownKey       = errors.New("access key does not exist")
	ErrKeyDisabled      = errors.New("access key is disabled")
	ErrKeyExpired       = errors.New("access key has expired")
	ErrRequestExpired   = errors.New("request timestamp is too far from the server's clock")
)

// A leak report's refusals: a report that is unsigned, wrongly signed or
// signed with a key the reporter does not publish.
var (
	ErrReportUnsigned  = errors.New("leak report is not signed")
	ErrReportSignature = errors.New("leak report signature does not verify")
)

// ValidationError is bad input: the client can fix it. Its message is shown.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Reason)
}

// Invalid returns a *ValidationError.
func Invalid(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }

// PolicyViolationError is a request the team's key policy refuses (a key
// outside the team's networks, or one the policy requires restricted): the
// client can fix it. Its message is shown; the HTTP layer answers it as 400
// PolicyViolation.
type PolicyViolationError struct {
	Field  string
	Reason string
}

func (e *PolicyViolationError) Error() string {
	if e.Field == "" {
		return e.Reason
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Reason)
}

// Violation returns a *PolicyViolationError.
func Violation(field, reason string) error {
	return &PolicyViolationError{Field: field, Reason: reason}
}
