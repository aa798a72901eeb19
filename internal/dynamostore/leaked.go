package dynamostore

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// attrLeakedAt is when a leak report last disabled the key (RFC 3339,
// writeLeakDisable). A key with leakedAt or leakUrl is leaked: an enable's
// condition refuses it. leakUrl counts too because a key disabled by a
// GitHub report before leakedAt existed carries only its URL; one disabled
// then by an admin's report (no URL) carries neither and stays
// indistinguishable from a key disabled by hand.
const attrLeakedAt = "leakedAt"

// notLeaked is an enable's condition: no leak report disabled the key.
// Nothing removes either attribute but the item's delete, so no read can
// go stale against it.
func notLeaked() expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name(attrLeakedAt)).
		And(expression.AttributeNotExists(expression.Name(attrLeakURL)))
}

// withLeak is k with the item's leak marks.
func (it keyItem) withLeak(k accesskey.Key) (accesskey.Key, error) {
	k.LeakURL = it.LeakURL
	if it.LeakedAt != "" {
		t, err := time.Parse(timestampLayout, it.LeakedAt)
		if err != nil {
			return accesskey.Key{}, fmt.Errorf("item %s: leakedAt: %w", it.PK, err)
		}
		k.LeakedAt = &t
	}
	return k, nil
}
