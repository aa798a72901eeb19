// Package e2e proves the HTTP contract end to end: the local gateway, every
// Lambda function's handler, the real DynamoDB Local and the real local-kms,
// all started by TestMain. Each test runs its own local API on its own table
// (internal/testing/teststack).
package e2e

import (
	"os"
	"testing"

	"github.com/teamkeys/teamkeys/internal/testing/testenv"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// The shared harness's names, short for the tables of cases.
type (
	stack      = teststack.Stack
	request    = teststack.Request
	response   = teststack.Response
	createdKey = teststack.CreatedKey
	listedKey  = teststack.ListedKey
	keyList    = teststack.KeyList
)

var keysPath = teststack.KeysPath

// newStack starts a local API on a fresh table for t.
func newStack(t *testing.T) *stack {
	t.Helper()
	return teststack.New(t, teststack.Options{})
}

// wantHolds checks that member holds n keys (n > 0) in the list and in the
// slot counter.
func wantHolds(t *testing.T, s *stack, team, member string, n int) {
	t.Helper()
	if got := len(s.ListMember(team, member).AccessKeys); got != n {
		t.Fatalf("%s holds %d keys, want %d", member, got, n)
	}
	if c := s.Item("MEMBER#"+team+"#"+member, "COUNTER")["keyCount"]; c != float64(n) {
		t.Fatalf("%s's slot counter %v, want %d", member, c, n)
	}
}
