package e2e

// A key's restrictions (allowedCidrs, scopes) through the local API on
// DynamoDB Local and local-kms: generate, rotate, PATCH, every view, the
// credential report, an idempotent replay, and the refusals that change
// nothing.

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// restricted is a key's two fields as an answer shows them.
type restricted struct {
	AccessKeyID  string    `json:"accessKeyId"`
	Description  string    `json:"description"`
	AllowedCidrs *[]string `json:"allowedCidrs"`
	Scopes       *[]string `json:"scopes"`
}

// fieldsOf reads both fields from raw JSON, failing unless both members
// are present (null or an array).
func fieldsOf(t *testing.T, raw []byte) restricted {
	t.Helper()
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil {
		t.Fatalf("%v: %s", err, raw)
	}
	for _, name := range []string{"allowedCidrs", "scopes"} {
		if _, ok := members[name]; !ok {
			t.Fatalf("answer lacks %s: %s", name, raw)
		}
	}
	var r restricted
	_ = json.Unmarshal(raw, &r)
	return r
}

// show is a list as the tests spell it: "null", or the entries joined.
func show(l *[]string) string {
	if l == nil {
		return "null"
	}
	return "[" + strings.Join(*l, " ") + "]"
}

func TestKeyRestrictions(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	member := s.Token("bob", "t1", accesskey.RoleMember)
	keyPath := func(id string) string { return keysPath("t1", "bob") + "/" + id }

	// Generate: absent and null are unrestricted; entries come back in
	// canonical form.
	for _, tt := range []struct {
		name, body, cidrs, scopes string
	}{
		{"absent", `{}`, "null", "null"},
		{"null", `{"allowedCidrs":null,"scopes":null}`, "null", "null"},
		{"canonical", `{"allowedCidrs":["2001:DB8::1/32","10.1.2.3/8","192.0.2.7","::ffff:10.0.0.0/104"],"scopes":["users:read","orders:*","users:read"]}`,
			"[10.0.0.0/8 192.0.2.7/32 2001:db8::/32]", "[orders:* users:read]"},
		{"no scopes", `{"scopes":[]}`, "null", "[]"},
	} {
		t.Run("generate "+tt.name, func(t *testing.T) {
			resp := s.Do(request{Method: "POST", Path: keysPath("t1", "gen-"+strings.ReplaceAll(tt.name, " ", "-")), Token: admin, Body: tt.body})
			if resp.Status != http.StatusCreated {
				t.Fatalf("%d %s", resp.Status, resp.Body)
			}
			got := fieldsOf(t, resp.Body)
			if show(got.AllowedCidrs) != tt.cidrs || show(got.Scopes) != tt.scopes {
				t.Errorf("created %s %s, want %s %s", show(got.AllowedCidrs), show(got.Scopes), tt.cidrs, tt.scopes)
			}
			path := keysPath("t1", "gen-"+strings.ReplaceAll(tt.name, " ", "-")) + "/" + got.AccessKeyID
			read := fieldsOf(t, s.Do(request{Method: "GET", Path: path, Token: admin}).Body)
			if show(read.AllowedCidrs) != tt.cidrs || show(read.Scopes) != tt.scopes {
				t.Errorf("read back %s %s, want %s %s", show(read.AllowedCidrs), show(read.Scopes), tt.cidrs, tt.scopes)
			}
		})
	}

	// Bad input: 400 ValidationError naming the entry, nothing created.
	for _, tt := range []struct{ name, body, names string }{
		{"empty allowedCidrs", `{"allowedCidrs":[]}`, "allowedCidrs"},
		{"garbage prefix", `{"allowedCidrs":["10.0.0.0/8","nonsense"]}`, "nonsense"},
		{"bad length", `{"allowedCidrs":["10.0.0.0/33"]}`, "10.0.0.0/33"},
		{"zone id", `{"allowedCidrs":["fe80::1%eth0"]}`, "fe80::1%eth0"},
		{"a wildcard inside", `{"scopes":["orders*"]}`, "orders*"},
		{"not an array", `{"scopes":"orders:read"}`, "scopes"},
		{"not strings", `{"allowedCidrs":[10]}`, "allowedCidrs"},
	} {
		t.Run("generate refuses "+tt.name, func(t *testing.T) {
			resp := s.Do(request{Method: "POST", Path: keysPath("t1", "refused"), Token: admin, Body: tt.body})
			if resp.Status != http.StatusBadRequest || resp.ErrorCode(t) != "ValidationError" || !strings.Contains(string(resp.Body), tt.names) {
				t.Fatalf("%d %s, want 400 ValidationError naming %q", resp.Status, resp.Body, tt.names)
			}
		})
	}
	if n := len(s.ListMember("t1", "refused").AccessKeys); n != 0 {
		t.Fatalf("refused generates made %d keys", n)
	}

	// A restricted key, then a rotation that copies, one that overrides,
	// one that lifts.
	resp := s.Do(request{Method: "POST", Path: keysPath("t1", "bob"), Token: admin, Body: `{"allowedCidrs":["203.0.113.0/24"],"scopes":["orders:read"]}`})
	first := fieldsOf(t, resp.Body)
	rotate := func(id, body string) restricted {
		t.Helper()
		resp := s.Do(request{Method: "POST", Path: keyPath(id) + "/rotate", Token: admin, Body: body})
		if resp.Status != http.StatusCreated {
			t.Fatalf("rotate %s: %d %s", body, resp.Status, resp.Body)
		}
		return fieldsOf(t, resp.Body)
	}
	// A bad entry refuses the rotation and changes nothing: the key
	// rotates afterwards.
	if resp := s.Do(request{Method: "POST", Path: keyPath(first.AccessKeyID) + "/rotate", Token: admin,
		Body: `{"gracePeriodSeconds":0,"allowedCidrs":["10.0.0.0/8","300.1.1.1"]}`}); resp.Status != http.StatusBadRequest || !strings.Contains(string(resp.Body), "300.1.1.1") {
		t.Errorf("rotate with a bad entry: %d %s, want 400 naming it", resp.Status, resp.Body)
	}
	copied := rotate(first.AccessKeyID, `{"gracePeriodSeconds":0}`)
	if show(copied.AllowedCidrs) != "[203.0.113.0/24]" || show(copied.Scopes) != "[orders:read]" {
		t.Errorf("rotation copied %s %s", show(copied.AllowedCidrs), show(copied.Scopes))
	}
	overridden := rotate(copied.AccessKeyID, `{"gracePeriodSeconds":0,"scopes":["orders:write"]}`)
	if show(overridden.AllowedCidrs) != "[203.0.113.0/24]" || show(overridden.Scopes) != "[orders:write]" {
		t.Errorf("rotation with scopes: %s %s", show(overridden.AllowedCidrs), show(overridden.Scopes))
	}
	lifted := rotate(overridden.AccessKeyID, `{"gracePeriodSeconds":0,"allowedCidrs":null}`)
	if show(lifted.AllowedCidrs) != "null" || show(lifted.Scopes) != "[orders:write]" {
		t.Errorf("rotation lifting allowedCidrs: %s %s", show(lifted.AllowedCidrs), show(lifted.Scopes))
	}

	// PATCH: each field, null, and the refusals that change nothing.
	id := lifted.AccessKeyID
	for _, tt := range []struct {
		name, body    string
		status        int
		cidrs, scopes string
	}{
		{"restrict the source", `{"allowedCidrs":["198.51.100.0/24","2001:db8::/48"]}`, 200, "[198.51.100.0/24 2001:db8::/48]", "[orders:write]"},
		{"set scopes", `{"scopes":["orders:*"]}`, 200, "[198.51.100.0/24 2001:db8::/48]", "[orders:*]"},
		{"description", `{"description":"deploy"}`, 200, "[198.51.100.0/24 2001:db8::/48]", "[orders:*]"},
		{"empty allowedCidrs", `{"allowedCidrs":[]}`, 400, "", ""},
		{"bad entry", `{"scopes":["orders:read","Orders"]}`, 400, "", ""},
		{"unknown field", `{"status":"Inactive"}`, 400, "", ""},
		{"empty object", `{}`, 400, "", ""},
		{"not an object", `["scopes"]`, 400, "", ""},
		{"lift scopes", `{"scopes":null}`, 200, "[198.51.100.0/24 2001:db8::/48]", "null"},
		{"lift the source", `{"allowedCidrs":null}`, 200, "null", "null"},
	} {
		t.Run("patch "+tt.name, func(t *testing.T) {
			before := s.Do(request{Method: "GET", Path: keyPath(id), Token: admin}).Body
			resp := s.Do(request{Method: "PATCH", Path: keyPath(id), Token: admin, Body: tt.body})
			if resp.Status != tt.status {
				t.Fatalf("%d %s, want %d", resp.Status, resp.Body, tt.status)
			}
			after := s.Do(request{Method: "GET", Path: keyPath(id), Token: admin}).Body
			if tt.status != 200 {
				if resp.ErrorCode(t) != "ValidationError" || string(before) != string(after) {
					t.Errorf("refusal %s changed the key: %s to %s", resp.Body, before, after)
				}
				return
			}
			for _, got := range []restricted{fieldsOf(t, resp.Body), fieldsOf(t, after)} {
				if show(got.AllowedCidrs) != tt.cidrs || show(got.Scopes) != tt.scopes {
					t.Errorf("got %s %s, want %s %s", show(got.AllowedCidrs), show(got.Scopes), tt.cidrs, tt.scopes)
				}
			}
		})
	}
	if resp := s.Do(request{Method: "PATCH", Path: keyPath(id), Token: member, Body: `{"scopes":null}`}); resp.Status != http.StatusForbidden {
		t.Errorf("a member's PATCH of its own key: %d, want 403", resp.Status)
	}

	// The audit record of a PATCH: before and after.
	audit := s.Do(request{Method: "GET", Path: "/v1/teams/t1/audit-events?accessKeyId=" + id, Token: admin})
	var events struct {
		AuditEvents []struct {
			Action  string                     `json:"action"`
			Changes map[string]json.RawMessage `json:"changes"`
		} `json:"auditEvents"`
	}
	audit.Decode(t, &events)
	if len(events.AuditEvents) == 0 || events.AuditEvents[0].Action != accesskey.AuditKeyUpdated ||
		string(events.AuditEvents[0].Changes["allowedCidrs"]) != `{"before":["198.51.100.0/24","2001:db8::/48"],"after":null}` {
		t.Errorf("latest audit event %+v", events.AuditEvents)
	}

	// A rotated key's PATCH is 409; its replacement takes it. A deleted
	// key's is 404.
	graced := rotate(id, `{"gracePeriodSeconds":60}`)
	if resp := s.Do(request{Method: "PATCH", Path: keyPath(id), Token: admin, Body: `{"scopes":["x"]}`}); resp.Status != http.StatusConflict || resp.ErrorCode(t) != "AlreadyRotated" {
		t.Errorf("PATCH of a rotated key: %d %s", resp.Status, resp.Body)
	}
	if resp := s.Do(request{Method: "DELETE", Path: keyPath(id), Token: admin}); resp.Status != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.Status)
	}
	if resp := s.Do(request{Method: "PATCH", Path: keyPath(id), Token: admin, Body: `{"scopes":["x"]}`}); resp.Status != http.StatusNotFound {
		t.Errorf("PATCH of a deleted key: %d %s", resp.Status, resp.Body)
	}

	// Lists and the report show both fields.
	if resp := s.Do(request{Method: "PATCH", Path: keyPath(graced.AccessKeyID), Token: admin, Body: `{"scopes":[],"allowedCidrs":["192.0.2.0/24"]}`}); resp.Status != 200 {
		t.Fatalf("PATCH: %d %s", resp.Status, resp.Body)
	}
	for _, path := range []string{keysPath("t1", "bob"), "/v1/teams/t1/access-keys"} {
		var l struct{ AccessKeys []json.RawMessage }
		s.Do(request{Method: "GET", Path: path, Token: admin}).Decode(t, &l)
		found := false
		for _, raw := range l.AccessKeys {
			if k := fieldsOf(t, raw); k.AccessKeyID == graced.AccessKeyID {
				found = show(k.AllowedCidrs) == "[192.0.2.0/24]" && show(k.Scopes) == "[]"
			}
		}
		if !found {
			t.Errorf("%s does not show %s restricted", path, graced.AccessKeyID)
		}
	}
	report := s.Do(request{Method: "GET", Path: "/v1/teams/t1/access-keys/report?format=json", Token: admin})
	var rep struct{ Keys []json.RawMessage }
	report.Decode(t, &rep)
	for _, raw := range rep.Keys {
		if k := fieldsOf(t, raw); k.AccessKeyID == graced.AccessKeyID && (show(k.AllowedCidrs) != "[192.0.2.0/24]" || show(k.Scopes) != "[]") {
			t.Errorf("JSON report row %s", raw)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(string(s.Do(request{Method: "GET", Path: "/v1/teams/t1/access-keys/report?format=csv", Token: admin}).Body))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	cidrsAt, scopesAt := slices.Index(rows[0], "allowedCidrs"), slices.Index(rows[0], "scopes")
	seen := map[string][2]string{}
	for _, r := range rows[1:] {
		seen[r[1]] = [2]string{r[cidrsAt], r[scopesAt]}
	}
	if got := seen[graced.AccessKeyID]; got != [2]string{"192.0.2.0/24", "(none)"} {
		t.Errorf("CSV cells of a restricted key %q", got)
	}
	for _, r := range rows[1:] {
		if r[0] == "gen-canonical" && (r[cidrsAt] != "10.0.0.0/8 192.0.2.7/32 2001:db8::/32" || r[scopesAt] != "orders:* users:read") {
			t.Errorf("CSV cells %q %q", r[cidrsAt], r[scopesAt])
		}
		if r[0] == "gen-absent" && (r[cidrsAt] != "" || r[scopesAt] != "") {
			t.Errorf("CSV cells of an unrestricted key %q %q", r[cidrsAt], r[scopesAt])
		}
	}
}

// An idempotent replay of a generate answers the fields as they were,
// even after a PATCH changed them.
func TestKeyRestrictionsReplay(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	req := request{Method: "POST", Path: keysPath("t1", "bob"), Token: admin, Body: `{"scopes":["orders:read"],"allowedCidrs":["10.0.0.0/8"]}`,
		Header: map[string]string{"Idempotency-Key": "restricted-1"}}
	first := s.Do(req)
	if first.Status != http.StatusCreated {
		t.Fatalf("%d %s", first.Status, first.Body)
	}
	k := fieldsOf(t, first.Body)
	if resp := s.Do(request{Method: "PATCH", Path: keysPath("t1", "bob") + "/" + k.AccessKeyID, Token: admin, Body: `{"scopes":null}`}); resp.Status != 200 {
		t.Fatalf("PATCH: %d %s", resp.Status, resp.Body)
	}
	again := s.Do(req)
	if again.Status != http.StatusCreated || string(again.Body) != string(first.Body) {
		t.Errorf("replay %d %s, want the first answer %s", again.Status, again.Body, first.Body)
	}
}
