package jwtissuer

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/config"
)

// fuzzJSONString is s as it comes back from a JSON round trip (invalid
// UTF-8 becomes U+FFFD).
func fuzzJSONString(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// FuzzLocalIssuerVerify: Verify never panics and accepts only what the
// issuer minted: a token it minted verifies (while unexpired) with its
// claims intact; the same claims minted under another secret, and every
// alteration of a minted token's header or claims, are refused.
//
// An alteration of the signature's last base64 character that leaves its
// decoded bytes unchanged (its 4 spare bits) is still accepted: jwt/v5
// decodes segments leniently unless the parser has jwt.WithStrictDecoding.
// The claims cannot change that way, so the check below is on the signed
// header and claims and on the decoded signature.
func FuzzLocalIssuerVerify(f *testing.F) {
	f.Add("alice", "t1", "admin", int64(3600), uint16(0), "")
	f.Add("bob", "t-2", "member", int64(0), uint16(0), "")
	f.Add("carol", "t1", "owner", int64(-1), uint16(0), "")
	f.Add("alice", "t1", "admin", int64(3600), uint16(0), "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0")
	f.Add("alice", "t1", "admin", int64(3600), uint16(200), "x")
	f.Add("\xff", "{\"", "", int64(1), uint16(30), ".")
	now := time.Unix(1_773_500_000, 0)
	li := &Issuer{secret: []byte("local-fuzz-secret-of-some-length"), now: func() time.Time { return now }}
	other := &Issuer{secret: []byte("local-fuzz-secret-of-some-lengtH"), now: li.now}
	names := config.DefaultClaimNames
	f.Fuzz(func(t *testing.T, sub, team, role string, ttlSeconds int64, at uint16, splice string) {
		ttlSeconds %= 10 * 366 * 24 * 3600
		caller := accesskey.Caller{Subject: sub, TeamID: team, Role: accesskey.Role(role)}
		minted, err := li.Mint(caller, names, time.Duration(ttlSeconds)*time.Second)
		if err != nil {
			t.Fatalf("Mint: %v", err)
		}

		claims, err := li.Verify(minted)
		if ttlSeconds <= 0 {
			if err == nil || !errors.Is(err, accesskey.ErrUnauthenticated) {
				t.Fatalf("Verify of a token expired %ds ago = %v, %v", -ttlSeconds, claims, err)
			}
		} else {
			if err != nil {
				t.Fatalf("Verify(Mint(...)) = %v", err)
			}
			for name, want := range map[string]string{names.Subject: sub, names.Team: team, names.Role: role} {
				if got := claims[name]; got != fuzzJSONString(want) {
					t.Fatalf("claim %q = %q, want %q", name, got, fuzzJSONString(want))
				}
			}
		}

		if c, err := other.Verify(minted); err == nil {
			// other's secret differs: it must refuse li's token.
			t.Fatalf("an issuer with another secret accepted %q: %v", minted, c)
		}
		foreign, _ := other.Mint(caller, names, time.Duration(ttlSeconds)*time.Second)
		if c, err := li.Verify(foreign); err == nil {
			t.Fatalf("Verify accepted %q, minted under another secret: %v", foreign, c)
		}

		i := int(at) % (len(minted) + 1)
		tampered := minted[:i] + splice + minted[min(i+len(splice), len(minted)):]
		c, err := li.Verify(tampered)
		if err != nil {
			if c != nil || !errors.Is(err, accesskey.ErrUnauthenticated) {
				t.Fatalf("Verify(%q) = %v, %v; want nil, ErrUnauthenticated", tampered, c, err)
			}
			return
		}
		if ttlSeconds <= 0 {
			t.Fatalf("Verify accepted %q, an alteration of an expired token", tampered)
		}
		mp, tp := strings.Split(minted, "."), strings.Split(tampered, ".")
		if len(tp) != 3 || tp[0] != mp[0] || tp[1] != mp[1] {
			t.Fatalf("Verify accepted %q, whose header or claims differ from the minted %q", tampered, minted)
		}
		ms, _ := base64.RawURLEncoding.DecodeString(mp[2])
		ts, err := base64.RawURLEncoding.DecodeString(tp[2])
		if err != nil || string(ts) != string(ms) {
			t.Fatalf("Verify accepted %q, whose signature differs from the minted %q", tampered, minted)
		}
	})
}
