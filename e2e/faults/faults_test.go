package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/local/gateway"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

const clientTimeout = 15 * time.Second

var kmsStopped atomic.Bool

// server is one local API on its own table, its handler timed.
type server struct {
	*teststack.Stack

	slowMu     sync.Mutex
	slowest    time.Duration // the longest time the handler took
	slowestReq string
}

// causes returns the distinct errors of the failed requests in a log.
func causes(log string) []string {
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(log, "\n") {
		var rec struct {
			Status int    `json:"status"`
			Error  string `json:"error"`
		}
		if json.Unmarshal([]byte(line), &rec) != nil || rec.Error == "" {
			continue
		}
		// Key ids and member ids vary: keep the error's shape.
		e := regexp.MustCompile(`TKAK[A-Z0-9]+|m[0-9]{3}|RequestID: [0-9a-f-]+`).ReplaceAllString(rec.Error, "…")
		e = fmt.Sprintf("%d %s", rec.Status, e)
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

// newServer starts a local API (fresh: its secret cache is empty) on table,
// logging warnings and errors, whose requests wait at most clientTimeout.
func newServer(t *testing.T, table string) *server {
	t.Helper()
	srv := &server{}
	srv.Stack = teststack.New(t, teststack.Options{
		Table:    table,
		LogLevel: slog.LevelWarn,
		Client:   &http.Client{Timeout: clientTimeout},
		Wrap: func(handler http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				began := time.Now()
				handler.ServeHTTP(w, r)
				d := time.Since(began)
				srv.slowMu.Lock()
				if d > srv.slowest {
					srv.slowest, srv.slowestReq = d, r.Method+" "+r.URL.Path
				}
				srv.slowMu.Unlock()
			})
		},
	})
	return srv
}

// token is a bearer token of team's admin.
func (s *server) token(team string) string {
	return s.Token("admin", team, accesskey.RoleAdmin)
}

// do sends a request with a bearer token; no answer is not a failure.
func (s *server) do(method, path, token string) teststack.Response {
	return s.Try(s.NewRequest(teststack.Request{Method: method, Path: path, Token: token}))
}

// errorCode is the code of an error body, "" if the body is not one.
func errorCode(r teststack.Response) string {
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.Body, &body)
	return body.Error.Code
}

// isUnavailable: 503 ServiceUnavailable with Retry-After.
func isUnavailable(r teststack.Response) bool {
	return r.Err == nil && r.Status == http.StatusServiceUnavailable && errorCode(r) == "ServiceUnavailable" && r.Header.Get("Retry-After") != ""
}

func (s *server) check(t *testing.T) dynamostore.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := s.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func requireKMS(t *testing.T) {
	t.Helper()
	if kmsStopped.Load() {
		t.Fatal("local-kms was stopped by TestKMSDown, which must run last (no -shuffle in this package)")
	}
}

// TestCheckOnDynamoDBLocal: dynamostore.Check on a real table written by the
// store is clean, and finds the counter drift and the over-cap member written
// behind the store's back.
func TestCheckOnDynamoDBLocal(t *testing.T) {
	s := newServer(t, teststack.TableName(t.Name())) // creates the table
	ctx := context.Background()
	store := dynamostore.New(s.DB, s.Table.Name)
	for i := range 5 {
		for range 2 {
			k := accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t1", MemberID: fmt.Sprint("m", i), Status: accesskey.StatusActive, CreatedAt: time.Now(), CreatedBy: "admin"}
			if err := store.Create(ctx, k, accesskey.SealedSecret{Ciphertext: []byte("ct")}, accesskey.KeyPolicy{}, accesskey.Audit{Actor: accesskey.SystemActor("test"), At: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := store.Delete(ctx, accesskey.Ref{TeamID: "t1", MemberID: "m0", AccessKeyID: firstKey(t, s, "t1", "m0")}, accesskey.Audit{Actor: accesskey.SystemActor("test"), At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r := s.check(t)
	if !r.OK() || r.Keys != 9 || r.Counters != 5 || r.Members != 5 {
		t.Fatalf("store-written table: %s", r)
	}

	// Behind the store's back: m1's counter drops to 1 (it has 2 keys), and
	// a third key item appears for m2.
	put := func(item map[string]types.AttributeValue) {
		if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table.Name), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	str := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	put(map[string]types.AttributeValue{"pk": str("MEMBER#t1#m1"), "sk": str("COUNTER"), "teamId": str("t1"), "memberId": str("m1"), "keyCount": &types.AttributeValueMemberN{Value: "1"}})
	put(map[string]types.AttributeValue{"pk": str("KEY#TKAKEXTRA"), "sk": str("KEY"), "teamId": str("t1"), "memberId": str("m2")})
	r = s.check(t)
	want := []dynamostore.Violation{
		{Kind: dynamostore.CounterMismatch, TeamID: "t1", MemberID: "m1", Keys: 2, Counter: 1, HasCounter: true},
		{Kind: dynamostore.CounterMismatch, TeamID: "t1", MemberID: "m2", Keys: 3, Counter: 2, HasCounter: true},
		{Kind: dynamostore.OverCap, TeamID: "t1", MemberID: "m2", Keys: 3, Counter: 2, HasCounter: true},
	}
	if fmt.Sprint(r.Violations) != fmt.Sprint(want) {
		t.Fatalf("got\n%s\nwant %v", r, want)
	}
}

func firstKey(t *testing.T, s *server, team, member string) string {
	t.Helper()
	resp := s.do("GET", teststack.KeysPath(team, member), s.token(team))
	var l struct {
		AccessKeys []struct {
			AccessKeyID string `json:"accessKeyId"`
		} `json:"accessKeys"`
	}
	if resp.Status != 200 || json.Unmarshal(resp.Body, &l) != nil || len(l.AccessKeys) == 0 {
		t.Fatalf("list %s/%s: %s", team, member, resp)
	}
	return l.AccessKeys[0].AccessKeyID
}

// phase of the load test.
const (
	phaseBefore = iota
	phaseDown
	phaseRestarting
	phaseAfter
	phases
)

var phaseNames = [phases]string{"before", "down", "restarting", "after"}

type stats struct {
	mu          sync.Mutex
	ok, client  [phases]int // 2xx, 4xx
	unavailable [phases]int // 503 with Retry-After
	bad         []string    // anything else
	maxLatency  time.Duration
}

// record counts an answer in the phase it arrived in (a request in flight
// when DynamoDB was killed counts as "down"), and returns how long the
// client waits before its next request: after a 503, a random part of
// Retry-After, as a polite client does (and a spinning one would starve the
// restarting JVM of CPU).
func (st *stats) record(phase *atomic.Int32, op string, r teststack.Response, rng *rand.Rand) time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	p := int(phase.Load())
	st.recordLocked(p, op, r)
	if isUnavailable(r) {
		return time.Duration(rng.Int64N(int64(time.Second)))
	}
	return 0
}

func (st *stats) recordLocked(phase int, op string, r teststack.Response) {
	st.maxLatency = max(st.maxLatency, r.Elapsed)
	switch {
	case r.Err == nil && r.Status >= 200 && r.Status < 300:
		st.ok[phase]++
	case r.Err == nil && r.Status >= 400 && r.Status < 500:
		st.client[phase]++
	case isUnavailable(r):
		st.unavailable[phase]++
	default:
		if len(st.bad) < 20 {
			st.bad = append(st.bad, fmt.Sprintf("[%s] %s: %s", phaseNames[phase], op, r))
		}
	}
}

// TestDynamoDBKilledUnderLoad: 32 clients generate, disable and delete keys
// of 100 members while DynamoDB Local is stopped and restarted under them.
// Every request is answered within the client's 15 s: 2xx or 4xx, or 503 with
// Retry-After while the store is away; never a hang, never a 500. The server
// recovers by itself once DynamoDB is back, and afterwards every member holds
// at most two keys and every counter equals its member's keys.
func TestDynamoDBKilledUnderLoad(t *testing.T) {
	requireKMS(t)
	s := newServer(t, teststack.TableName(t.Name()))
	const (
		clients = 32
		members = 100
		team    = "t1"
	)
	tok := s.token(team)

	var (
		mu    sync.Mutex
		known = map[string][]string{} // member -> key ids the clients were given
	)
	var phase atomic.Int32
	st := &stats{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	began := time.Now()
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), uint64(began.UnixNano())))
			for {
				select {
				case <-stop:
					return
				default:
				}
				member := fmt.Sprintf("m%03d", rng.IntN(members))
				mu.Lock()
				ids := known[member]
				id := ""
				if len(ids) > 0 {
					id = ids[rng.IntN(len(ids))]
				}
				mu.Unlock()
				op := rng.IntN(10)
				var pause time.Duration
				switch {
				case id == "" || op < 5:
					r := s.do("POST", teststack.KeysPath(team, member), tok)
					pause = st.record(&phase, "generate "+member, r, rng)
					var k teststack.CreatedKey
					if r.Err == nil && r.Status == http.StatusCreated && json.Unmarshal(r.Body, &k) == nil {
						mu.Lock()
						known[member] = append(known[member], k.AccessKeyID)
						mu.Unlock()
					}
				case op < 7:
					r := s.do("POST", teststack.KeysPath(team, member)+"/"+id+"/disable", tok)
					pause = st.record(&phase, "disable "+id, r, rng)
				default:
					r := s.do("DELETE", teststack.KeysPath(team, member)+"/"+id, tok)
					pause = st.record(&phase, "delete "+id, r, rng)
					if r.Err == nil && (r.Status == http.StatusNoContent || r.Status == http.StatusNotFound) {
						mu.Lock()
						l := known[member]
						for i, x := range l {
							if x == id {
								known[member] = append(l[:i:i], l[i+1:]...)
								break
							}
						}
						mu.Unlock()
					}
				}
				select {
				case <-stop:
					return
				case <-time.After(pause):
				}
			}
		})
	}
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	time.Sleep(3 * time.Second)
	phase.Store(phaseDown)
	logBefore := s.Logs.String()
	killAt := time.Now()
	if err := env.StopDynamoDB(); err != nil {
		t.Fatal(err)
	}
	stopped := time.Since(killAt)
	time.Sleep(3 * time.Second)
	phase.Store(phaseRestarting)
	restartAt := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := env.StartDynamoDB(ctx); err != nil {
		t.Fatal(err)
	}
	restarted := time.Since(restartAt)
	phase.Store(phaseAfter)
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("DynamoDB Local stopped in %v, restarted in %v; load ran %v", stopped.Round(time.Millisecond), restarted.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))

	st.mu.Lock()
	for p := range phases {
		t.Logf("%-10s 2xx %5d  4xx %5d  503 %5d", phaseNames[p], st.ok[p], st.client[p], st.unavailable[p])
	}
	if st.unavailable[phaseBefore] > 0 {
		t.Logf("503 causes before the kill: %q", causes(logBefore))
	}
	s.slowMu.Lock()
	t.Logf("slowest answer %v (client timeout %v); slowest in the handler %v (%s)", st.maxLatency.Round(time.Millisecond), clientTimeout, s.slowest.Round(time.Millisecond), s.slowestReq)
	if s.slowest > gateway.FunctionTimeout+2*time.Second {
		t.Errorf("a request took %v in the handler (%s), past the %v Lambda timeout the gateway enforces", s.slowest.Round(time.Millisecond), s.slowestReq, gateway.FunctionTimeout)
	}
	s.slowMu.Unlock()
	bad := st.bad
	st.mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("answers that are neither 2xx, 4xx nor 503 with Retry-After (first %d):\n%s", len(bad), strings.Join(bad, "\n"))
	}
	if st.unavailable[phaseDown] == 0 {
		t.Error("no 503 while DynamoDB Local was down: the fault did not reach the service")
	}
	if st.ok[phaseBefore] == 0 || st.ok[phaseAfter] == 0 {
		t.Error("no 2xx before the kill or after the restart: the service did not work, or did not recover")
	}

	r := s.check(t)
	t.Logf("invariant: %d keys, %d counters, %d members", r.Keys, r.Counters, r.Members)
	if !r.OK() {
		t.Fatalf("invariants broken after the outage:\n%s", r)
	}
	if r.Keys == 0 {
		t.Fatal("no key survived: the table did not persist across the restart")
	}
}

// TestKMSDown stops local-kms for good (it cannot restart), so it must run
// last. What needs KMS then answers 503 with Retry-After and writes nothing:
// a team's first generate (its key pair is made by KMS), a generate with an
// Idempotency-Key (its answer is sealed for the replay), and a signed whoami
// of a key whose team's private key the server has not cached (KMS being
// away must not look like a bad signature). A generate in a team whose key
// pair exists needs no KMS: the secret is sealed to the team's public key.
func TestKMSDown(t *testing.T) {
	requireKMS(t)
	table := teststack.TableName(t.Name())
	before := newServer(t, table)
	tok := before.token("t1")
	r := before.do("POST", teststack.KeysPath("t1", "alice"), tok)
	var key teststack.CreatedKey
	if r.Status != http.StatusCreated || json.Unmarshal(r.Body, &key) != nil || key.SecretAccessKey == "" {
		t.Fatalf("generate with KMS up: %s", r)
	}
	// A fresh server: it has cached no key pair and no secret.
	s := newServer(t, table)

	kmsStopped.Store(true)
	if err := env.StopKMS(); err != nil {
		t.Fatal(err)
	}

	if r := s.do("POST", teststack.KeysPath("t2", "bob"), s.token("t2")); !isUnavailable(r) {
		t.Fatalf("a new team's first generate with KMS down: want 503 ServiceUnavailable with Retry-After, got %s", r)
	}
	replayed := s.NewRequest(teststack.Request{Method: "POST", Path: teststack.KeysPath("t1", "carol"), Token: tok,
		Header: map[string]string{"Idempotency-Key": "kms-down"}})
	if r := s.Try(replayed); !isUnavailable(r) {
		t.Fatalf("a generate with an Idempotency-Key with KMS down: want 503 ServiceUnavailable with Retry-After, got %s", r)
	}
	if c := s.RawItem("MEMBER#t2#bob", "COUNTER"); c != nil {
		t.Fatalf("bob got a counter: %v", c)
	}
	if c := s.RawItem("MEMBER#t1#carol", "COUNTER"); c != nil {
		t.Fatalf("carol got a counter: %v", c)
	}
	rep := s.check(t)
	if !rep.OK() || rep.Keys != 1 || rep.Counters != 1 {
		t.Fatalf("the table changed: %s", rep)
	}
	if r := s.do("POST", teststack.KeysPath("t1", "alice"), tok); r.Status != http.StatusCreated {
		t.Fatalf("a generate in a team with a key pair, KMS down: want 201 (sealed to the public key), got %s", r)
	}

	req, err := http.NewRequest("GET", s.URL+"/v1/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := signature.SignSigV4(req, nil, key.AccessKeyID, key.SecretAccessKey, s.Config.SigningRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := s.Try(req); !isUnavailable(r) {
		t.Fatalf("whoami with KMS down and no cached secret: want 503 ServiceUnavailable with Retry-After, got %s", r)
	}
}
