package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/pkg/client"
	"github.com/teamkeys/teamkeys/pkg/signing"
)

const selfRotatePath = "/v1/access-keys/self/rotate"

// selfClient is a pkg/client client that signs with key, without retries
// (a refusal is seen as it is).
func selfClient(t *testing.T, s *stack, keyID, secret string) *client.Client {
	t.Helper()
	c, err := client.New(s.URL, client.WithAccessKey(keyID, secret), client.WithUserAgent("selfrotate-test/1"),
		client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func setSelfRotation(t *testing.T, s *stack, body string) {
	t.Helper()
	resp := s.Do(request{Method: "PUT", Path: "/v1/teams/t1/key-policy", Token: s.Token("root", "t1", accesskey.RoleOwner), Body: body})
	if resp.Status != http.StatusOK {
		t.Fatalf("put policy %s: %s", body, resp)
	}
}

// memberState is what a refused self-rotation must leave as it was: the
// member's keys as listed (ids, status, expiry) and the audit count.
func memberState(t *testing.T, s *stack) (string, int) {
	t.Helper()
	resp := s.Do(request{Method: "GET", Path: keysPath("t1", "alice"), Token: s.Token("admin", "t1", accesskey.RoleAdmin)})
	if resp.Status != http.StatusOK {
		t.Fatalf("list: %s", resp)
	}
	// A valid signature is a use (lastUsedAt): not a change.
	var list struct {
		AccessKeys []struct {
			AccessKeyID string `json:"accessKeyId"`
			Status      string `json:"status"`
			ExpiresAt   string `json:"expiresAt"`
		} `json:"accessKeys"`
	}
	resp.Decode(t, &list)
	events, _ := auditEvents(t, s, "?limit=100")
	return fmt.Sprintf("%+v", list.AccessKeys), len(events)
}

func TestSelfRotation(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The policy shows allowSelfRotation false until an owner allows it.
	resp := s.Do(request{Method: "GET", Path: "/v1/teams/t1/key-policy", Token: s.Token("root", "t1", accesskey.RoleOwner)})
	var policy struct {
		AllowSelfRotation *bool `json:"allowSelfRotation"`
	}
	resp.Decode(t, &policy)
	if resp.Status != http.StatusOK || policy.AllowSelfRotation == nil || *policy.AllowSelfRotation {
		t.Fatalf("default policy: %s", resp)
	}

	key := s.Generate("t1", "alice", "deploy bot")
	s.Restrict(key.AccessKeyID, nil, []string{"deploy:*"})
	self := selfClient(t, s, key.AccessKeyID, key.SecretAccessKey)

	refusals := []struct {
		name   string
		send   func() (int, string)
		status int
		code   string
	}{
		{"the default policy refuses", func() (int, string) {
			_, err := self.RotateSelf(ctx, client.RotateSelfInput{})
			return statusOf(err), string(client.ErrorCodeOf(err))
		}, http.StatusForbidden, "SelfRotationNotAllowed"},
		{"a bearer token is not a signature", func() (int, string) {
			r := s.Do(request{Method: "POST", Path: selfRotatePath, Token: s.Token("alice", "t1", accesskey.RoleOwner), Body: `{}`})
			return r.Status, r.ErrorCode(t)
		}, http.StatusUnauthorized, ""},
		{"no signature at all", func() (int, string) {
			r := s.Do(request{Method: "POST", Path: selfRotatePath, Body: `{}`})
			return r.Status, r.ErrorCode(t)
		}, http.StatusUnauthorized, ""},
	}
	before, audits := memberState(t, s)
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			status, code := tt.send()
			if status != tt.status || tt.code != "" && code != tt.code {
				t.Fatalf("got %d %s, want %d %s", status, code, tt.status, tt.code)
			}
			if after, n := memberState(t, s); after != before || n != audits {
				t.Fatalf("a refused self-rotation changed something:\n%s (%d records)\n%s (%d records)", before, audits, after, n)
			}
		})
	}

	setSelfRotation(t, s, `{"maxLifetimeDays":30,"allowSelfRotation":true}`)
	before, audits = memberState(t, s)
	for _, body := range []string{`{"description":"x"}`, `{"gracePeriodSeconds":604801}`, `{"gracePeriodSeconds":-1}`, `[]`} {
		t.Run("bad body "+body, func(t *testing.T) {
			req := s.NewRequest(request{Method: "POST", Path: selfRotatePath, Body: body})
			// Signed by the key: only the body is wrong.
			r := signedDo(t, s, req, key.AccessKeyID, key.SecretAccessKey, []byte(body))
			if r.Status != http.StatusBadRequest {
				t.Fatalf("%s: %s", body, r)
			}
			if after, n := memberState(t, s); after != before || n != audits {
				t.Fatalf("a refused self-rotation changed something:\n%s (%d records)\n%s (%d records)", before, audits, after, n)
			}
		})
	}

	// Allowed: SigV4, with an Idempotency-Key, replayed with the same answer.
	grace := 60
	in := client.RotateSelfInput{GracePeriodSeconds: &grace, IdempotencyKey: "sm-token-1"}
	first, err := self.RotateSelf(ctx, in)
	if err != nil {
		t.Fatalf("self-rotate: %v", err)
	}
	again, err := self.RotateSelf(ctx, in)
	if err != nil {
		t.Fatalf("self-rotate replayed: %v", err)
	}
	if again.AccessKeyID != first.AccessKeyID || again.SecretAccessKey != first.SecretAccessKey || first.OldAccessKeyID != key.AccessKeyID {
		t.Fatalf("replay answered %s, first %s (old %s)", again.AccessKeyID, first.AccessKeyID, first.OldAccessKeyID)
	}
	k := first.Key
	if k.Description != "deploy bot" || k.Scopes == nil || len(*k.Scopes) != 1 || (*k.Scopes)[0] != "deploy:*" || k.AllowedCidrs != nil {
		t.Fatalf("the new key did not copy the old one: %+v", k)
	}
	if k.ExpiresAt == nil || !k.ExpiresAt.Equal(k.CreatedAt.AddDate(0, 0, 30)) {
		t.Fatalf("the new key expires %v, want the policy's 30 days after %v", k.ExpiresAt, k.CreatedAt)
	}
	if k.CreatedBy != "alice" {
		t.Fatalf("createdBy %q", k.CreatedBy)
	}
	if n := len(s.ListMember("t1", "alice").AccessKeys); n != 2 {
		t.Fatalf("alice holds %d keys after a rotation with grace (and its replay), want 2", n)
	}
	oldItem := s.Item("KEY#"+key.AccessKeyID, "KEY")
	if oldItem["rotatedTo"] != first.AccessKeyID || oldItem["expiresAt"] == nil {
		t.Fatalf("old key item %v", oldItem)
	}
	// The audit record names the key as its actor.
	events, _ := auditEvents(t, s, "?limit=100")
	var rotated *auditEvent
	for i := range events {
		if events[i].Action == "AccessKeyRotated" && events[i].AccessKeyID == first.AccessKeyID {
			rotated = &events[i]
		}
	}
	if rotated == nil || rotated.Actor.Type != "access-key" || rotated.Actor.AccessKeyID != key.AccessKeyID ||
		rotated.Actor.Sub != "" || rotated.Actor.SourceIP != "127.0.0.1" || rotated.Actor.UserAgent != "selfrotate-test/1" ||
		rotated.Changes.RotatedFrom != key.AccessKeyID {
		t.Fatalf("rotation record %+v", rotated)
	}

	// The old key, rotated, is refused a second self-rotation: 409.
	if _, err := self.RotateSelf(ctx, client.RotateSelfInput{}); statusOf(err) != http.StatusConflict || client.ErrorCodeOf(err) != "AlreadyRotated" {
		t.Fatalf("self-rotate of a rotated key: %v", err)
	}

	// The new key rotates itself with ZC2, no grace: the old one goes.
	second := selfClient(t, s, first.AccessKeyID, first.SecretAccessKey)
	zero := 0
	third, err := second.RotateSelf(ctx, client.RotateSelfInput{GracePeriodSeconds: &zero, ZC2: true})
	if err != nil {
		t.Fatalf("self-rotate with ZC2: %v", err)
	}
	if third.OldAccessKeyID != first.AccessKeyID {
		t.Fatalf("zc2 rotation %+v", third)
	}
	if s.Item("KEY#"+first.AccessKeyID, "KEY") != nil {
		t.Fatal("a rotation without grace kept the old key")
	}

	// Disabled and expired keys are refused as for any signed request.
	disabled := s.Generate("t1", "bob", "")
	if r := s.Do(request{Method: "POST", Path: keysPath("t1", "bob") + "/" + disabled.AccessKeyID + "/disable", Token: s.Token("admin", "t1", accesskey.RoleAdmin)}); r.Status != http.StatusOK {
		t.Fatalf("disable: %s", r)
	}
	if _, err := selfClient(t, s, disabled.AccessKeyID, disabled.SecretAccessKey).RotateSelf(ctx, client.RotateSelfInput{}); client.ErrorCodeOf(err) != "KeyDisabled" {
		t.Fatalf("self-rotate of a disabled key: %v", err)
	}
	expired := s.Generate("t1", "carol", "")
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if _, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String(s.Name),
		Key:              map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "KEY#" + expired.AccessKeyID}, "sk": &types.AttributeValueMemberS{Value: "KEY"}},
		UpdateExpression: aws.String("SET expiresAt = :t"), ExpressionAttributeValues: map[string]types.AttributeValue{":t": &types.AttributeValueMemberS{Value: past}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := selfClient(t, s, expired.AccessKeyID, expired.SecretAccessKey).RotateSelf(ctx, client.RotateSelfInput{}); client.ErrorCodeOf(err) != "KeyExpired" {
		t.Fatalf("self-rotate of an expired key: %v", err)
	}

	// The policy turned off while the function holds "allowed" in its
	// cache: the transaction's check refuses, nothing changes.
	setSelfRotation(t, s, `{"maxLifetimeDays":30,"allowSelfRotation":false}`)
	before, audits = memberState(t, s)
	if _, err := selfClient(t, s, third.AccessKeyID, third.SecretAccessKey).RotateSelf(ctx, client.RotateSelfInput{}); client.ErrorCodeOf(err) != "SelfRotationNotAllowed" {
		t.Fatalf("self-rotate after the policy turned it off: %v", err)
	}
	if after, n := memberState(t, s); after != before || n != audits {
		t.Fatalf("a refused self-rotation changed something:\n%s (%d records)\n%s (%d records)", before, audits, after, n)
	}
}

// A self-rotation raced with an admin's rotation of the same key: one
// wins, the other is 409 AlreadyRotated, and the member holds two keys.
func TestSelfRotationRacesAdminRotation(t *testing.T) {
	s := newStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	setSelfRotation(t, s, `{"maxLifetimeDays":null,"allowSelfRotation":true}`)
	admin, err := client.New(s.URL, client.WithToken(s.Token("admin", "t1", accesskey.RoleAdmin)), client.WithRetryPolicy(client.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	for round := range 5 {
		member := "m" + string(rune('a'+round))
		key := s.Generate("t1", member, "")
		self := selfClient(t, s, key.AccessKeyID, key.SecretAccessKey)
		var wg sync.WaitGroup
		var selfErr, adminErr error
		wg.Go(func() { _, selfErr = self.RotateSelf(ctx, client.RotateSelfInput{}) })
		wg.Go(func() {
			_, adminErr = admin.RotateAccessKey(ctx, "t1", member, key.AccessKeyID, client.RotateAccessKeyRequest{}, nil)
		})
		wg.Wait()
		if (selfErr == nil) == (adminErr == nil) {
			t.Fatalf("round %d: self %v, admin %v: want exactly one to win", round, selfErr, adminErr)
		}
		loser := selfErr
		if loser == nil {
			loser = adminErr
		}
		if statusOf(loser) != http.StatusConflict || client.ErrorCodeOf(loser) != "AlreadyRotated" {
			t.Fatalf("round %d: the loser got %v", round, loser)
		}
		if n := len(s.ListMember("t1", member).AccessKeys); n != 2 {
			t.Fatalf("round %d: %s holds %d keys, want 2", round, member, n)
		}
	}
}

// statusOf is the HTTP status of a pkg/client error (0 if none).
func statusOf(err error) int {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// signedDo sends req signed with SigV4 by the key.
func signedDo(t *testing.T, s *stack, req *http.Request, keyID, secret string, body []byte) response {
	t.Helper()
	if err := signing.SignSigV4(req, body, keyID, secret, s.Config.SigningRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	return s.Send(req)
}
