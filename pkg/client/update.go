package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// Restriction is how an update changes one of a key's restrictions
// (allowedCidrs or scopes): the zero value leaves it as it is, Lift sends
// null (unrestricted), Restrict sends the list.
type Restriction struct {
	set  bool
	list []string
}

// Lift is a Restriction that removes the restriction: any source address,
// or every scope.
func Lift() Restriction { return Restriction{set: true} }

// Restrict is a Restriction to list. An empty scopes list grants nothing;
// an empty allowedCidrs list is refused by the service.
func Restrict(list ...string) Restriction {
	if list == nil {
		list = []string{}
	}
	return Restriction{set: true, list: list}
}

// AccessKeyUpdate is the body of UpdateAccessKey: what to change, at least
// one field. Generated UpdateAccessKeyRequest cannot send null, which lifts
// a restriction; this type can.
type AccessKeyUpdate struct {
	Description  *string
	AllowedCidrs Restriction
	Scopes       Restriction
}

// MarshalJSON writes the fields that change: a lifted restriction as null.
func (u AccessKeyUpdate) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	if u.Description != nil {
		m["description"] = *u.Description
	}
	if u.AllowedCidrs.set {
		m["allowedCidrs"] = u.AllowedCidrs.list
	}
	if u.Scopes.set {
		m["scopes"] = u.Scopes.list
	}
	return json.Marshal(m)
}

// UpdateAccessKey changes a key's description and restrictions and returns
// the key as it now is (operation updateAccessKey). Sending the same
// update twice ends where sending it once does, so a lost answer is
// retried.
func (c *Client) UpdateAccessKey(ctx context.Context, teamID, memberID, accessKeyID string, u AccessKeyUpdate) (*AccessKey, error) {
	var out AccessKey
	err := c.doJSON(ctx, call{method: http.MethodPatch, path: keyPath(teamID, memberID, accessKeyID), safety: sameOutcome,
		expect: http.StatusOK, decodes: &out}, u)
	return result(&out, err)
}
