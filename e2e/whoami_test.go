package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/testing/othersigners"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

type whoAmI struct {
	AccessKeyID string `json:"accessKeyId"`
	TeamID      string `json:"teamId"`
	MemberID    string `json:"memberId"`
	Scheme      string `json:"scheme"`
	// The key's restrictions: nil (JSON null) when unrestricted, which
	// keeps the struct comparable for the unrestricted keys most tests use.
	AllowedCIDRs *[]string `json:"allowedCidrs"`
	Scopes       *[]string `json:"scopes"`
}

// sdkSigned is a request to the stack signed by aws-sdk-go-v2's own SigV4
// signer, as any AWS SDK client would sign it.
func sdkSigned(t *testing.T, s *stack, method, path, body, id, secret string, at time.Time) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	hash := sha256.Sum256([]byte(body))
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: id, SecretAccessKey: secret},
		req, hex.EncodeToString(hash[:]), "teamkeys", "us-east-1", at)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func wantWhoAmI(t *testing.T, resp response, key createdKey, scheme string) {
	t.Helper()
	if resp.Status != http.StatusOK {
		t.Fatalf("whoami: %d %s", resp.Status, resp.Body)
	}
	var got whoAmI
	resp.Decode(t, &got)
	want := whoAmI{AccessKeyID: key.AccessKeyID, TeamID: key.TeamID, MemberID: key.MemberID, Scheme: scheme}
	if got != want {
		t.Fatalf("whoami %+v, want %+v", got, want)
	}
}

func wantRefusal(t *testing.T, resp response, code string) {
	t.Helper()
	if resp.Status != http.StatusUnauthorized || resp.ErrorCode(t) != code {
		t.Fatalf("got %d %s, want 401 %s", resp.Status, resp.Body, code)
	}
}

// TestWhoAmISignedBySDK: a request signed by the AWS SDK's signer names its
// key's owner; any alteration, a wrong secret or a stale date is refused.
func TestWhoAmISignedBySDK(t *testing.T) {
	s := newStack(t)
	key := s.Generate("t1", "alice", "")
	now := time.Now()

	wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, now)), key, signature.SchemeSigV4)
	wantWhoAmI(t, s.Send(sdkSigned(t, s, "POST", "/v1/whoami?x=1", `{"hello":"world"}`, key.AccessKeyID, key.SecretAccessKey, now)), key, signature.SchemeSigV4)

	alterations := []struct {
		name string
		req  func() *http.Request
		code string
	}{
		{"body", func() *http.Request {
			r := sdkSigned(t, s, "POST", "/v1/whoami", `{"amount":1}`, key.AccessKeyID, key.SecretAccessKey, now)
			r.Body, r.ContentLength = http.NoBody, 0
			r2, _ := http.NewRequest("POST", r.URL.String(), strings.NewReader(`{"amount":9}`))
			r2.Header = r.Header
			return r2
		}, "InvalidSignature"},
		{"query", func() *http.Request {
			r := sdkSigned(t, s, "GET", "/v1/whoami?page=1", "", key.AccessKeyID, key.SecretAccessKey, now)
			r.URL.RawQuery = "page=2"
			return r
		}, "InvalidSignature"},
		{"path", func() *http.Request {
			r := sdkSigned(t, s, "GET", "/v1/other", "", key.AccessKeyID, key.SecretAccessKey, now)
			r.URL.Path = "/v1/whoami"
			return r
		}, "InvalidSignature"},
		{"signed header", func() *http.Request {
			r := sdkSigned(t, s, "POST", "/v1/whoami", `{}`, key.AccessKeyID, key.SecretAccessKey, now)
			r.Header.Set("Content-Type", "application/x-evil")
			return r
		}, "InvalidSignature"},
		{"date", func() *http.Request {
			r := sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, now)
			r.Header.Set("X-Amz-Date", now.Add(time.Second).UTC().Format("20060102T150405Z"))
			return r
		}, "InvalidSignature"},
		{"wrong secret", func() *http.Request {
			return sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, strings.Repeat("x", 43), now)
		}, "InvalidSignature"},
		{"ten minutes old", func() *http.Request {
			return sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, now.Add(-10*time.Minute))
		}, "RequestExpired"},
		{"unknown key", func() *http.Request {
			return sdkSigned(t, s, "GET", "/v1/whoami", "", accesskey.NewAccessKeyID(), key.SecretAccessKey, now)
		}, "UnknownKey"},
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest("GET", s.URL+"/v1/whoami", nil)
			return r
		}, "MissingSignature"},
		{"bearer token instead", func() *http.Request {
			r, _ := http.NewRequest("GET", s.URL+"/v1/whoami", nil)
			r.Header.Set("Authorization", "Bearer "+s.Token("admin", "t1", accesskey.RoleAdmin))
			return r
		}, "MissingSignature"},
		{"malformed header", func() *http.Request {
			r, _ := http.NewRequest("GET", s.URL+"/v1/whoami", nil)
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=, SignedHeaders=;;, Signature=zz")
			return r
		}, "InvalidSignature"},
	}
	for _, a := range alterations {
		t.Run(a.name, func(t *testing.T) { wantRefusal(t, s.Send(a.req()), a.code) })
	}
}

// TestWhoAmIFollowsTheKeysStatus: a disable refuses the key within 1 s
// (its item may be cached that long), an enable admits it again, a delete
// makes it unknown.
func TestWhoAmIFollowsTheKeysStatus(t *testing.T) {
	s := newStack(t)
	key := s.Generate("t1", "alice", "")
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	keyPath := keysPath("t1", "alice") + "/" + key.AccessKeyID
	whoami := func() response {
		return s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, time.Now()))
	}
	wantWhoAmI(t, whoami(), key, signature.SchemeSigV4)

	s.Do(request{Method: "POST", Path: keyPath + "/disable", Token: admin})
	refusedWithinTheBound(t, whoami, "KeyDisabled")
	// KeyDisabled only for a right signature: a wrong one tells nothing.
	wantRefusal(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, strings.Repeat("y", 43), time.Now())), "InvalidSignature")

	s.Do(request{Method: "POST", Path: keyPath + "/enable", Token: admin})
	wantWhoAmI(t, admittedWithinTheBound(t, whoami, "KeyDisabled"), key, signature.SchemeSigV4)

	s.Do(request{Method: "DELETE", Path: keyPath, Token: admin})
	refusedWithinTheBound(t, whoami, "UnknownKey")
}

// TestWhoAmISignedByCurl: curl's own --aws-sigv4, a client nobody here wrote.
func TestWhoAmISignedByCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Fatal("curl is needed for this test")
	}
	s := newStack(t)
	key := s.Generate("t1", "alice", "")
	run := func(args ...string) response {
		t.Helper()
		base := []string{"-s", "-o", "-", "-w", "\n%{http_code}", "--aws-sigv4", "aws:amz:us-east-1:teamkeys", "--user", key.AccessKeyID + ":" + key.SecretAccessKey}
		out, err := exec.Command(curl, append(base, args...)...).Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		i := strings.LastIndexByte(string(out), '\n')
		status, err := strconv.Atoi(string(out[i+1:]))
		if err != nil {
			t.Fatalf("curl output %q", out)
		}
		body := out[:i]
		return response{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
	}
	wantWhoAmI(t, run(s.URL+"/v1/whoami"), key, signature.SchemeSigV4)
	wantWhoAmI(t, run("-X", "POST", "-H", "Content-Type: application/json", "-d", `{"a":1}`, s.URL+"/v1/whoami?q=1"), key, signature.SchemeSigV4)

	// The same curl command with the wrong secret is refused.
	out, _ := exec.Command(curl, "-s", "--aws-sigv4", "aws:amz:us-east-1:teamkeys", "--user", key.AccessKeyID+":"+strings.Repeat("z", 43), s.URL+"/v1/whoami").Output()
	if !strings.Contains(string(out), `"InvalidSignature"`) {
		t.Fatalf("wrong secret: %s", out)
	}
	// Signed for another region: refused.
	out, _ = exec.Command(curl, "-s", "--aws-sigv4", "aws:amz:eu-west-1:teamkeys", "--user", key.AccessKeyID+":"+key.SecretAccessKey, s.URL+"/v1/whoami").Output()
	if !strings.Contains(string(out), `"InvalidSignature"`) {
		t.Fatalf("other region: %s", out)
	}
}

// TestWhoAmISignedByTheHelper: the Go signing helper, both schemes.
func TestWhoAmISignedByTheHelper(t *testing.T) {
	s := newStack(t)
	key := s.Generate("t1", "alice", "")
	body := []byte(`{"action":"DescribeThings"}`)

	r, _ := http.NewRequest("POST", s.URL+"/v1/whoami", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if err := signature.SignZC2(r, body, key.AccessKeyID, key.SecretAccessKey, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantWhoAmI(t, s.Send(r), key, signature.SchemeZC2)

	r, _ = http.NewRequest("POST", s.URL+"/v1/whoami", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if err := signature.SignSigV4(r, body, key.AccessKeyID, key.SecretAccessKey, "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	wantWhoAmI(t, s.Send(r), key, signature.SchemeSigV4)

	// ZC2 with the body altered after signature.
	r, _ = http.NewRequest("POST", s.URL+"/v1/whoami", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	signature.SignZC2(r, body, key.AccessKeyID, key.SecretAccessKey, time.Now())
	altered, _ := http.NewRequest("POST", s.URL+"/v1/whoami", strings.NewReader(`{"action":"DeleteThings"}`))
	altered.Header = r.Header
	wantRefusal(t, s.Send(altered), "InvalidSignature")
}

// TestVerificationCalls: 2 GetItems (the key, its team's key pair) and 1
// Decrypt (the team's private key) for a key whose secret is not cached yet;
// at most 1 GetItem (none while the item read is less than 1 s old) and no
// KMS call once it is. The last-use write happens at most once per 15
// minutes per key, and the lists show it.
func TestVerificationCalls(t *testing.T) {
	s := newStack(t)
	key := s.Generate("t1", "alice", "")
	s.Calls.Take()

	wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, time.Now())), key, signature.SchemeSigV4)
	first := s.Calls.Take()
	if first["DynamoDB.GetItem"] != 2 || first["KMS.Decrypt"] != 1 || first["DynamoDB.UpdateItem"] > 1 || len(first) > 3 {
		t.Fatalf("first verification made %v", first)
	}
	var lastUsed *string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if l := s.ListMember("t1", "alice").AccessKeys; l[0].LastUsedAt != nil {
			lastUsed = l[0].LastUsedAt
			break
		}
	}
	if lastUsed == nil {
		t.Fatal("lastUsedAt never appeared in the list")
	}
	if at, err := time.Parse(time.RFC3339, *lastUsed); err != nil || time.Since(at) > time.Minute {
		t.Fatalf("lastUsedAt %q", *lastUsed)
	}
	item := s.Item("KEY#"+key.AccessKeyID, "KEY")
	if item["lastUsedScheme"] != signature.SchemeSigV4 || item["lastUsedIp"] != "127.0.0.1" {
		t.Fatalf("last use recorded as %v / %v", item["lastUsedScheme"], item["lastUsedIp"])
	}
	s.Calls.Take()

	for range 3 {
		wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", key.AccessKeyID, key.SecretAccessKey, time.Now())), key, signature.SchemeSigV4)
	}
	time.Sleep(100 * time.Millisecond)
	got := s.Calls.Take()
	if got["DynamoDB.GetItem"] > 3 || len(got) > 1 || (len(got) == 1 && got["DynamoDB.GetItem"] == 0) {
		t.Fatalf("three cached verifications made %v, want at most 3 GetItem (one per second at most) and nothing else", got)
	}
	t.Logf("three verifications with the secret cached made %v (GetItem only when the item read was 1 s old)", got)
}

// TestCopiedCiphertextIsRefused: a secret is bound to its key. Bob's
// ciphertext copied onto alice's item (by someone with write access to the
// table) opens for no one: requests signed with either secret are refused.
func TestCopiedCiphertextIsRefused(t *testing.T) {
	s := newStack(t)
	alice := s.Generate("t1", "alice", "")
	bob := s.Generate("t1", "bob", "")
	bobCiphertext := s.Item("KEY#"+bob.AccessKeyID, "KEY")["secretCiphertext"].([]byte)
	_, err := s.DB.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table.Name),
		Key:                       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "KEY#" + alice.AccessKeyID}, "sk": &types.AttributeValueMemberS{Value: "KEY"}},
		UpdateExpression:          aws.String("SET secretCiphertext = :c"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":c": &types.AttributeValueMemberB{Value: bobCiphertext}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{alice.SecretAccessKey, bob.SecretAccessKey} {
		wantRefusal(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", alice.AccessKeyID, secret, time.Now())), "InvalidSignature")
	}
	// Bob's own key still works.
	wantWhoAmI(t, s.Send(sdkSigned(t, s, "GET", "/v1/whoami", "", bob.AccessKeyID, bob.SecretAccessKey, time.Now())), bob, signature.SchemeSigV4)
}

// TestCheapRefusalsMakeNoCall: a request the verifier can refuse from the
// request alone (another region, a date outside the window, another
// service) costs no DynamoDB read and no KMS call, even for a known key id
// whose secret is not cached.
func TestCheapRefusalsMakeNoCall(t *testing.T) {
	s := newStack(t)
	key := s.Generate("t1", "alice", "")
	cases := []struct {
		name, region, service string
		at                    time.Time
		code                  string
	}{
		{"another region", "eu-west-1", "teamkeys", time.Now(), "InvalidSignature"},
		{"another service", "us-east-1", "s3", time.Now(), "InvalidSignature"},
		{"an hour old", "us-east-1", "teamkeys", time.Now().Add(-time.Hour), "RequestExpired"},
		{"an hour ahead", "us-east-1", "teamkeys", time.Now().Add(time.Hour), "RequestExpired"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, s.URL+"/v1/whoami", nil)
			if err != nil {
				t.Fatal(err)
			}
			err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey},
				req, hex.EncodeToString(func() []byte { h := sha256.Sum256(nil); return h[:] }()), tc.service, tc.region, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			s.Calls.Take()
			wantRefusal(t, s.Send(req), tc.code)
			if got := s.Calls.Take(); len(got) != 0 {
				t.Fatalf("the refusal made %v, want no call", got)
			}
		})
	}
}

// TestWhoAmISignedByBotocore: Python's botocore (boto3, the AWS CLI) signs
// what the service verifies, headers whose values hold ", " included (the
// default Accept of axios and browsers), through the local API Gateway and
// the WhoAmI function.
func TestWhoAmISignedByBotocore(t *testing.T) {
	s := newStack(t)
	key := s.Generate("t1", "alice", "")
	for _, tc := range []struct {
		name, method, path, body string
		header                   map[string]string
	}{
		{"GET", http.MethodGet, "/v1/whoami", "", nil},
		{"GET with a query and Accept: a, b", http.MethodGet, "/v1/whoami?b=2&a=1&c=x%20y", "",
			map[string]string{"Accept": "application/json, text/plain, */*"}},
		{"POST with a body and a custom header", http.MethodPost, "/v1/whoami", `{"hello":"world"}`,
			map[string]string{"Content-Type": "application/json", "X-Tags": "a, b , c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, s.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for name, value := range tc.header {
				req.Header.Set(name, value)
			}
			othersigners.Botocore(t, req, []byte(tc.body), key.AccessKeyID, key.SecretAccessKey, "us-east-1")
			wantWhoAmI(t, s.Send(req), key, signature.SchemeSigV4)
		})
	}
}

// TestWhoAmIRestrictedKeys: on the local stack, whose source address is the
// TCP peer, a key restricted to networks (written to its item as stored)
// answers /v1/whoami from inside them, with its restrictions, and 403
// SourceIpNotAllowed naming the peer from outside; IPv4 and IPv6 apart;
// no X-Forwarded-For, Forwarded or X-Real-IP counts; without the secret the
// answer is the unrestricted key's.
func TestWhoAmIRestrictedKeys(t *testing.T) {
	v4 := newStack(t)
	v6 := teststack.New(t, teststack.Options{Table: v4.Table.Name, Listen: "[::1]:0"})
	forged := func(addr string) map[string]string {
		return map[string]string{"X-Forwarded-For": addr, "Forwarded": "for=" + addr, "X-Real-IP": addr}
	}
	tests := []struct {
		name    string
		s       *stack
		cidrs   []string
		scopes  []string
		headers map[string]string
		secret  bool // the right secret
		status  int
		code    string
		message string
	}{
		{"IPv4 peer inside a /32", v4, []string{"127.0.0.1/32"}, []string{"orders:read", "orders:*"}, nil, true, 200, "", ""},
		{"IPv4 peer inside a /8", v4, []string{"10.0.0.0/8", "127.0.0.0/8"}, nil, nil, true, 200, "", ""},
		{"IPv4 peer inside /0", v4, []string{"0.0.0.0/0"}, []string{}, nil, true, 200, "", ""},
		{"IPv4 peer outside", v4, []string{"10.0.0.0/8"}, nil, nil, true, 403, "SourceIpNotAllowed", "This access key may not be used from 127.0.0.1."},
		{"IPv4 peer, IPv6 /0 only", v4, []string{"::/0"}, nil, nil, true, 403, "SourceIpNotAllowed", "This access key may not be used from 127.0.0.1."},
		{"IPv6 peer inside a /128", v6, []string{"::1/128"}, nil, nil, true, 200, "", ""},
		{"IPv6 peer inside /0", v6, []string{"::/0"}, nil, nil, true, 200, "", ""},
		{"IPv6 peer outside", v6, []string{"2001:db8::/32"}, nil, nil, true, 403, "SourceIpNotAllowed", "This access key may not be used from ::1."},
		{"IPv6 peer, IPv4 /0 only", v6, []string{"0.0.0.0/0"}, nil, nil, true, 403, "SourceIpNotAllowed", "This access key may not be used from ::1."},
		{"forged headers from an allowed peer are ignored", v4, []string{"127.0.0.1/32"}, nil, forged("203.0.113.9"), true, 200, "", ""},
		{"forged headers naming an allowed address do not admit", v4, []string{"203.0.113.0/24"}, nil, forged("203.0.113.9"), true,
			403, "SourceIpNotAllowed", "This access key may not be used from 127.0.0.1."},
		{"wrong secret, restricted, outside", v4, []string{"10.0.0.0/8"}, nil, nil, false, 401, "InvalidSignature", ""},
		{"wrong secret, restricted, inside", v4, []string{"127.0.0.1/32"}, nil, nil, false, 401, "InvalidSignature", ""},
		{"wrong secret, unrestricted", v4, nil, nil, nil, false, 401, "InvalidSignature", ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := v4.Generate("t1", fmt.Sprintf("m%d", i), "")
			// Before the key's first use: no verifier has its item yet.
			v4.Restrict(key.AccessKeyID, tc.cidrs, tc.scopes)
			secret := key.SecretAccessKey
			if !tc.secret {
				secret = strings.Repeat("x", 43)
			}
			req := sdkSigned(t, tc.s, "GET", "/v1/whoami", "", key.AccessKeyID, secret, time.Now())
			for name, value := range tc.headers {
				req.Header.Set(name, value)
			}
			resp := tc.s.Send(req)
			if resp.Status != tc.status {
				t.Fatalf("%d %s, want %d", resp.Status, resp.Body, tc.status)
			}
			if tc.status != http.StatusOK {
				var body struct {
					Error struct{ Code, Message string }
				}
				resp.Decode(t, &body)
				if body.Error.Code != tc.code || (tc.message != "" && body.Error.Message != tc.message) {
					t.Fatalf("%s, want %s %q", resp.Body, tc.code, tc.message)
				}
				return
			}
			var got whoAmI
			resp.Decode(t, &got)
			if got.AccessKeyID != key.AccessKeyID || !sameList(got.AllowedCIDRs, tc.cidrs) || !sameList(got.Scopes, tc.scopes) {
				t.Fatalf("whoami %s, want the key with allowedCidrs %v and scopes %v", resp.Body, tc.cidrs, tc.scopes)
			}
			// The last use names the peer, never a forged header's address
			// (written in the background: wait for it, bounded).
			for deadline := time.Now().Add(5 * time.Second); tc.headers != nil; time.Sleep(50 * time.Millisecond) {
				if ip := v4.Item("KEY#"+key.AccessKeyID, "KEY")["lastUsedIp"]; ip != nil {
					if ip != "127.0.0.1" {
						t.Fatalf("lastUsedIp %v, want the peer 127.0.0.1", ip)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("no lastUsedIp on the key 5 s after a verified request")
				}
			}
		})
	}
}

// sameList reports whether a decoded JSON list (nil: null) is want (nil:
// null, empty: []).
func sameList(got *[]string, want []string) bool {
	if got == nil || want == nil {
		return (got == nil) == (want == nil)
	}
	return slices.Equal(*got, want)
}
