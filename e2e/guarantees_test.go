package e2e

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/local/server"
	"github.com/teamkeys/teamkeys/internal/seal"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// TestConcurrentGeneratesKeepTheCap: of 40 simultaneous generates for one
// member exactly 2 succeed and 38 get LimitExceeded; none gets a 5xx.
func TestConcurrentGeneratesKeepTheCap(t *testing.T) {
	s := newStack(t)
	token := s.Token("admin", "t1", accesskey.RoleAdmin)
	const clients = 40
	statuses := make([]int, clients)
	codes := make([]string, clients)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", s.URL+keysPath("t1", "alice"), nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				codes[i] = err.Error()
				return
			}
			defer resp.Body.Close()
			statuses[i] = resp.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	created, limited := 0, 0
	for i, st := range statuses {
		switch st {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			limited++
		default:
			t.Errorf("client %d: status %d %s", i, st, codes[i])
		}
	}
	if created != 2 || limited != clients-2 {
		t.Fatalf("%d created, %d limited; want 2 and %d", created, limited, clients-2)
	}
	wantHolds(t, s, "t1", "alice", 2)
}

// TestTeamListPages: the team-wide list pages through every key once, in a
// stable order, and its nextToken cannot be altered or replayed elsewhere.
func TestTeamListPages(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	var want []string
	for i := range 5 {
		member := fmt.Sprintf("m%d", i)
		want = append(want, s.Generate("t1", member, "").AccessKeyID)
		if i%2 == 0 {
			want = append(want, s.Generate("t1", member, "").AccessKeyID)
		}
	}
	s.Generate("t2", "m0", "") // another team's key never shows

	var got []string
	var tokens []string
	next := ""
	for page := 0; ; page++ {
		path := "/v1/teams/t1/access-keys?limit=3"
		if next != "" {
			path += "&nextToken=" + url.QueryEscape(next)
		}
		s.Calls.Take()
		resp := s.Do(request{Method: "GET", Path: path, Token: admin})
		if resp.Status != 200 {
			t.Fatalf("page %d: %d %s", page, resp.Status, resp.Body)
		}
		var l keyList
		resp.Decode(t, &l)
		// One Query of each of the team's ByTeam partitions (16 shards
		// and the one of keys made before them), at once, and one
		// BatchGetItem of what ByTeam does not project (restrictions,
		// leak marks) when the page has keys.
		wantBatches := 0
		if len(l.AccessKeys) > 0 {
			wantBatches = 1
		}
		if calls := s.Calls.Take(); calls["DynamoDB.Query"] != 17 || calls["DynamoDB.BatchGetItem"] != wantBatches || len(calls) != 1+wantBatches {
			t.Fatalf("page %d made calls %v, want 17 Queries and %d BatchGetItem", page, calls, wantBatches)
		}
		if len(l.AccessKeys) > 3 {
			t.Fatalf("page %d has %d keys", page, len(l.AccessKeys))
		}
		for _, k := range l.AccessKeys {
			if k.TeamID != "t1" {
				t.Fatalf("team list shows %+v", k)
			}
			got = append(got, k.AccessKeyID)
		}
		if l.NextToken == nil {
			break
		}
		next = *l.NextToken
		tokens = append(tokens, next)
	}
	slices.Sort(want)
	sortedGot := slices.Clone(got)
	slices.Sort(sortedGot)
	if !slices.Equal(sortedGot, want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	if len(tokens) != 2 { // 8 keys in pages of 3: 3, 3, 2
		t.Fatalf("%d tokens for 8 keys in pages of 3", len(tokens))
	}
	// The default page holds them all.
	resp := s.Do(request{Method: "GET", Path: "/v1/teams/t1/access-keys", Token: admin})
	var all keyList
	resp.Decode(t, &all)
	if len(all.AccessKeys) != 8 || all.NextToken != nil {
		t.Fatalf("default page: %d keys, nextToken %v", len(all.AccessKeys), all.NextToken)
	}

	// Altered anywhere, a token is refused; a token of t1 does not page t2.
	token := tokens[0]
	for i := 0; i < len(token); i += 7 {
		altered := token[:i] + string(flip(token[i])) + token[i+1:]
		resp := s.Do(request{Method: "GET", Path: "/v1/teams/t1/access-keys?nextToken=" + url.QueryEscape(altered), Token: admin})
		if resp.Status != 400 || resp.ErrorCode(t) != "ValidationError" {
			t.Fatalf("altered token at %d: %d %s", i, resp.Status, resp.Body)
		}
	}
	t2Admin := s.Token("admin", "t2", accesskey.RoleAdmin)
	resp = s.Do(request{Method: "GET", Path: "/v1/teams/t2/access-keys?nextToken=" + url.QueryEscape(token), Token: t2Admin})
	if resp.Status != 400 {
		t.Fatalf("t1's token on t2: %d %s", resp.Status, resp.Body)
	}
}

func flip(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

// TestCallsPerOperation counts the SDK calls each operation makes: the
// minimum: a generate reads its team's key policy once per team per
// execution environment (its transaction checks the policy it used); a
// disable or enable reads the key's status for its audit record and writes
// only if the status is still the one it read.
func TestCallsPerOperation(t *testing.T) {
	s := newStack(t)
	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	s.Calls.Take()
	key := s.Generate("t1", "alice", "")
	keyPath := keysPath("t1", "alice") + "/" + key.AccessKeyID
	steps := []struct {
		name      string
		req       request
		wantCalls map[string]int
	}{
		// The member's ByTeam shard and the partition of keys made before
		// the shards; the team's list: the 16 shards and that one, at once;
		// each a BatchGetItem of what ByTeam does not project.
		{"list member", request{Method: "GET", Path: keysPath("t1", "alice"), Token: admin}, map[string]int{"DynamoDB.Query": 2, "DynamoDB.BatchGetItem": 1}},
		{"list team", request{Method: "GET", Path: "/v1/teams/t1/access-keys", Token: admin}, map[string]int{"DynamoDB.Query": 17, "DynamoDB.BatchGetItem": 1}},
		{"disable", request{Method: "POST", Path: keyPath + "/disable", Token: admin}, map[string]int{"DynamoDB.GetItem": 1, "DynamoDB.TransactWriteItems": 1}},
		{"enable", request{Method: "POST", Path: keyPath + "/enable", Token: admin}, map[string]int{"DynamoDB.GetItem": 1, "DynamoDB.TransactWriteItems": 1}},
		{"delete", request{Method: "DELETE", Path: keyPath, Token: admin}, map[string]int{"DynamoDB.TransactWriteItems": 1}},
		{"refused generate", request{Method: "POST", Path: keysPath("t1", "alice"), Token: s.Token("x", "t2", accesskey.RoleAdmin)}, map[string]int{}},
		{"generate, the team's policy and key pair read before", request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin},
			map[string]int{"DynamoDB.TransactWriteItems": 1}},
		{"generate with an Idempotency-Key", request{Method: "POST", Path: keysPath("t1", "bob"), Token: admin, Header: map[string]string{"Idempotency-Key": "calls"}},
			map[string]int{"DynamoDB.GetItem": 1, "KMS.Encrypt": 1, "DynamoDB.TransactWriteItems": 1}},
		{"the same, replayed", request{Method: "POST", Path: keysPath("t1", "bob"), Token: admin, Header: map[string]string{"Idempotency-Key": "calls"}},
			map[string]int{"DynamoDB.GetItem": 1, "KMS.Decrypt": 1}},
		{"get one key", request{Method: "GET", Path: keyPath, Token: admin}, map[string]int{"DynamoDB.GetItem": 1}},
		// No policy yet: a copy, then the item of the layout before the copies.
		{"get the key policy", request{Method: "GET", Path: "/v1/teams/t1/key-policy", Token: admin}, map[string]int{"DynamoDB.GetItem": 2}},
		{"set the key policy", request{Method: "PUT", Path: "/v1/teams/t1/key-policy", Token: s.Token("olga", "t1", accesskey.RoleOwner),
			Body: `{"maxLifetimeDays":30}`}, map[string]int{"DynamoDB.TransactWriteItems": 1}},
		// Every audit shard and the partition of the layout before them, at once.
		{"the audit trail", request{Method: "GET", Path: "/v1/teams/t1/audit-events", Token: admin}, map[string]int{"DynamoDB.Query": 17}},
	}
	// The team's first generate reads its policy (its member's copy, and,
	// none there, the item of the layout before the copies), finds no key
	// pair, has KMS make one and stores it: the only KMS call of a generate.
	if got, want := s.Calls.Take(), map[string]int{"DynamoDB.GetItem": 3, "KMS.GenerateDataKeyPairWithoutPlaintext": 1, "DynamoDB.UpdateItem": 1,
		"DynamoDB.TransactWriteItems": 1}; !mapsEqual(got, want) {
		t.Fatalf("the team's first generate made %v, want %v", got, want)
	}
	for _, st := range steps {
		resp := s.Do(st.req)
		if resp.Status >= 500 {
			t.Fatalf("%s: %d %s", st.name, resp.Status, resp.Body)
		}
		if got := s.Calls.Take(); !mapsEqual(got, st.wantCalls) {
			t.Fatalf("%s made %v, want %v", st.name, got, st.wantCalls)
		}
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSecretIsSealedAndShownOnce: the secret is in the generate response and
// nowhere else: not in the table (only its KMS ciphertext, bound to the key
// by the encryption context), not in any list, not in the logs.
func TestSecretIsSealedAndShownOnce(t *testing.T) {
	s := newStack(t)
	alice := s.Generate("t1", "alice", "")
	bob := s.Generate("t1", "bob", "")

	item := s.Item("KEY#"+alice.AccessKeyID, "KEY")
	ciphertext, ok := item["secretCiphertext"].([]byte)
	if !ok || len(ciphertext) == 0 {
		t.Fatalf("key item has no ciphertext: %v", item)
	}
	for name, v := range item {
		if strings.Contains(fmt.Sprint(v), alice.SecretAccessKey) {
			t.Fatalf("attribute %s holds the plaintext secret", name)
		}
	}

	// Sealed to the team's key pair (HPKE), opened with its private key,
	// which KMS decrypts for the team only.
	if !seal.IsEnvelope(ciphertext) {
		t.Fatal("a new key's secret is not sealed to its team's key pair")
	}
	sealer := seal.NewEnvelopeOpener(s.KMS, "alias/teamkeys", dynamostore.New(s.DB, s.Table.Name))
	ctx := context.Background()
	aliceRef := accesskey.Ref{TeamID: "t1", MemberID: "alice", AccessKeyID: alice.AccessKeyID}
	opened, err := sealer.Open(ctx, aliceRef, ciphertext)
	if err != nil || opened != alice.SecretAccessKey {
		t.Fatalf("open with its own context: %v", err)
	}
	for _, other := range []accesskey.Ref{
		{TeamID: "t1", MemberID: "bob", AccessKeyID: bob.AccessKeyID},
		{TeamID: "t1", MemberID: "alice", AccessKeyID: bob.AccessKeyID},
		{TeamID: "t2", MemberID: "alice", AccessKeyID: alice.AccessKeyID},
	} {
		if _, err := sealer.Open(ctx, other, ciphertext); !errors.Is(err, accesskey.ErrSealedForAnotherKey) {
			t.Fatalf("open as %+v: %v, want ErrSealedForAnotherKey", other, err)
		}
	}
	// The team's private key is a KMS ciphertext that the raw KMS call
	// decrypts for its own team only (not only our wrapper).
	pair := s.Item("TEAMKEY#t1", "TEAMKEY")
	private, _ := pair["privateKeyCiphertext"].([]byte)
	if _, err := s.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: private, EncryptionContext: seal.TeamKeyPairContext("t1")}); err != nil {
		t.Fatalf("KMS refuses t1's private key for t1: %v", err)
	}
	if _, err = s.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: private, EncryptionContext: seal.TeamKeyPairContext("t2")}); err == nil {
		t.Fatal("KMS decrypted t1's private key with t2's context")
	}

	admin := s.Token("admin", "t1", accesskey.RoleAdmin)
	for _, path := range []string{keysPath("t1", "alice"), "/v1/teams/t1/access-keys"} {
		resp := s.Do(request{Method: "GET", Path: path, Token: admin})
		body := string(resp.Body)
		if strings.Contains(body, alice.SecretAccessKey) || strings.Contains(body, "secret") || strings.Contains(body, "Ciphertext") {
			t.Fatalf("%s shows secret material: %s", path, body)
		}
	}
	logs := s.Logs.String()
	// One access log line per request, with what an operator needs.
	requests := 0
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if entry["msg"] != "request" {
			continue
		}
		requests++
		for _, field := range []string{"requestId", "lambdaRequestId", "route", "status", "latencyMs", "callerTeam", "callerSub"} {
			if entry[field] == nil || entry[field] == "" {
				t.Fatalf("access log line lacks %s: %s", field, line)
			}
		}
	}
	if requests != 4 { // two generates, two lists
		t.Fatalf("%d access log lines for 4 requests", requests)
	}
	for _, secret := range []string{alice.SecretAccessKey, bob.SecretAccessKey, admin,
		base64.StdEncoding.EncodeToString(ciphertext), hex.EncodeToString(ciphertext)} {
		if strings.Contains(logs, secret) {
			t.Fatal("a secret, a token or a ciphertext reached the logs")
		}
	}
}

// TestDependencyFailures: KMS unreachable is a 503 with Retry-After that
// writes nothing; a KMS key that does not exist is a 500 whose body says
// nothing about why.
func TestDependencyFailures(t *testing.T) {
	unreachable := teststack.New(t, teststack.Options{Server: func(o *server.Options) {
		o.KMSOptions = append(o.KMSOptions, func(k *kms.Options) { k.BaseEndpoint = aws.String("http://127.0.0.1:1") })
	}})
	admin := unreachable.Token("admin", "t1", accesskey.RoleAdmin)
	resp := unreachable.Do(request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin})
	if resp.Status != http.StatusServiceUnavailable || resp.ErrorCode(t) != "ServiceUnavailable" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("KMS down: %d %v %s", resp.Status, resp.Header, resp.Body)
	}
	if got := unreachable.ListMember("t1", "alice").AccessKeys; len(got) != 0 {
		t.Fatalf("a key was written without its ciphertext: %+v", got)
	}
	if item := unreachable.Item("MEMBER#t1#alice", "COUNTER"); item != nil {
		t.Fatalf("the slot counter moved: %v", item)
	}

	wrongKey := teststack.New(t, teststack.Options{Server: func(o *server.Options) { o.Config.KMSKeyID = "alias/does-not-exist" }})
	resp = wrongKey.Do(request{Method: "POST", Path: keysPath("t1", "alice"), Token: admin})
	if resp.Status != http.StatusInternalServerError || resp.ErrorCode(t) != "InternalError" {
		t.Fatalf("missing KMS key: %d %s", resp.Status, resp.Body)
	}
	if strings.Contains(string(resp.Body), "does-not-exist") || strings.Contains(string(resp.Body), "NotFound") {
		t.Fatalf("500 body leaks the cause: %s", resp.Body)
	}
	if !strings.Contains(wrongKey.Logs.String(), "does-not-exist") {
		t.Fatal("the cause of the 500 is not in the log")
	}

	// DynamoDB reached through a proxy that is then cut off: a real refused
	// connection, without stopping the DynamoDB Local other tests share.
	proxy := newTCPProxy(t, os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	dbDown := teststack.New(t, teststack.Options{Server: func(o *server.Options) {
		o.DynamoDBOptions = append(o.DynamoDBOptions, func(d *dynamodb.Options) { d.BaseEndpoint = aws.String(proxy.url) })
	}})
	dbDown.Generate("t1", "alice", "")
	proxy.cut()
	for _, req := range []request{
		{Method: "POST", Path: keysPath("t1", "bob"), Token: admin},
		{Method: "GET", Path: keysPath("t1", "alice"), Token: admin},
		{Method: "GET", Path: "/v1/teams/t1/access-keys", Token: admin},
	} {
		resp := dbDown.Do(req)
		if resp.Status != http.StatusServiceUnavailable || resp.ErrorCode(t) != "ServiceUnavailable" || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("DynamoDB down, %s %s: %d %s", req.Method, req.Path, resp.Status, resp.Body)
		}
	}
}

// tcpProxy forwards connections to a target until it is cut.
type tcpProxy struct {
	url      string
	listener net.Listener
	mu       sync.Mutex
	conns    []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Host == "" {
		t.Fatalf("proxy target %q: %v", target, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{url: "http://" + l.Addr().String(), listener: l}
	t.Cleanup(p.cut)
	go func() {
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", u.Host)
			if err != nil {
				in.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, in, out)
			p.mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return p
}

// cut closes the listener and every open connection.
func (p *tcpProxy) cut() {
	p.listener.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
