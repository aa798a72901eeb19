package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/testing/lambdarie"
)

// countingDB counts the store's calls by operation.
type countingDB struct {
	dynamostore.DynamoDB
	queries, transactions, gets atomic.Int64
}

func (c *countingDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.queries.Add(1)
	return c.DynamoDB.Query(ctx, in, opts...)
}

func (c *countingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.transactions.Add(1)
	return c.DynamoDB.TransactWriteItems(ctx, in, opts...)
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.gets.Add(1)
	return c.DynamoDB.GetItem(ctx, in, opts...)
}

// TestGitHubLeakReportOf1000Tokens: a report of leak.MaxReportTokens
// tokens, most of them valid-format secrets of no key and some the secrets
// of keys, is answered with feedback in the report's order, disables every
// matched key and records each once (one Query per distinct token, one
// transaction per matched key); GitHub retrying the same report matches
// the same keys and records nothing more.
//
// The report goes to LeakReport's handler itself, on the stack's table,
// without the local gateway's 10 s timeout: on AWS a Query takes ~10 ms
// and 1,000 of them, 32 at a time, well under a second; DynamoDB Local on
// a loaded 2-core machine is many times slower, so the test holds the
// outcome and logs the time.
func TestGitHubLeakReportOf1000Tokens(t *testing.T) {
	gh := newGitHub(t)
	s := gh.stack(t)
	const matchedKeys = 40
	var keys []createdKey
	for i := range matchedKeys {
		keys = append(keys, s.Generate("t1", fmt.Sprintf("m%02d", i/accesskey.MaxKeysPerMember), ""))
	}
	bystander := s.Generate("t1", "bystander", "")

	db := &countingDB{DynamoDB: s.DB}
	handler, err := httpapi.WithRESTEvents(httpapi.NewLeakReport(httpapi.Common{Claims: s.Config.Claims, Log: quiet, Now: time.Now},
		dynamostore.New(db, s.Name), leak.StaticKeys{gh.KeyID: &gh.Key.PublicKey}))
	if err != nil {
		t.Fatal(err)
	}

	// Every 25th token is a key's secret; the rest are secrets of no key.
	tokens := make([]string, leak.MaxReportTokens)
	ours := map[string]bool{}
	for i := range tokens {
		if i%25 == 0 {
			tokens[i] = keys[i/25].SecretAccessKey
			ours[tokens[i]] = true
		} else {
			tokens[i] = accesskey.NewSecret()
		}
	}
	report := gh.report(t, tokens...)
	event := githubEvent(t, report)

	for _, attempt := range []string{"the report", "GitHub's retry of it"} {
		db.queries.Store(0)
		db.transactions.Store(0)
		db.gets.Store(0)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		began := time.Now()
		out, err := handler(ctx, event)
		took := time.Since(began)
		cancel()
		var resp events.APIGatewayProxyResponse
		if err == nil {
			err = json.Unmarshal(out, &resp)
		}
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s (%v) after %v", attempt, resp.StatusCode, resp.Body, err, took)
		}
		t.Logf("%s: %d tokens (%d of keys) answered in %v (DynamoDB Local), %d Query, %d TransactWriteItems, %d GetItem",
			attempt, len(tokens), matchedKeys, took, db.queries.Load(), db.transactions.Load(), db.gets.Load())
		var fb []leak.Feedback
		if err := json.Unmarshal([]byte(resp.Body), &fb); err != nil {
			t.Fatal(err)
		}
		if len(fb) != len(tokens) {
			t.Fatalf("%s: %d feedback entries, want %d", attempt, len(fb), len(tokens))
		}
		for i, f := range fb {
			want := leak.LabelFalsePositive
			if ours[tokens[i]] {
				want = leak.LabelTruePositive
			}
			if f.TokenRaw != tokens[i] || f.Label != want {
				t.Fatalf("%s: feedback[%d] = %s, for another token or %s; want %s (the report's order)", attempt, i, f.Label, map[bool]string{true: "ours", false: "not ours"}[ours[f.TokenRaw]], want)
			}
		}
		if n := db.queries.Load(); n != int64(len(tokens)) {
			t.Errorf("%s: %d Queries, want one per token (%d)", attempt, n, len(tokens))
		}
		for _, k := range keys {
			if st := keyStatus(t, s, k); st != "Inactive" {
				t.Fatalf("%s: key %s is %s, want Inactive", attempt, k.AccessKeyID, st)
			}
			if recs := leakRecords(t, s, k); len(recs) != 1 {
				t.Fatalf("%s: key %s has %d AccessKeyLeaked records, want 1: %+v", attempt, k.AccessKeyID, len(recs), recs)
			}
		}
	}
	if st := keyStatus(t, s, bystander); st != "Active" {
		t.Fatalf("a key not reported is %s", st)
	}
	checkInvariants(t, s)
}

// githubEvent is the leak report API's event of a signed GitHub report
// (the shape of events/leak-github.json: a REST API proxy event).
func githubEvent(t *testing.T, r request) json.RawMessage {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(lambdarie.Root(t), "events", "leak-github.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayProxyRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ev.Body = r.Body
	for name, value := range map[string]string{"Content-Length": fmt.Sprint(len(r.Body)),
		"Github-Public-Key-Identifier": r.Header[leak.HeaderKeyID], "Github-Public-Key-Signature": r.Header[leak.HeaderSignature]} {
		ev.Headers[name] = value
		ev.MultiValueHeaders[name] = []string{value}
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
