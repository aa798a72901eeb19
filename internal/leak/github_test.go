package leak_test

import (
	"context"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/testing/fakegithub"
)

func TestVerify(t *testing.T) {
	current, other := fakegithub.New(t, "k1"), fakegithub.New(t, "k1")
	keys := leak.StaticKeys{"k1": &current.Key.PublicKey}
	body := []byte(`[{"token":"tksk_x","type":"teamkeys_secret","url":"https://github.com/o/r","source":"content"}]`)
	good := current.Sign(t, body)
	tests := []struct {
		name  string
		keyID string
		sig   string
		body  []byte
		want  error // nil: verifies
	}{
		{"signed", "k1", good, body, nil},
		{"signed, header padded", " k1 ", " " + good + " ", body, nil},
		{"no key id", "", good, body, accesskey.ErrReportUnsigned},
		{"no signature", "k1", "", body, accesskey.ErrReportUnsigned},
		{"body changed", "k1", good, append([]byte(" "), body...), accesskey.ErrReportSignature},
		{"another key's signature", "k1", other.Sign(t, body), body, accesskey.ErrReportSignature},
		{"unknown key id", "k2", good, body, accesskey.ErrReportSignature},
		{"not base64", "k1", "!!!" + good, body, accesskey.ErrReportSignature},
		{"not DER", "k1", base64.StdEncoding.EncodeToString([]byte("not a signature")), body, accesskey.ErrReportSignature},
		{"empty body signed", "k1", current.Sign(t, nil), nil, nil},
		{"huge header", "k1", strings.Repeat("A", 1000), body, accesskey.ErrReportSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := leak.Verify(context.Background(), keys, tt.keyID, tt.sig, tt.body)
			if tt.want == nil && err != nil {
				t.Fatalf("Verify: %v, want nil", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Verify: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseReport(t *testing.T) {
	many := "[" + strings.TrimSuffix(strings.Repeat(`{"token":"a"},`, leak.MaxReportTokens+1), ",") + "]"
	tests := []struct {
		name  string
		body  string
		n     int
		valid bool
	}{
		{"one", `[{"token":"tksk_a","type":"t","url":"u","source":"content"}]`, 1, true},
		{"none", `[]`, 0, true},
		{"object", `{"token":"a"}`, 0, false},
		{"empty token", `[{"token":""}]`, 0, false},
		{"token not a string", `[{"token":1}]`, 0, false},
		{"not JSON", `[{`, 0, false},
		{"too many", many, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := leak.ParseReport([]byte(tt.body))
			var invalid *accesskey.ValidationError
			if tt.valid != (err == nil) || (err != nil && !errors.As(err, &invalid)) {
				t.Fatalf("ParseReport: %v, want valid %v (else a ValidationError)", err, tt.valid)
			}
			if len(got) != tt.n {
				t.Fatalf("%d tokens, want %d", len(got), tt.n)
			}
		})
	}
}

// FileKeys reads the published shape and reads the file again for an
// identifier it does not know: a key added later verifies.
func TestFileKeys(t *testing.T) {
	k1, k2 := fakegithub.New(t, "k1"), fakegithub.New(t, "k2")
	path := fakegithub.WriteFile(t, "", k1)
	keys := leak.FileKeys(path)
	body := []byte(`[]`)
	if err := leak.Verify(context.Background(), keys, "k1", k1.Sign(t, body), body); err != nil {
		t.Fatalf("k1: %v", err)
	}
	if err := leak.Verify(context.Background(), keys, "k2", k2.Sign(t, body), body); !errors.Is(err, accesskey.ErrReportSignature) {
		t.Fatalf("k2 before it is published: %v, want ErrReportSignature", err)
	}
	fakegithub.WriteFile(t, path, k1, k2)
	if err := leak.Verify(context.Background(), keys, "k2", k2.Sign(t, body), body); err != nil {
		t.Fatalf("k2 once published: %v", err)
	}
	if _, err := leak.FileKeys(filepath.Join(t.TempDir(), "missing.json")).Key(context.Background(), "k1"); !errors.Is(err, accesskey.ErrUnavailable) {
		t.Fatalf("missing file: %v, want ErrUnavailable", err)
	}
}

// ParseKeys loads the entries it can read and names the others: one odd
// entry does not reject the document.
func TestParseKeys(t *testing.T) {
	good := fakegithub.New(t, "k1")
	entry := func(id, key string) string {
		return `{"key_identifier":` + jsonString(id) + `,"key":` + jsonString(key) + `,"is_current":true}`
	}
	k1 := entry("k1", fakegithub.PEM(t, &good.Key.PublicKey))
	tests := []struct {
		name    string
		doc     string
		ids     []string
		skipped int
		err     bool
	}{
		{"not JSON", `{`, nil, 0, true},
		{"one good", `{"public_keys":[` + k1 + `]}`, []string{"k1"}, 0, false},
		{"empty", `{"public_keys":[]}`, nil, 0, false},
		{"not PEM beside a good one", `{"public_keys":[` + k1 + `,` + entry("k", "nope") + `]}`, []string{"k1"}, 1, false},
		{"no id beside a good one", `{"public_keys":[` + entry("", fakegithub.PEM(t, &fakegithub.New(t, "").Key.PublicKey)) + `,` + k1 + `]}`, []string{"k1"}, 1, false},
		{"P-384 beside a good one", `{"public_keys":[` + entry("p384", fakegithub.PEM(t, &fakegithub.NewKey(t, elliptic.P384()).PublicKey)) + `,` + k1 + `]}`, []string{"k1"}, 1, false},
		{"only unreadable", `{"public_keys":[` + entry("k", "nope") + `,` + entry("p384", fakegithub.PEM(t, &fakegithub.NewKey(t, elliptic.P384()).PublicKey)) + `]}`, nil, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, skipped, err := leak.ParseKeys([]byte(tt.doc))
			if (err != nil) != tt.err {
				t.Fatalf("ParseKeys: %v, want error %v", err, tt.err)
			}
			if len(keys) != len(tt.ids) || len(skipped) != tt.skipped {
				t.Fatalf("%d keys and %d skipped (%v), want %v and %d", len(keys), len(skipped), skipped, tt.ids, tt.skipped)
			}
			for _, id := range tt.ids {
				if !keys[id].Equal(&good.Key.PublicKey) {
					t.Fatalf("key %q not loaded", id)
				}
			}
		})
	}
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

// URLKeys fetch the keys once, and again for an unknown identifier at most
// once per RefetchInterval; within it an unknown identifier may be a key
// published since, so it answers ErrUnavailable (503: GitHub retries).
func TestURLKeysRefetchAtMostOncePerInterval(t *testing.T) {
	srv, client, fetches := keyServer(t, string(fakegithub.Published(t, fakegithub.New(t, "k1"))))
	keys := leak.URLKeys(srv, client)
	ctx := context.Background()
	for range 3 {
		if _, err := keys.Key(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if _, err := keys.Key(ctx, "unknown"); !errors.Is(err, accesskey.ErrUnavailable) {
			t.Fatalf("unknown: %v", err)
		}
	}
	if n := fetches(); n != 1 {
		t.Fatalf("%d fetches, want 1 within %v", n, leak.RefetchInterval)
	}
}

// keyServer publishes doc over https; its client trusts the server's
// certificate.
func keyServer(t *testing.T, doc string) (string, *http.Client, func() int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(doc))
	}))
	t.Cleanup(srv.Close)
	return srv.URL, srv.Client(), n.Load
}
