// Package leak speaks GitHub's secret scanning partner protocol: it checks
// a report's signature against GitHub's published public keys and reads the
// report. It knows nothing of AWS or of the table; the handler
// (internal/httpapi) looks the reported secrets up.
//
// A report is POSTed as a JSON array of {"token","type","url","source"},
// signed with ECDSA P-256 over the exact raw body with SHA-256 (ASN.1 DER,
// base64) in Github-Public-Key-Signature, by the key named in
// Github-Public-Key-Identifier. The keys are published as
// {"public_keys":[{"key_identifier","key" (PEM),"is_current"}]}.
package leak

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// The headers GitHub signs a report with.
const (
	HeaderKeyID     = "Github-Public-Key-Identifier"
	HeaderSignature = "Github-Public-Key-Signature"
)

// Bounds of a report: what GitHub sends is far smaller (a batch of a few
// tokens), and anything larger is refused before a single lookup.
const (
	MaxReportBytes  = 1 << 20 // 1 MiB
	MaxReportTokens = 1000
	// maxHeaderLength bounds the key identifier and the signature headers
	// (a DER P-256 signature is at most 72 bytes, 96 in base64).
	maxHeaderLength = 512
)

// Labels of GitHub's feedback.
const (
	LabelTruePositive  = "true_positive"
	LabelFalsePositive = "false_positive"
)

// Keys finds a public key by its identifier; ErrUnknownKeyID when the
// reporter publishes none of that name, accesskey.ErrUnavailable when that
// cannot be known yet.
type Keys interface {
	Key(ctx context.Context, id string) (*ecdsa.PublicKey, error)
}

// ErrUnknownKeyID is a key identifier the published keys do not hold.
var ErrUnknownKeyID = errors.New("unknown public key identifier")

// Verify checks a report's signature headers against keys. Missing headers
// are accesskey.ErrReportUnsigned; a signature that does not verify, or
// that names a key the reporter does not publish, is
// accesskey.ErrReportSignature; when the answer depends on keys not yet
// fetched, Keys answers accesskey.ErrUnavailable (503: GitHub retries),
// returned as it is.
func Verify(ctx context.Context, keys Keys, keyID, sig string, body []byte) error {
	keyID, sig = strings.TrimSpace(keyID), strings.TrimSpace(sig)
	if keyID == "" || sig == "" {
		return accesskey.ErrReportUnsigned
	}
	if len(keyID) > maxHeaderLength || len(sig) > maxHeaderLength {
		return fmt.Errorf("%w: header too long", accesskey.ErrReportSignature)
	}
	der, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", accesskey.ErrReportSignature)
	}
	pub, err := keys.Key(ctx, keyID)
	if errors.Is(err, ErrUnknownKeyID) {
		return fmt.Errorf("%w: %w", accesskey.ErrReportSignature, err)
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, sum[:], der) {
		return fmt.Errorf("%w: signature does not match", accesskey.ErrReportSignature)
	}
	return nil
}

// Token is one reported match.
type Token struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// Feedback is GitHub's feedback on one token.
type Feedback struct {
	TokenRaw  string `json:"token_raw"`
	TokenType string `json:"token_type"`
	Label     string `json:"label"`
}

// ParseReport reads a (verified) report: a JSON array of at most
// MaxReportTokens tokens, each with a non-empty string token. Anything else
// is a ValidationError.
func ParseReport(body []byte) ([]Token, error) {
	if !utf8.Valid(body) {
		return nil, accesskey.Invalid("body", "is not UTF-8")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, accesskey.Invalid("body", "must be a JSON array of reported tokens")
	}
	if len(raw) > MaxReportTokens {
		return nil, accesskey.Invalid("body", fmt.Sprintf("holds more than %d tokens", MaxReportTokens))
	}
	tokens := make([]Token, 0, len(raw))
	for i, r := range raw {
		var t Token
		if err := json.Unmarshal(r, &t); err != nil || t.Token == "" {
			return nil, accesskey.Invalid(fmt.Sprintf("body[%d]", i), "must be an object with a non-empty string token")
		}
		tokens = append(tokens, t)
	}
	return tokens, nil
}

// publicKeysJSON is the shape GitHub publishes its keys in.
type publicKeysJSON struct {
	PublicKeys []struct {
		KeyIdentifier string `json:"key_identifier"`
		Key           string `json:"key"`
		IsCurrent     bool   `json:"is_current"`
	} `json:"public_keys"`
}

// ParseKeys reads published keys: each a PEM "PUBLIC KEY" (PKIX) of an
// ECDSA P-256 key. Keys no longer current still verify (GitHub may sign
// with a key it is retiring). An entry that cannot be read (no identifier,
// not PEM, another curve or algorithm) is skipped and named in skipped, so
// that one odd entry does not reject the keys that can be read; err is a
// document that is not the published shape at all.
func ParseKeys(b []byte) (keys map[string]*ecdsa.PublicKey, skipped []error, err error) {
	var doc publicKeysJSON
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, nil, fmt.Errorf("public keys: %w", err)
	}
	keys = make(map[string]*ecdsa.PublicKey, len(doc.PublicKeys))
	for i, k := range doc.PublicKeys {
		ec, err := parseKey(k.KeyIdentifier, k.Key)
		if err != nil {
			skipped = append(skipped, fmt.Errorf("public key %d %q: %w", i, truncate(k.KeyIdentifier), err))
			continue
		}
		keys[k.KeyIdentifier] = ec
	}
	return keys, skipped, nil
}

func parseKey(id, key string) (*ecdsa.PublicKey, error) {
	if id == "" {
		return nil, errors.New("no identifier")
	}
	block, _ := pem.Decode([]byte(key))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKIX public key: %w", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not an ECDSA P-256 key")
	}
	return ec, nil
}
