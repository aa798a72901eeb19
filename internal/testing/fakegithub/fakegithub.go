// Package fakegithub stands in for GitHub's secret scanning in tests: a
// P-256 key pair that signs leak reports as GitHub does, and its public key
// published in GitHub's shape, as the local server reads it from
// TEAMKEYS_GITHUB_KEYS_FILE.
package fakegithub

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

// Signer is one of GitHub's signing keys.
type Signer struct {
	KeyID string
	Key   *ecdsa.PrivateKey
}

// New returns a fresh signer named keyID.
func New(t testing.TB, keyID string) *Signer {
	t.Helper()
	return &Signer{KeyID: keyID, Key: NewKey(t, elliptic.P256())}
}

// NewKey is a fresh ECDSA key on curve.
func NewKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// Sign is GitHub's Github-Public-Key-Signature of body: ECDSA over its
// SHA-256, ASN.1 DER, base64.
func (s *Signer) Sign(t testing.TB, body []byte) string {
	t.Helper()
	sum := sha256.Sum256(body)
	der, err := ecdsa.SignASN1(rand.Reader, s.Key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// PEM is a public key as GitHub publishes it.
func PEM(t testing.TB, k *ecdsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// Published is the signers' public keys in GitHub's shape:
// {"public_keys":[{"key_identifier","key","is_current"}]}.
func Published(t testing.TB, signers ...*Signer) []byte {
	t.Helper()
	keys := []map[string]any{}
	for _, s := range signers {
		keys = append(keys, map[string]any{"key_identifier": s.KeyID, "key": PEM(t, &s.Key.PublicKey), "is_current": true})
	}
	b, err := json.Marshal(map[string]any{"public_keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WriteFile writes the signers' public keys to path (a fresh file in a
// temporary directory when path is empty) and returns the path.
func WriteFile(t testing.TB, path string, signers ...*Signer) string {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "github-keys.json")
	}
	if err := os.WriteFile(path, Published(t, signers...), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
