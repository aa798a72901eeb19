package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
	"github.com/teamkeys/teamkeys/pkg/client"
)

// decode parses a command's JSON stdout into v, strictly: the output is
// exactly the API's shape.
func decode(t *testing.T, res result, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(res.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not the API's JSON (%v): %s", err, res)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value on stdout: %s", res)
	}
}

// oneRow is the single row of a table.
func oneRow(t *testing.T, res result) map[string]string {
	t.Helper()
	rows := tableRows(t, res.stdout)
	if len(rows) != 1 {
		t.Fatalf("want one table row, got %d: %s", len(rows), res)
	}
	return rows[0]
}

// keyEnv is the environment of a command signed with key.
func keyEnv(r run, id, secret string) run {
	return r.with(envAccessKeyID, id, envSecret, secret)
}

// TestEveryCommandEndToEnd runs every command against the local API on the
// real emulators, as an admin (and the owner, for the policy), reading its
// JSON by parsing and its tables by columns, and the exit codes.
func TestEveryCommandEndToEnd(t *testing.T) {
	s := teststack.New(t, teststack.Options{})
	// No TEAMKEYS_TEAM: the team is the token's own.
	admin := run{env: map[string]string{envEndpoint: s.URL, envToken: s.Token("root", "t1", accesskey.RoleAdmin)}}
	owner := admin.with(envToken, s.Token("olga", "t1", accesskey.RoleOwner))
	// Another team than the token's, named: the service refuses it.
	if res := want(t, admin.exec(t, "keys", "list", "--team", "t2"), exitFailure); !strings.Contains(res.stderr, "error: Forbidden") {
		t.Fatalf("another team: %s", res)
	}
	tty := admin
	tty.stdoutTTY = true
	began := time.Now()

	// keys create, JSON: the secret exactly once, on stdout only.
	res := want(t, admin.exec(t, "keys", "create", "alice", "--description", "ci deploys"), exitOK)
	var k1 client.CreatedAccessKey
	decode(t, res, &k1)
	if k1.MemberId != "alice" || k1.TeamId != "t1" || k1.Description != "ci deploys" || k1.Status != "Active" || k1.CreatedBy != "root" ||
		!strings.HasPrefix(k1.SecretAccessKey, "tksk_") {
		t.Fatalf("created %+v", k1)
	}
	if strings.Count(res.stdout, k1.SecretAccessKey) != 1 || strings.Contains(res.stderr, k1.SecretAccessKey) || strings.TrimSpace(res.stderr) != secretNotice {
		t.Fatalf("the secret once on stdout, the notice alone on stderr: %s", res)
	}

	// keys create, table (a terminal's default): the secret in its column,
	// once; an expiry 90 days out.
	res = want(t, tty.exec(t, "keys", "create", "alice", "--expires-in", "90d"), exitOK)
	row := oneRow(t, res)
	k2ID, k2Secret := row["KEY ID"], row["SECRET ACCESS KEY"]
	if !strings.HasPrefix(k2ID, "TKAK") || !strings.HasPrefix(k2Secret, "tksk_") || row["MEMBER"] != "alice" || row["STATUS"] != "Active" || row["DESCRIPTION"] != "-" {
		t.Fatalf("created row %v", row)
	}
	if strings.Count(res.stdout, k2Secret) != 1 || strings.Contains(res.stderr, k2Secret) || !strings.Contains(res.stderr, secretNotice) {
		t.Fatalf("table create: %s", res)
	}
	if exp, err := time.Parse("2006-01-02 15:04Z", row["EXPIRES"]); err != nil || exp.Sub(began.Add(90*24*time.Hour)).Abs() > 2*time.Minute {
		t.Fatalf("EXPIRES %q (%v), want 90 days from now", row["EXPIRES"], err)
	}

	// A third key is over the cap: exit 1, the code on stderr, nothing on
	// stdout.
	res = want(t, admin.exec(t, "keys", "create", "alice"), exitFailure)
	if !strings.HasPrefix(res.stderr, "error: LimitExceeded: ") || !strings.Contains(res.stderr, "(request id ") || res.stdout != "" {
		t.Fatalf("over the cap: %s", res)
	}

	// keys list: the member's, and the team's over several pages.
	for i := range 55 {
		s.Generate("t1", "m"+string(rune('a'+i%26))+string(rune('a'+i/26)), "")
	}
	res = want(t, admin.exec(t, "keys", "list", "alice"), exitOK)
	var list client.AccessKeyList
	decode(t, res, &list)
	if len(list.AccessKeys) != 2 || list.NextToken != nil {
		t.Fatalf("alice's keys: %s", res)
	}
	res = want(t, admin.exec(t, "keys", "list"), exitOK)
	list = client.AccessKeyList{}
	decode(t, res, &list)
	if len(list.AccessKeys) != 57 || list.NextToken != nil || !strings.Contains(res.stdout, `"nextToken": null`) {
		t.Fatalf("the team's keys: %d, nextToken %v", len(list.AccessKeys), list.NextToken)
	}
	res = want(t, tty.exec(t, "keys", "ls"), exitOK)
	rows := tableRows(t, res.stdout)
	if len(rows) != 57 {
		t.Fatalf("team table: %d rows", len(rows))
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r["KEY ID"])
		if r["STATUS"] != "Active" || r["CREATED"] == "-" || r["LAST USED"] != "-" {
			t.Errorf("row %v", r)
		}
	}
	if !slices.Contains(ids, k1.AccessKeyId) || !slices.Contains(ids, k2ID) {
		t.Fatalf("the team table lacks alice's keys: %v", ids)
	}

	// keys get, JSON and table; a key of another member is NotFound (exit 1).
	res = want(t, admin.exec(t, "keys", "get", "alice", k1.AccessKeyId), exitOK)
	var got client.AccessKey
	decode(t, res, &got)
	if got.AccessKeyId != k1.AccessKeyId || got.Description != "ci deploys" || strings.Contains(res.stdout, "secret") {
		t.Fatalf("get: %s", res)
	}
	row = oneRow(t, want(t, admin.exec(t, "keys", "get", "alice", k1.AccessKeyId, "-o", "table"), exitOK))
	if row["KEY ID"] != k1.AccessKeyId || row["DESCRIPTION"] != "ci deploys" || row["EXPIRES"] != "-" {
		t.Fatalf("get row %v", row)
	}
	res = want(t, admin.exec(t, "keys", "get", "bob", k1.AccessKeyId), exitFailure)
	if !strings.HasPrefix(res.stderr, "error: NotFound: ") {
		t.Fatalf("another member's key: %s", res)
	}

	// Shell completion offers the member's key ids.
	res = want(t, admin.exec(t, "__complete", "keys", "disable", "alice", ""), exitOK)
	if !strings.Contains(res.stdout, k1.AccessKeyId+"\tActive ci deploys") || !strings.Contains(res.stdout, k2ID) {
		t.Fatalf("completion of alice's key ids: %s", res)
	}

	// whoami and sign with the key create made, in both schemes.
	alice := keyEnv(admin, k1.AccessKeyId, k1.SecretAccessKey)
	wantWho := client.WhoAmI{AccessKeyId: k1.AccessKeyId, TeamId: "t1", MemberId: "alice", Scheme: client.WhoAmISchemeAWS4HMACSHA256}
	var who client.WhoAmI
	decode(t, want(t, alice.exec(t, "whoami"), exitOK), &who)
	if who != wantWho {
		t.Fatalf("whoami %+v, want %+v", who, wantWho)
	}
	row = oneRow(t, want(t, alice.exec(t, "whoami", "--scheme", "zc2", "-o", "table"), exitOK))
	if row["KEY ID"] != k1.AccessKeyId || row["TEAM"] != "t1" || row["MEMBER"] != "alice" || row["SCHEME"] != "ZC2-HMAC-SHA256" {
		t.Fatalf("whoami zc2 row %v", row)
	}
	who = client.WhoAmI{}
	res = want(t, alice.exec(t, "sign", "/v1/whoami"), exitOK)
	decode(t, res, &who)
	if who != wantWho || res.stderr != "" {
		t.Fatalf("sign GET /v1/whoami: %s", res)
	}
	res = want(t, alice.exec(t, "sign", "--scheme", "zc2", "-X", "POST", "-d", `{"hello":"world"}`, s.URL+"/v1/whoami"), exitOK)
	who = client.WhoAmI{}
	decode(t, res, &who)
	if who.AccessKeyId != k1.AccessKeyId || who.Scheme != client.WhoAmISchemeZC2HMACSHA256 {
		t.Fatalf("sign zc2 POST: %s", res)
	}
	withStdin := alice
	withStdin.stdin = `{"from":"stdin"}`
	res = want(t, withStdin.exec(t, "sign", "-d", "@-", "-H", "Accept: application/json, text/plain", "-v", "/v1/whoami"), exitOK)
	if !strings.Contains(res.stderr, "> POST /v1/whoami") || !strings.Contains(res.stderr, "< HTTP/1.1 200 OK") || !strings.Contains(res.stdout, k1.AccessKeyId) {
		t.Fatalf("sign -d @- -v: %s", res)
	}
	if strings.Contains(res.stdout+res.stderr, k1.SecretAccessKey) {
		t.Fatalf("sign printed the secret: %s", res)
	}
	body := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(body, []byte(`{"from":"a file"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	want(t, alice.exec(t, "sign", "-d", "@"+body, "--scheme", "zc2", "/v1/whoami"), exitOK)
	// A wrong secret, a request the service refuses: exit 1, the answer's
	// body on stdout, its code on stderr.
	wrong := keyEnv(admin, k1.AccessKeyId, k2Secret)
	res = want(t, wrong.exec(t, "sign", "/v1/whoami"), exitFailure)
	if !strings.HasPrefix(res.stderr, "error: InvalidSignature: ") || !strings.Contains(res.stdout, `"InvalidSignature"`) {
		t.Fatalf("sign with a wrong secret: %s", res)
	}
	res = want(t, wrong.exec(t, "whoami"), exitFailure)
	if !strings.HasPrefix(res.stderr, "error: InvalidSignature: ") || res.stdout != "" {
		t.Fatalf("whoami with a wrong secret: %s", res)
	}

	// disable: refused off a terminal without --yes (nothing changes),
	// asked and confirmed on one; enable.
	res = want(t, admin.exec(t, "keys", "disable", "alice", k1.AccessKeyId), exitUsage)
	if !strings.Contains(res.stderr, "pass --yes") {
		t.Fatalf("disable without --yes: %s", res)
	}
	got = client.AccessKey{}
	decode(t, want(t, admin.exec(t, "keys", "get", "alice", k1.AccessKeyId), exitOK), &got)
	if got.Status != "Active" {
		t.Fatalf("a refused disable disabled: %+v", got)
	}
	terminal := admin
	terminal.stdinTTY, terminal.stdin = true, "n\n"
	want(t, terminal.exec(t, "keys", "disable", "alice", k1.AccessKeyId), exitUsage)
	terminal.stdin = "y\n"
	res = want(t, terminal.exec(t, "keys", "disable", "alice", k1.AccessKeyId), exitOK)
	got = client.AccessKey{}
	decode(t, res, &got)
	if got.Status != "Inactive" || !strings.Contains(res.stderr, "[y/N]") {
		t.Fatalf("disable confirmed: %s", res)
	}
	// Refused within 1 s (the server may have the key's item cached that
	// long): until then only an admission is allowed; waited up to 10 s.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res = alice.exec(t, "whoami")
		if res.code == exitFailure && strings.HasPrefix(res.stderr, "error: KeyDisabled: ") {
			break
		}
		if res.code != exitOK || time.Now().After(deadline) {
			t.Fatalf("whoami with a disabled key, within 1 s (waited up to 10 s): %s", res)
		}
	}
	row = oneRow(t, want(t, admin.exec(t, "keys", "enable", "alice", k1.AccessKeyId, "-o", "table"), exitOK))
	if row["STATUS"] != "Active" {
		t.Fatalf("enable row %v", row)
	}
	// The key's last use shows once it signed.
	row = oneRow(t, want(t, admin.exec(t, "keys", "get", "alice", k1.AccessKeyId, "-o", "table"), exitOK))
	if row["LAST USED"] == "-" {
		t.Errorf("LAST USED empty after whoami: %v", row)
	}

	// rotate with no grace into a CSV file: 0600, stdout without the
	// secret; the new key signs, the old one is gone.
	dir := t.TempDir()
	file := filepath.Join(dir, "rotated.csv")
	res = want(t, admin.exec(t, "keys", "rotate", "alice", k2ID, "--grace-period", "0", "--yes", "--output-file", file), exitOK)
	var rotated client.AccessKey
	decode(t, res, &rotated)
	if rotated.RotatedFrom == nil || *rotated.RotatedFrom != k2ID || strings.Contains(res.stdout, "tksk_") || strings.Contains(res.stderr, "tksk_") {
		t.Fatalf("rotate: %s", res)
	}
	info, err := os.Stat(file)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("rotate's file: %v %v", info, err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(records) != 2 || records[0][0] != "Access key ID" || records[1][0] != rotated.AccessKeyId {
		t.Fatalf("rotate's CSV %v (%v)", records, err)
	}
	newSecret := records[1][1]
	who = client.WhoAmI{}
	decode(t, want(t, keyEnv(admin, rotated.AccessKeyId, newSecret).exec(t, "whoami"), exitOK), &who)
	if who.AccessKeyId != rotated.AccessKeyId {
		t.Fatalf("whoami with the rotated key: %+v", who)
	}
	want(t, admin.exec(t, "keys", "get", "alice", k2ID), exitFailure)
	// The same file again is refused before anything is rotated.
	res = want(t, admin.exec(t, "keys", "rotate", "alice", rotated.AccessKeyId, "--yes", "--output-file", file), exitUsage)
	if !strings.Contains(res.stderr, "refusing to overwrite") {
		t.Fatalf("rotate onto an existing file: %s", res)
	}
	list = client.AccessKeyList{}
	decode(t, want(t, admin.exec(t, "keys", "list", "alice"), exitOK), &list)
	if len(list.AccessKeys) != 2 {
		t.Fatalf("alice holds %d keys after a refused rotate", len(list.AccessKeys))
	}
	// rotate with a grace period, table: the new key and its secret.
	res = want(t, tty.exec(t, "keys", "rotate", "alice", k1.AccessKeyId, "--grace-period", "1h", "--yes"), exitFailure)
	if !strings.HasPrefix(res.stderr, "error: LimitExceeded: ") {
		t.Fatalf("rotate with a grace period at the cap: %s", res)
	}

	// delete, then the key is NotFound.
	res = want(t, admin.exec(t, "keys", "delete", "alice", rotated.AccessKeyId, "--yes"), exitOK)
	if res.stdout != "" || !strings.Contains(res.stderr, "Deleted access key "+rotated.AccessKeyId) {
		t.Fatalf("delete: %s", res)
	}
	res = want(t, admin.exec(t, "keys", "get", "alice", rotated.AccessKeyId), exitFailure)
	if !strings.HasPrefix(res.stderr, "error: NotFound: ") {
		t.Fatalf("get a deleted key: %s", res)
	}
	res = want(t, tty.exec(t, "keys", "rotate", "alice", k1.AccessKeyId, "--grace-period", "1h", "--yes", "--description", "next"), exitOK)
	row = oneRow(t, res)
	if row["ROTATED FROM"] != k1.AccessKeyId || !strings.HasPrefix(row["SECRET ACCESS KEY"], "tksk_") || row["DESCRIPTION"] != "next" ||
		strings.Count(res.stdout, row["SECRET ACCESS KEY"]) != 1 {
		t.Fatalf("rotate table: %s", res)
	}

	// policy: get, set (owner only: an admin is refused), lift.
	var policy client.KeyPolicy
	decode(t, want(t, admin.exec(t, "policy", "get"), exitOK), &policy)
	if policy.TeamId != "t1" || policy.MaxLifetimeDays != nil {
		t.Fatalf("policy %+v", policy)
	}
	res = want(t, admin.exec(t, "policy", "set", "--max-lifetime-days", "90", "--yes"), exitFailure)
	if !strings.HasPrefix(res.stderr, "error: Forbidden: ") {
		t.Fatalf("an admin sets the policy: %s", res)
	}
	policy = client.KeyPolicy{}
	decode(t, want(t, owner.exec(t, "policy", "set", "--max-lifetime-days", "90", "--yes"), exitOK), &policy)
	if policy.MaxLifetimeDays == nil || *policy.MaxLifetimeDays != 90 || policy.UpdatedBy == nil || *policy.UpdatedBy != "olga" {
		t.Fatalf("policy set: %+v", policy)
	}
	row = oneRow(t, want(t, owner.exec(t, "policy", "get", "-o", "table"), exitOK))
	if row["TEAM"] != "t1" || row["MAX LIFETIME DAYS"] != "90" || row["UPDATED BY"] != "olga" {
		t.Fatalf("policy row %v", row)
	}
	row = oneRow(t, want(t, owner.exec(t, "policy", "set", "--none", "--yes", "-o", "table"), exitOK))
	if row["MAX LIFETIME DAYS"] != "none" {
		t.Fatalf("policy lifted: %v", row)
	}

	// report: CSV by default, JSON, table; every key of the team.
	res = want(t, admin.exec(t, "report"), exitOK)
	records, err = csv.NewReader(strings.NewReader(res.stdout)).ReadAll()
	if err != nil || len(records) != 1+57 {
		t.Fatalf("report CSV: %d records (%v): %s", len(records), err, res.stdout[:min(len(res.stdout), 300)])
	}
	col := slices.Index(records[0], "accessKeyId")
	if col < 0 || !slices.ContainsFunc(records[1:], func(r []string) bool { return r[col] == k1.AccessKeyId }) {
		t.Fatalf("report CSV lacks %s: header %v", k1.AccessKeyId, records[0])
	}
	var report client.CredentialReport
	decode(t, want(t, admin.exec(t, "report", "-o", "json"), exitOK), &report)
	if report.TeamId != "t1" || len(report.Keys) != 57 {
		t.Fatalf("report JSON: %s, %d keys", report.TeamId, len(report.Keys))
	}
	rows = tableRows(t, want(t, admin.exec(t, "report", "-o", "table"), exitOK).stdout)
	i := slices.IndexFunc(rows, func(r map[string]string) bool { return r["KEY ID"] == k1.AccessKeyId })
	if len(rows) != 57 || i < 0 || rows[i]["SCHEME"] == "-" || rows[i]["AGE DAYS"] != "0" || rows[i]["DAYS SINCE USE"] != "0" {
		t.Fatalf("report table: %d rows, alice's %v", len(rows), rows[max(i, 0)])
	}

	// members offboard: every key of alice, then none.
	res = want(t, admin.exec(t, "members", "offboard", "alice", "--yes"), exitOK)
	var off client.Offboarded
	decode(t, res, &off)
	if len(off.Deleted) != 2 || !slices.Contains(off.Deleted, k1.AccessKeyId) {
		t.Fatalf("offboard: %s", res)
	}
	res = want(t, admin.exec(t, "members", "offboard", "alice", "--yes", "-o", "table"), exitOK)
	if rows := tableRows(t, res.stdout); len(rows) != 0 || !strings.Contains(res.stderr, "Deleted 0 access key(s)") {
		t.Fatalf("offboard again: %s", res)
	}
	res = want(t, tty.exec(t, "keys", "list", "alice"), exitOK)
	if rows := tableRows(t, res.stdout); len(rows) != 0 || !strings.Contains(res.stderr, "No access keys.") {
		t.Fatalf("alice's keys after offboarding: %s", res)
	}

	// audit: what was done, newest first; filtered, limited, every page.
	var trail client.AuditEventList
	decode(t, want(t, admin.exec(t, "audit", "--member", "alice", "--all"), exitOK), &trail)
	var actions []string
	for _, e := range trail.AuditEvents {
		actions = append(actions, string(e.Action))
		if e.MemberId == nil || *e.MemberId != "alice" {
			t.Errorf("a filtered event of another member: %+v", e)
		}
	}
	for _, a := range []string{"AccessKeyCreated", "AccessKeyDisabled", "AccessKeyEnabled", "AccessKeyRotated", "AccessKeyDeleted"} {
		if !slices.Contains(actions, a) {
			t.Errorf("alice's trail lacks %s: %v", a, actions)
		}
	}
	if trail.NextToken != nil || !slices.IsSortedFunc(trail.AuditEvents, func(a, b client.AuditEvent) int { return b.Time.Compare(a.Time) }) {
		t.Errorf("the trail is not every event, newest first")
	}
	trail = client.AuditEventList{}
	decode(t, want(t, admin.exec(t, "audit", "--member", "alice", "--limit", "3"), exitOK), &trail)
	if len(trail.AuditEvents) != 3 || trail.NextToken == nil {
		t.Fatalf("audit --limit 3: %d events, nextToken %v", len(trail.AuditEvents), trail.NextToken)
	}
	var rest client.AuditEventList
	decode(t, want(t, admin.exec(t, "audit", "--member", "alice", "--all", "--next-token", *trail.NextToken), exitOK), &rest)
	if len(rest.AuditEvents) != len(actions)-3 || rest.AuditEvents[0].EventId == trail.AuditEvents[2].EventId {
		t.Fatalf("audit --next-token: %d events, want %d", len(rest.AuditEvents), len(actions)-3)
	}
	decode(t, want(t, admin.exec(t, "audit", "--key", k1.AccessKeyId, "--all"), exitOK), &trail)
	for _, e := range trail.AuditEvents {
		if e.AccessKeyId == nil || *e.AccessKeyId != k1.AccessKeyId {
			t.Errorf("audit --key: an event of %v", e.AccessKeyId)
		}
	}
	res = want(t, admin.exec(t, "audit", "--all", "-o", "table"), exitOK)
	rows = tableRows(t, res.stdout)
	i = slices.IndexFunc(rows, func(r map[string]string) bool {
		return r["ACTION"] == "AccessKeyDisabled" && r["KEY ID"] == k1.AccessKeyId
	})
	if i < 0 || rows[i]["MEMBER"] != "alice" || rows[i]["ACTOR"] != "root" || rows[i]["CHANGES"] != "Active->Inactive" {
		t.Fatalf("audit table lacks the disable: %v", rows[max(i, 0)])
	}
	if !slices.ContainsFunc(rows, func(r map[string]string) bool {
		return r["ACTION"] == "KeyPolicyChanged" && r["CHANGES"] == "max lifetime 90d"
	}) {
		t.Errorf("audit table lacks the policy change")
	}
	res = want(t, admin.exec(t, "audit", "--limit", "1", "-o", "table"), exitOK)
	if len(tableRows(t, res.stdout)) != 1 || !strings.Contains(res.stderr, "More events: pass --next-token ") {
		t.Fatalf("audit --limit 1 table: %s", res)
	}

	// Bad command lines against the real server: exit 2, nothing sent.
	res = want(t, admin.with(envToken, "").exec(t, "keys", "list"), exitUsage)
	if !strings.Contains(res.stderr, "no token") {
		t.Fatalf("no token: %s", res)
	}
	want(t, admin.exec(t, "keys", "list", "--limit", "3"), exitUsage)
	// A token the server refuses: exit 1.
	res = want(t, admin.with(envToken, "not-a-jwt", envTeam, "t1").exec(t, "keys", "list"), exitFailure)
	if !strings.HasPrefix(res.stderr, "error: Unauthenticated: ") && !strings.HasPrefix(res.stderr, "error: HTTP401") {
		t.Fatalf("a bad token: %s", res)
	}
}

// TestCreateIsIdempotentWithAKey: the same --idempotency-key answers the
// same key and secret, and makes no second key.
func TestCreateIsIdempotentWithAKey(t *testing.T) {
	s := teststack.New(t, teststack.Options{})
	admin := run{env: map[string]string{envEndpoint: s.URL, envToken: s.Token("root", "t1", accesskey.RoleAdmin), envTeam: "t1"}}
	var first, second client.CreatedAccessKey
	decode(t, want(t, admin.exec(t, "keys", "create", "bob", "--idempotency-key", "deploy-1"), exitOK), &first)
	decode(t, want(t, admin.exec(t, "keys", "create", "bob", "--idempotency-key", "deploy-1"), exitOK), &second)
	if first != second {
		t.Fatalf("replayed create %+v, want %+v", second, first)
	}
	if n := len(s.ListMember("t1", "bob").AccessKeys); n != 1 {
		t.Fatalf("bob holds %d keys", n)
	}
}
