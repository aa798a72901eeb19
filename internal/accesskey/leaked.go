package accesskey

import (
	"fmt"
	"time"
)

// Leaked reports whether a leak report disabled the key: it carries the
// time of the report or its URL (a key disabled by a GitHub report before
// leakedAt was recorded has only the URL). A leaked key is never enabled
// again: it is rotated or deleted.
func (k Key) Leaked() bool { return k.LeakedAt != nil || k.LeakURL != "" }

// LeakedKeyError is ErrKeyLeaked with when and where the leak was
// reported, from the key as read.
type LeakedKeyError struct {
	AccessKeyID string
	At          *time.Time
	URL         string
}

// KeyLeaked is the refusal to enable k, a leaked key.
func KeyLeaked(k Key) *LeakedKeyError {
	return &LeakedKeyError{AccessKeyID: k.AccessKeyID, At: k.LeakedAt, URL: k.LeakURL}
}

func (e *LeakedKeyError) Error() string {
	return "enable " + e.AccessKeyID + ": " + ErrKeyLeaked.Error()
}
func (e *LeakedKeyError) Unwrap() error { return ErrKeyLeaked }

// Message is what the caller is told: when and where the leak was
// reported, and what to do.
func (e *LeakedKeyError) Message() string {
	msg := "The access key was reported leaked"
	if e.At != nil {
		msg += " at " + e.At.UTC().Format(time.RFC3339)
	}
	if e.URL != "" {
		msg += fmt.Sprintf(" (%s)", e.URL)
	}
	return msg + "; it cannot be enabled again: rotate or delete it."
}
