package accesskey

import (
	"errors"
	"fmt"
)

// Domain errors. Adapters wrap them with %w; the HTTP layer maps them to a
// status and an error code in one place.
var (
	ErrNotFound        = errors.New("access key not found")
	ErrLimitExceeded   = errors.New("member already holds the maximum number of access keys")
	ErrForbidden       = errors.New("caller may not do this")
	ErrUnauthenticated = errors.New("caller is not authenticated")
	// ErrUnavailable means a dependency (DynamoDB, KMS) was unreachable or
	// throttling: the client should retry later.
	ErrUnavailable = errors.New("service temporarily unavailable")
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
