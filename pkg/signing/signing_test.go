package signing_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/pkg/signing"
)

// The public signers produce what the service's verifier accepts, and a
// request signed with another secret is refused.
func TestPublicSignersVerify(t *testing.T) {
	const (
		id     = "TKAKABCDEFGHIJKLMNOPQRST"
		secret = "qVTvUEOln9UspgfheGfeeSjhiIC-4Gc0jI8tIKZYqe8"
	)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	cfg := signature.Config{Now: func() time.Time { return now }}
	sign := map[string]func(r *http.Request, body []byte, secret string) error{
		signing.SchemeSigV4: func(r *http.Request, body []byte, secret string) error {
			return signing.SignSigV4(r, body, id, secret, "", now)
		},
		signing.SchemeZC2: func(r *http.Request, body []byte, secret string) error {
			return signing.SignZC2(r, body, id, secret, now)
		},
	}
	for scheme, signWith := range sign {
		for _, tc := range []struct {
			secret string
			want   error
		}{{secret, nil}, {"Yx6Jt0bU4m3Hq9L2cV8pWn1sRk5ZaDfEgTiOuPyB7Mw", accesskey.ErrInvalidSignature}} {
			body := []byte(`{"hello":"world"}`)
			r, err := http.NewRequest(http.MethodPost, "https://api.example.com/v1/whoami", nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := signWith(r, body, tc.secret); err != nil {
				t.Fatalf("%s: sign: %v", scheme, err)
			}
			req := signature.FromHTTP(r, body)
			req.Path = "/v1/whoami"
			parsed, err := signature.Parse(req)
			if err != nil {
				t.Fatalf("%s: parse: %v", scheme, err)
			}
			if parsed.Scheme != scheme || parsed.AccessKeyID != id {
				t.Fatalf("%s: parsed scheme %q id %q", scheme, parsed.Scheme, parsed.AccessKeyID)
			}
			if err := cfg.Verify(req, parsed, secret); !errors.Is(err, tc.want) && (err != nil || tc.want != nil) {
				t.Errorf("%s signed with %s: Verify = %v, want %v", scheme, tc.secret[:4], err, tc.want)
			}
		}
	}
}
