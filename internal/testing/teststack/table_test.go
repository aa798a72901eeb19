package teststack

import (
	"regexp"
	"strings"
	"testing"
)

// TestTableName: every name is new, holds only what a DynamoDB table name
// may hold, and keeps its unique end when the label is too long.
func TestTableName(t *testing.T) {
	valid := regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
	seen := map[string]bool{}
	for _, label := range []string{"TestX/sub case#01", "é ü", strings.Repeat("long", 100), "x"} {
		for range 3 {
			name := TableName(label)
			if !valid.MatchString(name) {
				t.Fatalf("TableName(%q) = %q: not a table name", label, name)
			}
			if seen[name] {
				t.Fatalf("TableName(%q) = %q twice", label, name)
			}
			seen[name] = true
		}
	}
	if got := TableName("TestA/b c"); !strings.HasPrefix(got, "TestA-b-c-") {
		t.Fatalf("TableName(%q) = %q: the label's characters are not kept", "TestA/b c", got)
	}
}
