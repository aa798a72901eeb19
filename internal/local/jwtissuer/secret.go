package jwtissuer

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// SecretEnv names the variable that sets the local JWT secret. When it is
// unset, `teamkeys-local serve` generates a secret for the run and keeps it
// in SecretFileName in the tool cache, where `teamkeys-local token` reads it.
const SecretEnv = "TEAMKEYS_LOCAL_JWT_SECRET"

// SecretFileName is the name of the generated secret's file in the tool
// cache (.cache/local-jwt-secret).
const SecretFileName = "local-jwt-secret"

// publishedSecrets were written in this repository once (the Makefile's
// default): anyone can sign tokens with them.
var publishedSecrets = []string{"local-dev-secret-change-me"}

// IsPublished says whether secret is one this repository once published.
func IsPublished(secret string) bool {
	return slices.Contains(publishedSecrets, strings.TrimSpace(secret))
}

// NewSecret returns a random secret: 256 bits, base64url.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (it crashes the program instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// WriteSecretFile replaces path with a file holding secret, readable by its
// owner only (0600), creating its directory (0700) if missing. The file is
// written aside and renamed into place, so a reader never sees it partial.
func WriteSecretFile(path, secret string) (err error) {
	if secret == "" {
		return errors.New("local JWT secret: empty")
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("local JWT secret: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*") // 0600
	if err != nil {
		return fmt.Errorf("local JWT secret: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return fmt.Errorf("local JWT secret: %w", err)
	}
	if _, err := f.WriteString(secret + "\n"); err != nil {
		f.Close()
		return fmt.Errorf("local JWT secret: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("local JWT secret: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("local JWT secret: %w", err)
	}
	return nil
}

// ReadSecretFile returns the secret in path. It refuses a file that is
// empty or (off Windows) readable or writable by others than its owner.
// A missing file gives an error wrapping os.ErrNotExist.
func ReadSecretFile(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("local JWT secret: %w", err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("local JWT secret: %s is open to others (mode %v): want 0600", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("local JWT secret: %w", err)
	}
	secret := strings.TrimSpace(string(b))
	if secret == "" {
		return "", fmt.Errorf("local JWT secret: %s is empty", path)
	}
	return secret, nil
}

// RemoveSecretFile removes path if it still holds secret (another run may
// have replaced it since).
func RemoveSecretFile(path, secret string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("local JWT secret: %w", err)
	}
	if !bytes.Equal(bytes.TrimSpace(b), []byte(secret)) {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("local JWT secret: %w", err)
	}
	return nil
}
