package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
	"github.com/teamkeys/teamkeys/pkg/client"
)

// keys rotate --self rotates the key of the environment, without a token,
// once the team's key policy allows it.
func TestKeysRotateSelf(t *testing.T) {
	s := teststack.New(t, teststack.Options{})
	admin := run{env: map[string]string{envEndpoint: s.URL, envToken: s.Token("root", "t1", accesskey.RoleAdmin)}}
	var k client.CreatedAccessKey
	decode(t, want(t, admin.exec(t, "keys", "create", "alice", "--description", "ci"), exitOK), &k)
	self := keyEnv(run{env: map[string]string{envEndpoint: s.URL}}, k.AccessKeyId, k.SecretAccessKey)

	for _, tt := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"not allowed by the default policy", []string{"keys", "rotate", "--self", "--yes"}, exitFailure, "error: SelfRotationNotAllowed"},
		{"--self takes no arguments", []string{"keys", "rotate", "--self", "alice", k.AccessKeyId, "--yes"}, exitUsage, "takes no arguments"},
		{"--self keeps the description", []string{"keys", "rotate", "--self", "--description", "x", "--yes"}, exitUsage, "--description"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if res := want(t, self.exec(t, tt.args...), tt.code); !strings.Contains(res.stderr, tt.err) {
				t.Fatalf("stderr: %s", res)
			}
		})
	}
	if r := s.Do(teststack.Request{Method: "PUT", Path: "/v1/teams/t1/key-policy", Token: s.Token("olga", "t1", accesskey.RoleOwner),
		Body: `{"maxLifetimeDays":null,"allowSelfRotation":true}`}); r.Status != http.StatusOK {
		t.Fatalf("policy: %s", r)
	}
	res := want(t, self.exec(t, "keys", "rotate", "--self", "--grace-period", "1h", "--yes"), exitOK)
	var rotated client.CreatedAccessKey
	decode(t, res, &rotated)
	if rotated.RotatedFrom == nil || *rotated.RotatedFrom != k.AccessKeyId || rotated.Description != "ci" || !strings.HasPrefix(rotated.SecretAccessKey, "tksk_") {
		t.Fatalf("rotate --self: %s", res)
	}
	// The new key signs.
	var who client.WhoAmI
	decode(t, want(t, keyEnv(run{env: map[string]string{envEndpoint: s.URL}}, rotated.AccessKeyId, rotated.SecretAccessKey).exec(t, "whoami"), exitOK), &who)
	if who.AccessKeyId != rotated.AccessKeyId {
		t.Fatalf("whoami with the new key: %+v", who)
	}
}
