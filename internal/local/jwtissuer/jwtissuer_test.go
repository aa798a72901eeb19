package jwtissuer_test

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/local/jwtissuer"
)

const testSecret = "local-test-secret-of-some-length"

func newIssuer(t *testing.T, secret string) *jwtissuer.Issuer {
	t.Helper()
	li, err := jwtissuer.New(secret)
	if err != nil {
		t.Fatalf("NewLocalIssuer: %v", err)
	}
	return li
}

func TestNewLocalIssuerRefusesEmptySecret(t *testing.T) {
	if li, err := jwtissuer.New(""); err == nil {
		t.Fatalf("NewLocalIssuer(\"\") = %v, nil; want an error", li)
	}
}

func TestMintVerifyRoundTrip(t *testing.T) {
	li := newIssuer(t, testSecret)
	tests := []struct {
		name   string
		caller accesskey.Caller
		names  config.ClaimNames
	}{
		{"default names", accesskey.Caller{Subject: "alice", TeamID: "t1", Role: accesskey.RoleAdmin}, config.DefaultClaimNames},
		{"cognito names", accesskey.Caller{Subject: "bob", TeamID: "t-2", Role: accesskey.RoleMember},
			config.ClaimNames{Subject: "sub", Team: "custom:team_id", Role: "custom:team_role"}},
		{"numeric-looking ids stay strings", accesskey.Caller{Subject: "007", TeamID: "1e3", Role: accesskey.RoleOwner}, config.DefaultClaimNames},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Unix()
			token, err := li.Mint(tt.caller, tt.names, time.Hour)
			if err != nil {
				t.Fatalf("Mint: %v", err)
			}
			after := time.Now().Unix()
			claims, err := li.Verify(token)
			if err != nil {
				t.Fatalf("Verify(Mint(...)) = %v", err)
			}
			for name, want := range map[string]string{
				tt.names.Subject: tt.caller.Subject,
				tt.names.Team:    tt.caller.TeamID,
				tt.names.Role:    string(tt.caller.Role),
			} {
				if got := claims[name]; got != want {
					t.Errorf("claim %q = %q, want %q", name, got, want)
				}
			}
			integer := regexp.MustCompile(`^[0-9]+$`)
			for _, name := range []string{"iat", "exp"} {
				if !integer.MatchString(claims[name]) {
					t.Fatalf("claim %q = %q, want a plain integer (no exponent, no fraction)", name, claims[name])
				}
			}
			iat, _ := strconv.ParseInt(claims["iat"], 10, 64)
			exp, _ := strconv.ParseInt(claims["exp"], 10, 64)
			if iat < before || iat > after {
				t.Errorf("iat = %d, want within [%d, %d]", iat, before, after)
			}
			if exp-iat != 3600 {
				t.Errorf("exp - iat = %d s, want 3600", exp-iat)
			}
		})
	}
}

// Verify hands back every claim as a string, the way API Gateway's JWT
// authorizer does.
func TestVerifyClaimStrings(t *testing.T) {
	li := newIssuer(t, testSecret)
	exp := time.Now().Add(time.Hour).Unix()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub":   "alice",
		"exp":   exp,
		"big":   int64(12345678901),
		"frac":  1.5,
		"flag":  true,
		"list":  []string{"a", "b"},
		"empty": "",
	}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := li.Verify(token)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := map[string]string{
		"sub":   "alice",
		"exp":   strconv.FormatInt(exp, 10),
		"big":   "12345678901",
		"frac":  "1.5",
		"flag":  "true",
		"list":  `["a","b"]`,
		"empty": "",
	}
	for name, w := range want {
		if got, ok := claims[name]; !ok || got != w {
			t.Errorf("claim %q = %q (present %v), want %q", name, got, ok, w)
		}
	}
}

func TestVerifyRefuses(t *testing.T) {
	li := newIssuer(t, testSecret)
	caller := accesskey.Caller{Subject: "alice", TeamID: "t1", Role: accesskey.RoleOwner}
	future := time.Now().Add(time.Hour).Unix()
	claims := func(extra jwt.MapClaims) jwt.MapClaims {
		c := jwt.MapClaims{"sub": "alice", "team_id": "t1", "team_role": "owner"}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	sign := func(t *testing.T, method jwt.SigningMethod, c jwt.MapClaims, key any) string {
		t.Helper()
		s, err := jwt.NewWithClaims(method, c).SignedString(key)
		if err != nil {
			t.Fatalf("sign %s: %v", method.Alg(), err)
		}
		return s
	}
	tests := []struct {
		name  string
		token func(t *testing.T) string
	}{
		{"expired", func(t *testing.T) string {
			s, err := li.Mint(caller, config.DefaultClaimNames, -time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"expired one second ago", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, claims(jwt.MapClaims{"exp": time.Now().Add(-time.Second).Unix()}), []byte(testSecret))
		}},
		{"no exp claim", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, claims(nil), []byte(testSecret))
		}},
		{"exp not a number", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, claims(jwt.MapClaims{"exp": "tomorrow"}), []byte(testSecret))
		}},
		{"not valid yet", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS256, claims(jwt.MapClaims{"exp": future, "nbf": future - 60}), []byte(testSecret))
		}},
		{"signed with another secret", func(t *testing.T) string {
			s, err := newIssuer(t, testSecret+"x").Mint(caller, config.DefaultClaimNames, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"alg none", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodNone, claims(jwt.MapClaims{"exp": future}), jwt.UnsafeAllowNoneSignatureType)
		}},
		{"HS384 with the right secret", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS384, claims(jwt.MapClaims{"exp": future}), []byte(testSecret))
		}},
		{"HS512 with the right secret", func(t *testing.T) string {
			return sign(t, jwt.SigningMethodHS512, claims(jwt.MapClaims{"exp": future}), []byte(testSecret))
		}},
		{"signature stripped", func(t *testing.T) string {
			s := sign(t, jwt.SigningMethodHS256, claims(jwt.MapClaims{"exp": future}), []byte(testSecret))
			return s[:strings.LastIndex(s, ".")+1]
		}},
		{"payload swapped", func(t *testing.T) string {
			good := sign(t, jwt.SigningMethodHS256, claims(jwt.MapClaims{"exp": future}), []byte(testSecret))
			evil := sign(t, jwt.SigningMethodHS256, jwt.MapClaims{"sub": "mallory", "team_id": "t1", "team_role": "owner", "exp": future}, []byte("guess"))
			g, e := strings.Split(good, "."), strings.Split(evil, ".")
			return g[0] + "." + e[1] + "." + g[2]
		}},
		{"empty", func(*testing.T) string { return "" }},
		{"garbage", func(*testing.T) string { return "not-a-jwt" }},
		{"three garbage parts", func(*testing.T) string { return "a.b.c" }},
		{"bearer prefix left on", func(t *testing.T) string {
			s, err := li.Mint(caller, config.DefaultClaimNames, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			return "Bearer " + s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := tt.token(t)
			got, err := li.Verify(token)
			if !errors.Is(err, accesskey.ErrUnauthenticated) {
				t.Fatalf("Verify(%q) = %v, %v; want ErrUnauthenticated", token, got, err)
			}
			if got != nil {
				t.Errorf("Verify returned claims %v with its error", got)
			}
		})
	}
}
