package dynamostore

// ConflictRetry lets the tests bound the conflict retries.
type ConflictRetry = conflictRetry

// WithConflictRetry returns a copy of s that retries conflicts as r says.
func (s *Store) WithConflictRetry(r ConflictRetry) *Store { return s.withConflictRetry(r) }
