package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// KeyUpdater changes a key's description and restrictions.
type KeyUpdater interface {
	UpdateKey(ctx context.Context, ref accesskey.Ref, u accesskey.KeyUpdate, audit accesskey.Audit) (accesskey.Key, error)
}

// NewUpdateKey returns the UpdateKey function's handler.
func NewUpdateKey(c Common, store KeyUpdater) (LambdaHandlerFunc, error) {
	if store == nil {
		return nil, missing(FunctionUpdateKey, "a KeyUpdater")
	}
	return newFunction(FunctionUpdateKey, &api{Common: c, updater: store})
}

// restrictionFields reads the optional allowedCidrs and scopes members of
// a generate, rotate or update body: absent (Set false), null (Set, nil:
// unrestricted) or an array of strings, checked and in canonical form
// (accesskey.ParseAllowedCIDRs, accesskey.ParseScopes).
func restrictionFields(fields map[string]json.RawMessage) (cidrs, scopes accesskey.ListField, err error) {
	if cidrs, err = listField(fields, accesskey.FieldAllowedCIDRs); err != nil {
		return
	}
	if cidrs.Set {
		list, perr := accesskey.ParseAllowedCIDRs(cidrs.Value)
		if perr != nil {
			return cidrs, scopes, perr
		}
		cidrs.Value = list.Strings()
	}
	if scopes, err = listField(fields, accesskey.FieldScopes); err != nil {
		return
	}
	if scopes.Set {
		list, perr := accesskey.ParseScopes(scopes.Value)
		if perr != nil {
			return cidrs, scopes, perr
		}
		scopes.Value = list.Strings()
	}
	return cidrs, scopes, nil
}

// listField reads an optional member that is null or an array of strings.
func listField(fields map[string]json.RawMessage, name string) (accesskey.ListField, error) {
	raw, ok := fields[name]
	if !ok {
		return accesskey.ListField{}, nil
	}
	if string(raw) == "null" {
		return accesskey.ListField{Set: true}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || raw[0] != '[' {
		return accesskey.ListField{}, accesskey.Invalid(name, "must be an array of strings, or null")
	}
	if list == nil {
		list = []string{}
	}
	return accesskey.ListField{Set: true, Value: list}, nil
}

// updateKey changes a key's description and restrictions (PATCH of the
// key): any of description, allowedCidrs, scopes (null lifts a
// restriction); at least one. It answers the key as it now is.
func (a *api) updateKey(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionUpdate, true, true)
	if err != nil {
		return err
	}
	fields, err := readJSONObject(r, "description", accesskey.FieldAllowedCIDRs, accesskey.FieldScopes)
	if err != nil {
		return err
	}
	if len(fields) == 0 {
		return accesskey.Invalid("body", "names nothing to update: give description, allowedCidrs or scopes")
	}
	var u accesskey.KeyUpdate
	if _, ok := fields["description"]; ok {
		d, err := descriptionField(fields)
		if err != nil {
			return err
		}
		u.Description = &d
	}
	if u.AllowedCIDRs, u.Scopes, err = restrictionFields(fields); err != nil {
		return err
	}
	key, err := a.updater.UpdateKey(r.Context(), t.ref, u, a.auditOf(r, t))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toJSON(key, a.Now()))
	return nil
}
