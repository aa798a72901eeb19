package jwtissuer_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/teamkeys/teamkeys/internal/local/jwtissuer"
)

func TestNewSecret(t *testing.T) {
	a, b := jwtissuer.NewSecret(), jwtissuer.NewSecret()
	if len(a) != 43 || a == b {
		t.Errorf("NewSecret() = %q, %q: want two different 43-character (256-bit) secrets", a, b)
	}
	if jwtissuer.IsPublished(a) {
		t.Errorf("a new secret %q is published", a)
	}
}

func TestIsPublished(t *testing.T) {
	for s, want := range map[string]bool{
		"local-dev-secret-change-me":    true, // the Makefile's old default
		" local-dev-secret-change-me\n": true,
		"local-dev-secret-change-me2":   false,
		"":                              false,
	} {
		if got := jwtissuer.IsPublished(s); got != want {
			t.Errorf("IsPublished(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestSecretFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache") // missing: created
	path := filepath.Join(dir, jwtissuer.SecretFileName)
	if _, err := jwtissuer.ReadSecretFile(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadSecretFile(missing) = %v, want ErrNotExist", err)
	}
	for _, secret := range []string{"first-secret", "second-secret"} {
		if err := jwtissuer.WriteSecretFile(path, secret); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
			t.Errorf("secret file mode %v, want 0600", st.Mode().Perm())
		}
		if got, err := jwtissuer.ReadSecretFile(path); err != nil || got != secret {
			t.Errorf("ReadSecretFile = %q, %v; want %q", got, err, secret)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("cache holds %d entries, want only the secret file (no temporary left)", len(entries))
	}

	if err := jwtissuer.RemoveSecretFile(path, "first-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("RemoveSecretFile removed a file holding another run's secret: %v", err)
	}
	if err := jwtissuer.RemoveSecretFile(path, "second-secret"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("secret file still there after RemoveSecretFile: %v", err)
	}
	if err := jwtissuer.RemoveSecretFile(path, "second-secret"); err != nil {
		t.Errorf("RemoveSecretFile(missing) = %v", err)
	}

	if runtime.GOOS != "windows" {
		if err := os.WriteFile(path, []byte("open-secret\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := jwtissuer.ReadSecretFile(path); err == nil {
			t.Errorf("ReadSecretFile of a 0644 file = %q, want an error", got)
		}
	}
	if err := os.WriteFile(path, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := jwtissuer.ReadSecretFile(path); err == nil {
		t.Errorf("ReadSecretFile of an empty file = %q, want an error", got)
	}
	if err := jwtissuer.WriteSecretFile(path, ""); err == nil {
		t.Error("WriteSecretFile accepted an empty secret")
	}
}
