package leak_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/testing/fakegithub"
)

// A key server that redirects is not followed: the fetch fails, the
// report's key is unknown for now (ErrUnavailable: 503, GitHub retries),
// and the address it redirects to is never asked.
func TestURLKeysFollowNoRedirect(t *testing.T) {
	target, client, fetched := keyServer(t, string(fakegithub.Published(t, fakegithub.New(t, "k1"))))
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var asked atomic.Int64
			redirector := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked.Add(1)
				http.Redirect(w, r, target, status)
			}))
			t.Cleanup(redirector.Close)
			keys := leak.URLKeys(redirector.URL, client)
			_, err := keys.Key(context.Background(), "k1")
			if !errors.Is(err, accesskey.ErrUnavailable) || !strings.Contains(err.Error(), "redirects are not followed") {
				t.Fatalf("key behind a %d: %v, want ErrUnavailable (redirects are not followed)", status, err)
			}
			if asked.Load() != 1 || fetched() != 0 {
				t.Fatalf("the redirector was asked %d times and its target %d, want 1 and 0", asked.Load(), fetched())
			}
		})
	}
}

// TEAMKEYS_GITHUB_KEYS_URL is https:// (or file:// locally), else the
// function's init fails with a clear error; URLKeys itself never fetches
// another scheme.
func TestKeysURLMustBeHTTPS(t *testing.T) {
	file := fakegithub.WriteFile(t, "", fakegithub.New(t, "k1"))
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"", true}, // GitHub's own address
		{"https://api.github.com/meta/public_keys/secret_scanning", true},
		{"file://" + file, true},
		{"http://api.github.com/meta/public_keys/secret_scanning", false},
		{"HTTP://example.com/keys", false},
		{"ftp://example.com/keys", false},
		{"https:///keys", false},
		{"api.github.com/meta/public_keys/secret_scanning", false},
	} {
		t.Run(tt.url, func(t *testing.T) {
			keys, err := leak.KeysFrom("", tt.url)
			if tt.ok != (err == nil) || tt.ok != (keys != nil) {
				t.Fatalf("KeysFrom(%q) = %v, %v; want accepted %v", tt.url, keys, err, tt.ok)
			}
			if !tt.ok && !strings.Contains(err.Error(), "must be an https:// URL") {
				t.Errorf("the refusal does not say why: %v", err)
			}
		})
	}
	keys, err := leak.KeysFrom("", "file://"+file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Key(context.Background(), "k1"); err != nil {
		t.Fatalf("the key in the file://: %v", err)
	}

	var asked atomic.Int64
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { asked.Add(1) }))
	t.Cleanup(plain.Close)
	if _, err := leak.URLKeys(plain.URL, nil).Key(context.Background(), "k1"); !errors.Is(err, accesskey.ErrUnavailable) || asked.Load() != 0 {
		t.Fatalf("URLKeys over http://: %v, %d requests; want ErrUnavailable and none", err, asked.Load())
	}
}
