package main

import (
	"strings"
	"testing"
	"time"
)

func TestExpiresCell(t *testing.T) {
	now := time.Date(2027, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	for _, tt := range []struct {
		name string
		exp  *time.Time
		want string // suffix
	}{
		{"none", nil, tableTime(nil)},
		{"in 30 days", at(30 * 24 * time.Hour), "(expires in 30 days)"},
		{"in 6 days 1 hour", at(6*24*time.Hour + time.Hour), "(expires in 7 days)"},
		{"in an hour", at(time.Hour), "(expires in 1 day)"},
		{"expired", at(-time.Hour), tableTime(at(-time.Hour))},
	} {
		if got := expiresCell(tt.exp, now); !strings.HasSuffix(got, tt.want) {
			t.Errorf("%s: %q, want it to end in %q", tt.name, got, tt.want)
		}
	}
}
