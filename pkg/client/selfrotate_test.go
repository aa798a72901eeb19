package client

import (
	"context"
	"strings"
	"testing"
)

// RotateSelf is signed by the client's own key (no bearer token), always
// carries an Idempotency-Key (the caller's, or a random one kept across
// its retries), sends only gracePeriodSeconds, and answers the new key and
// the old one's id.
func TestRotateSelf(t *testing.T) {
	ctx := context.Background()
	rotated := `{"accessKeyId":"TKAKNEWNEWNEWNEWNEWNEWNE","secretAccessKey":"tksk_new","status":"Active","teamId":"t1","memberId":"alice","description":"ci","createdAt":"2026-12-01T00:00:00Z","createdBy":"alice","rotatedFrom":"TKAKABCDEFGHIJKLMNOPQRST"}`
	grace := 3600
	for _, tt := range []struct {
		name     string
		in       RotateSelfInput
		wantAuth string
		wantBody string
	}{
		{"SigV4, the caller's idempotency key", RotateSelfInput{GracePeriodSeconds: &grace, IdempotencyKey: "sm-token"}, "AWS4-HMAC-SHA256 Credential=TKAKABCDEFGHIJKLMNOPQRST/", `{"gracePeriodSeconds":3600}`},
		{"ZC2, a random idempotency key", RotateSelfInput{ZC2: true}, "ZC2-HMAC-SHA256 ", `{}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeAPI{answers: []answer{{status: 503, body: unavailable}, {status: 201, body: rotated}}}
			c, _ := testClient(t, f, WithAccessKey("TKAKABCDEFGHIJKLMNOPQRST", "tksk_secret"))
			got, err := c.RotateSelf(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessKeyID != "TKAKNEWNEWNEWNEWNEWNEWNE" || got.SecretAccessKey != "tksk_new" || got.OldAccessKeyID != "TKAKABCDEFGHIJKLMNOPQRST" || got.Key.Description != "ci" {
				t.Errorf("answer %+v", got)
			}
			reqs := f.requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want a retry of the 503", len(reqs))
			}
			for _, r := range reqs {
				if r.method != "POST" || r.path != "/v1/access-keys/self/rotate" || !strings.HasPrefix(r.authorization, tt.wantAuth) || r.body != tt.wantBody {
					t.Errorf("sent %+v", r)
				}
				if r.idempotencyKey == "" || r.idempotencyKey != reqs[0].idempotencyKey || tt.in.IdempotencyKey != "" && r.idempotencyKey != tt.in.IdempotencyKey {
					t.Errorf("Idempotency-Key %q (first %q)", r.idempotencyKey, reqs[0].idempotencyKey)
				}
			}
		})
	}
	t.Run("no access key", func(t *testing.T) {
		c, _ := testClient(t, &fakeAPI{})
		if _, err := c.RotateSelf(ctx, RotateSelfInput{}); err != ErrNoAccessKey {
			t.Errorf("error %v, want ErrNoAccessKey", err)
		}
	})
}
