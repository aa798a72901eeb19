package main

import (
	"strings"
	"testing"
)

// A key a leak report disabled: `keys get` and `keys list` mark it
// leaked and say when, where and what to do; `keys enable` prints the
// server's KeyLeaked refusal and exits non-zero.
func TestLeakedKeyShown(t *testing.T) {
	const url = "https://github.com/octo/repo/blob/abc/config.yml"
	leaked := strings.TrimSuffix(fakeKey, "}") + `,"leakedAt":"2026-12-03T09:30:00Z","leakUrl":"` + url + `"}`
	api := newFakeAPI(t, map[string]fakeAnswer{
		"GET " + keysPath + "/" + fakeKeyID: {200, leaked},
		"GET " + keysPath:                   {200, `{"accessKeys":[` + leaked + `],"nextToken":null}`},
		"POST " + keysPath + "/" + fakeKeyID + "/enable": {409, `{"error":{"code":"KeyLeaked","message":"The access key was reported leaked at 2026-12-03T09:30:00Z (` +
			url + `); it cannot be enabled again: rotate or delete it.","requestId":"r-9"}}`},
	})
	line := fakeKeyID + " was reported leaked at 2026-12-03 09:30:00Z (" + url + "): it cannot be enabled again; rotate or delete it."
	for _, args := range [][]string{{"keys", "get", "alice", fakeKeyID, "-o", "table"}, {"keys", "list", "alice", "-o", "table"}} {
		res := want(t, api.env().exec(t, args...), exitOK)
		if !strings.Contains(res.stdout, "Inactive (leaked)") || !strings.Contains(res.stdout, line) {
			t.Errorf("%v: want the status marked and %q: %s", args, line, res)
		}
	}
	res := want(t, api.env().exec(t, "keys", "enable", "alice", fakeKeyID), exitFailure)
	if !strings.Contains(res.stderr, "error: KeyLeaked: The access key was reported leaked at 2026-12-03T09:30:00Z ("+url+"); it cannot be enabled again: rotate or delete it.") {
		t.Errorf("enable of a leaked key: %s", res)
	}
	// A key never reported shows neither.
	plain := newFakeAPI(t, map[string]fakeAnswer{"GET " + keysPath + "/" + fakeKeyID: {200, fakeKey}})
	res = want(t, plain.env().exec(t, "keys", "get", "alice", fakeKeyID, "-o", "table"), exitOK)
	if strings.Contains(res.stdout, "leaked") {
		t.Errorf("a key never reported shown as leaked: %s", res)
	}
}
