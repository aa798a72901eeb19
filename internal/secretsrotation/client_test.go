package secretsrotation_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/secretsrotation"
)

// TestClientConnect: the function's client sends the self-rotation signed,
// with the token as Idempotency-Key, and tells a policy refusal apart.
func TestClientConnect(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		wantErr error
		wantID  string
	}{
		{"rotated", http.StatusCreated, `{"accessKeyId":"TKAKNEW","secretAccessKey":"s3cr3t","status":"Active","teamId":"t1","memberId":"svc","description":"","createdAt":"2026-12-07T00:00:00Z","createdBy":"svc","rotatedFrom":"TKAKOLD"}`, nil, "TKAKNEW"},
		{"refused by policy", http.StatusForbidden, `{"error":{"code":"SelfRotationNotAllowed","message":"self-rotation is off","requestId":"r1"}}`, secretsrotation.ErrSelfRotationNotAllowed, ""},
		{"another refusal", http.StatusUnauthorized, `{"error":{"code":"KeyDisabled","message":"disabled","requestId":"r2"}}`, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got *http.Request
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte(c.body))
			}))
			defer srv.Close()
			svc, err := secretsrotation.ClientConnect(srv.Client())(secretsrotation.Value{AccessKeyID: "TKAKOLD", SecretAccessKey: "old", Endpoint: srv.URL, Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			id, secret, err := svc.RotateSelf(context.Background(), "token-1234", nil)
			if got == nil || got.Method != http.MethodPost || got.URL.Path != "/v1/access-keys/self/rotate" || got.Header.Get("Idempotency-Key") != "token-1234" ||
				!strings.HasPrefix(got.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=TKAKOLD/") || !strings.Contains(got.Header.Get("Authorization"), "/us-east-1/") {
				t.Fatalf("request %v %v, headers %v: want a SigV4-signed POST of the self-rotation with the token as Idempotency-Key", got.Method, got.URL, got.Header)
			}
			switch {
			case c.wantID != "":
				if err != nil || id != c.wantID || secret != "s3cr3t" {
					t.Fatalf("got %q, %v", id, err)
				}
			case c.wantErr != nil:
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err %v, want %v", err, c.wantErr)
				}
			default:
				if err == nil || errors.Is(err, secretsrotation.ErrSelfRotationNotAllowed) || !strings.Contains(err.Error(), "KeyDisabled") {
					t.Fatalf("err %v, want the service's KeyDisabled", err)
				}
			}
		})
	}
	if _, err := secretsrotation.ClientConnect(nil)(secretsrotation.Value{Endpoint: "http://api.example.com", AccessKeyID: "a", SecretAccessKey: "b", Region: "r"}); err == nil {
		t.Error("a plain http:// endpoint that is not loopback was accepted")
	}
}

func TestGracePeriodFromEnv(t *testing.T) {
	for v, want := range map[string]string{"": "<nil>", "3600": "3600", "0": "error", "-5": "error", "1h": "error"} {
		g, err := secretsrotation.GracePeriodFromEnv(func(string) string { return v })
		got := "<nil>"
		switch {
		case err != nil:
			got = "error"
		case g != nil:
			got = strconv.Itoa(*g)
		}
		if got != want {
			t.Errorf("TEAMKEYS_ROTATION_GRACE_SECONDS=%q: %s, want %s", v, got, want)
		}
	}
}
