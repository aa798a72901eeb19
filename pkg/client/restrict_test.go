package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRestrictedRequestsSendNull: GenerateAccessKeyRestricted and
// RotateAccessKeyRestricted send what the Restrictions say over the typed
// body, null included, and the body's own fields when they say nothing;
// KeyPolicyJSON answers the policy's JSON as sent.
func TestRestrictedRequestsSendNull(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = append(got, r.Method+" "+string(b))
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/v1/teams/t1/key-policy" {
			_, _ = io.WriteString(w, `{"teamId":"t1","keysOutsidePolicy":2}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"accessKeyId":"TKAKAAAAAAAAAAAAAAAAAAAA","secretAccessKey":"tksk_x","status":"Active"}`)
	}))
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, WithToken("tok"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	desc := "ci"
	cidrs := []string{"10.0.0.0/8"}
	for _, call := range []func() error{
		func() error {
			_, err := c.GenerateAccessKeyRestricted(ctx, "t1", "alice", GenerateAccessKeyRequest{Description: &desc}, Restrictions{Scopes: Lift()}, nil)
			return err
		},
		func() error {
			_, err := c.GenerateAccessKeyRestricted(ctx, "t1", "alice", GenerateAccessKeyRequest{AllowedCidrs: &cidrs}, Restrictions{Scopes: Restrict()}, nil)
			return err
		},
		func() error {
			_, err := c.RotateAccessKeyRestricted(ctx, "t1", "alice", "TKAKAAAAAAAAAAAAAAAAAAAA", RotateAccessKeyRequest{}, Restrictions{}, nil)
			return err
		},
		func() error {
			_, err := c.RotateAccessKeyRestricted(ctx, "t1", "alice", "TKAKAAAAAAAAAAAAAAAAAAAA", RotateAccessKeyRequest{AllowedCidrs: &cidrs},
				Restrictions{AllowedCidrs: Lift(), Scopes: Restrict("orders:read")}, nil)
			return err
		},
	} {
		if err := call(); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := c.KeyPolicyJSON(ctx, "t1", map[string]any{"maxLifetimeDays": nil, "allowedCidrs": cidrs})
	if err != nil || string(raw) != `{"teamId":"t1","keysOutsidePolicy":2}` {
		t.Fatalf("KeyPolicyJSON: %s, %v", raw, err)
	}
	want := []string{
		`POST {"description":"ci","scopes":null}`,
		`POST {"allowedCidrs":["10.0.0.0/8"],"scopes":[]}`,
		`POST {}`,
		`POST {"allowedCidrs":null,"scopes":["orders:read"]}`,
		`PUT {"allowedCidrs":["10.0.0.0/8"],"maxLifetimeDays":null}`,
	}
	if len(got) != len(want) {
		t.Fatalf("requests %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: %s, want %s", i, got[i], want[i])
		}
	}
}
