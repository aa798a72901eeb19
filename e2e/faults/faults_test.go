package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
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
	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/local/gateway"
	"github.com/teamkeys/teamkeys/internal/local/jwtissuer"
	localserver "github.com/teamkeys/teamkeys/internal/local/server"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
	"github.com/teamkeys/teamkeys/internal/signature"
)

const (
	kmsAlias      = "alias/teamkeys"
	jwtSecret     = "faults-test-secret"
	clientTimeout = 15 * time.Second
)

var (
	tableSeq   atomic.Int64
	kmsStopped atomic.Bool
)

// server is one local API on its own table.
type server struct {
	t      *testing.T
	url    string
	table  string
	db     *dynamodb.Client
	cfg    config.Config
	client *http.Client
	admin  map[string]string // team -> admin token
	logs   *logbuf.Buffer

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

func newTable(t *testing.T) string {
	return fmt.Sprintf("faults-%s-%d-%d", t.Name(), time.Now().UnixNano(), tableSeq.Add(1))
}

// newServer starts a local API (localserver.New, fresh: its secret cache is
// empty) on table.
func newServer(t *testing.T, table string) *server {
	t.Helper()
	ctx := context.Background()
	awsCfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.FromEnv()
	cfg.Table = table
	cfg.KMSKeyID = kmsAlias
	logs := &logbuf.Buffer{}
	handler, err := localserver.New(ctx, localserver.Options{Config: cfg, AWS: awsCfg, JWTSecret: jwtSecret,
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	srv := &server{}
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		handler.ServeHTTP(w, r)
		d := time.Since(began)
		srv.slowMu.Lock()
		if d > srv.slowest {
			srv.slowest, srv.slowestReq = d, r.Method+" "+r.URL.Path
		}
		srv.slowMu.Unlock()
	}))
	t.Cleanup(hs.Close)
	*srv = server{
		t: t, url: hs.URL, table: table, cfg: cfg, logs: logs,
		db:     dynamodb.NewFromConfig(awsCfg),
		client: &http.Client{Timeout: clientTimeout},
		admin:  map[string]string{},
	}
	return srv
}

func (s *server) token(team string) string {
	if tok, ok := s.admin[team]; ok {
		return tok
	}
	issuer, err := jwtissuer.New(jwtSecret)
	if err != nil {
		s.t.Fatal(err)
	}
	tok, err := issuer.Mint(accesskey.Caller{Subject: "admin", TeamID: team, Role: accesskey.RoleAdmin}, s.cfg.Claims, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	s.admin[team] = tok
	return tok
}

type response struct {
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
	err     error // transport error or client timeout: no answer
}

func (s *server) send(req *http.Request) response {
	began := time.Now()
	resp, err := s.client.Do(req)
	if err != nil {
		return response{err: err, elapsed: time.Since(began)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b, err: err, elapsed: time.Since(began)}
}

func (s *server) do(method, path, token string) response {
	req, err := http.NewRequest(method, s.url+path, nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return s.send(req)
}

func keysPath(team, member string) string {
	return "/v1/teams/" + team + "/members/" + member + "/access-keys"
}

type createdKey struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// errorCode is the code of an error body, "" if the body is not one.
func (r response) errorCode() string {
	var body struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(r.body, &body)
	return body.Error.Code
}

// isUnavailable: 503 ServiceUnavailable with Retry-After.
func (r response) isUnavailable() bool {
	return r.err == nil && r.status == http.StatusServiceUnavailable && r.errorCode() == "ServiceUnavailable" && r.header.Get("Retry-After") != ""
}

func (r response) String() string {
	if r.err != nil {
		return fmt.Sprintf("no answer after %v: %v", r.elapsed.Round(time.Millisecond), r.err)
	}
	return fmt.Sprintf("%d after %v: %s", r.status, r.elapsed.Round(time.Millisecond), r.body)
}

func (s *server) check(t *testing.T) dynamostore.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := dynamostore.Check(ctx, s.db, s.table)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (s *server) item(pk, sk string) map[string]types.AttributeValue {
	s.t.Helper()
	out, err := s.db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName:      aws.String(s.table),
		Key:            map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return out.Item
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
	s := newServer(t, newTable(t)) // creates the table
	ctx := context.Background()
	store := dynamostore.New(s.db, s.table)
	for i := range 5 {
		for range 2 {
			k := accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t1", MemberID: fmt.Sprint("m", i), Status: accesskey.StatusActive, CreatedAt: time.Now(), CreatedBy: "admin"}
			if err := store.Create(ctx, k, []byte("ct")); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := store.Delete(ctx, accesskey.Ref{TeamID: "t1", MemberID: "m0", AccessKeyID: firstKey(t, s, "t1", "m0")}); err != nil {
		t.Fatal(err)
	}
	r := s.check(t)
	if !r.OK() || r.Keys != 9 || r.Counters != 5 || r.Members != 5 {
		t.Fatalf("store-written table: %s", r)
	}

	// Behind the store's back: m1's counter drops to 1 (it has 2 keys), and
	// a third key item appears for m2.
	put := func(item map[string]types.AttributeValue) {
		if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item}); err != nil {
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
	resp := s.do("GET", keysPath(team, member), s.token(team))
	var l struct {
		AccessKeys []struct {
			AccessKeyID string `json:"accessKeyId"`
		} `json:"accessKeys"`
	}
	if resp.status != 200 || json.Unmarshal(resp.body, &l) != nil || len(l.AccessKeys) == 0 {
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
func (st *stats) record(phase *atomic.Int32, op string, r response, rng *rand.Rand) time.Duration {
	st.mu.Lock()
	defer st.mu.Unlock()
	p := int(phase.Load())
	st.recordLocked(p, op, r)
	if r.isUnavailable() {
		return time.Duration(rng.Int64N(int64(time.Second)))
	}
	return 0
}

func (st *stats) recordLocked(phase int, op string, r response) {
	st.maxLatency = max(st.maxLatency, r.elapsed)
	switch {
	case r.err == nil && r.status >= 200 && r.status < 300:
		st.ok[phase]++
	case r.err == nil && r.status >= 400 && r.status < 500:
		st.client[phase]++
	case r.isUnavailable():
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
	s := newServer(t, newTable(t))
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
					r := s.do("POST", keysPath(team, member), tok)
					pause = st.record(&phase, "generate "+member, r, rng)
					var k createdKey
					if r.err == nil && r.status == http.StatusCreated && json.Unmarshal(r.body, &k) == nil {
						mu.Lock()
						known[member] = append(known[member], k.AccessKeyID)
						mu.Unlock()
					}
				case op < 7:
					r := s.do("POST", keysPath(team, member)+"/"+id+"/disable", tok)
					pause = st.record(&phase, "disable "+id, r, rng)
				default:
					r := s.do("DELETE", keysPath(team, member)+"/"+id, tok)
					pause = st.record(&phase, "delete "+id, r, rng)
					if r.err == nil && (r.status == http.StatusNoContent || r.status == http.StatusNotFound) {
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
	logBefore := s.logs.String()
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
// last. A generate then answers 503 with Retry-After and writes nothing, and
// a signed whoami of a key whose secret the server has not cached answers
// 503, not 401: KMS being away must not look like a bad signature.
func TestKMSDown(t *testing.T) {
	requireKMS(t)
	table := newTable(t)
	before := newServer(t, table)
	tok := before.token("t1")
	r := before.do("POST", keysPath("t1", "alice"), tok)
	var key createdKey
	if r.status != http.StatusCreated || json.Unmarshal(r.body, &key) != nil || key.SecretAccessKey == "" {
		t.Fatalf("generate with KMS up: %s", r)
	}
	// A fresh server: its verifier has cached no secret.
	s := newServer(t, table)

	kmsStopped.Store(true)
	if err := env.StopKMS(); err != nil {
		t.Fatal(err)
	}

	for _, member := range []string{"alice", "bob"} {
		r := s.do("POST", keysPath("t1", member), tok)
		if !r.isUnavailable() {
			t.Fatalf("generate for %s with KMS down: want 503 ServiceUnavailable with Retry-After, got %s", member, r)
		}
	}
	if c := s.item("MEMBER#t1#alice", "COUNTER"); c == nil || c["keyCount"].(*types.AttributeValueMemberN).Value != "1" {
		t.Fatalf("alice's counter moved: %v", c)
	}
	if c := s.item("MEMBER#t1#bob", "COUNTER"); c != nil {
		t.Fatalf("bob got a counter: %v", c)
	}
	rep := s.check(t)
	if !rep.OK() || rep.Keys != 1 || rep.Counters != 1 {
		t.Fatalf("the table changed: %s", rep)
	}

	req, err := http.NewRequest("GET", s.url+"/v1/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := signature.SignSigV4(req, nil, key.AccessKeyID, key.SecretAccessKey, s.cfg.SigningRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := s.send(req); !r.isUnavailable() {
		t.Fatalf("whoami with KMS down and no cached secret: want 503 ServiceUnavailable with Retry-After, got %s", r)
	}
}
