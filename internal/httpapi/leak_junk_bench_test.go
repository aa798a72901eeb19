package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/testing/fakegithub"
)

// countingDB is a DynamoDB client that answers nothing and counts every
// call: what a junk report costs the table.
type countingDB struct{ calls atomic.Int64 }

var _ dynamostore.DynamoDB = (*countingDB)(nil)

var errNoTable = errors.New("countingDB: no table here")

func (c *countingDB) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.calls.Add(1)
	return nil, errNoTable
}

func (c *countingDB) TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.calls.Add(1)
	return nil, errNoTable
}

func (c *countingDB) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.calls.Add(1)
	return nil, errNoTable
}

func (c *countingDB) BatchGetItem(context.Context, *dynamodb.BatchGetItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.calls.Add(1)
	return nil, errNoTable
}

func (c *countingDB) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.calls.Add(1)
	return nil, errNoTable
}

// junkRig is LeakReport as its main wires it (the REST API's events, the
// real store on a counting client, GitHub's keys fetched over HTTPS from a
// stand-in that counts its fetches), with junk events ready to send.
type junkRig struct {
	invoke  httpapi.EventHandlerFunc
	db      *countingDB
	fetches *atomic.Int64
	junk    []junkKind
}

type junkKind struct {
	name   string
	event  []byte // a REST API proxy event, as the runtime hands it over (unread)
	status int
}

func newJunkRig(tb testing.TB) *junkRig {
	tb.Helper()
	signer := fakegithub.New(tb, "gh-1")
	published := fakegithub.Published(tb, signer)
	fetches := &atomic.Int64{}
	gh := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(published)
	}))
	tb.Cleanup(gh.Close)
	db := &countingDB{}
	invoke, err := httpapi.WithRESTEvents(httpapi.NewLeakReport(httpapi.Common{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))},
		dynamostore.New(db, "keys"), leak.URLKeys(gh.URL, gh.Client())))
	if err != nil {
		tb.Fatal(err)
	}
	// A report in the secret format: were its signature not checked first,
	// each would cost a Query.
	body, _ := json.Marshal([]leak.Token{{Token: accesskey.NewSecret(), Type: "teamkeys_secret_access_key", URL: "https://github.com/o/r", Source: "content"}})
	event := func(body string, headers map[string]string) []byte {
		h := map[string]string{"Content-Type": "application/json"}
		for k, v := range headers {
			h[k] = v
		}
		raw, err := json.Marshal(restEvent("/v1/leaks/github", body, h))
		if err != nil {
			tb.Fatal(err)
		}
		return raw
	}
	rig := &junkRig{invoke: invoke, db: db, fetches: fetches}
	rig.junk = []junkKind{
		{"unsigned", event(string(body), nil), http.StatusUnauthorized},
		{"bad signature", event(string(body), map[string]string{leak.HeaderKeyID: signer.KeyID, leak.HeaderSignature: signer.Sign(tb, []byte("another body"))}), http.StatusUnauthorized},
		{"signature not base64", event(string(body), map[string]string{leak.HeaderKeyID: signer.KeyID, leak.HeaderSignature: "%%%"}), http.StatusUnauthorized},
		// A key id GitHub does not publish, fetched keys notwithstanding:
		// 503 (GitHub would retry) until the next fetch is allowed, a
		// minute after the last; no fetch per request.
		{"unknown key id", event(string(body), map[string]string{leak.HeaderKeyID: "made-up", leak.HeaderSignature: signer.Sign(tb, body)}), http.StatusServiceUnavailable},
		{"oversize (1 MiB + 1)", event(`["`+strings.Repeat("a", leak.MaxReportBytes-3)+`"]`, map[string]string{leak.HeaderKeyID: signer.KeyID, leak.HeaderSignature: signer.Sign(tb, body)}), http.StatusRequestEntityTooLarge},
	}
	// GitHub's keys, fetched once, as a warm environment holds them.
	if _, err := rig.send(rig.junk[1].event); err != nil {
		tb.Fatal(err)
	}
	if n := fetches.Load(); n != 1 {
		tb.Fatalf("%d fetches of GitHub's keys to warm up, want 1", n)
	}
	return rig
}

func (r *junkRig) send(event []byte) (int, error) {
	out, err := r.invoke(context.Background(), event)
	if err != nil {
		return 0, err
	}
	var resp struct {
		StatusCode int `json:"statusCode"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// Junk on the leak route (unsigned, a bad signature, a key id GitHub does
// not publish, a body over 1 MiB) is refused with its status and costs no
// table call and no fetch of GitHub's keys, however much of it comes.
func TestLeakJunkReadsNothing(t *testing.T) {
	rig := newJunkRig(t)
	for _, k := range rig.junk {
		t.Run(k.name, func(t *testing.T) {
			for range 200 {
				status, err := rig.send(k.event)
				if err != nil || status != k.status {
					t.Fatalf("answer %d (%v), want %d", status, err, k.status)
				}
			}
		})
	}
	if n := rig.db.calls.Load(); n != 0 {
		t.Errorf("%d table calls for junk, want 0", n)
	}
	if n := rig.fetches.Load(); n != 1 {
		t.Errorf("%d fetches of GitHub's keys, want the one of the warm-up", n)
	}
}

// BenchmarkLeakJunk: how many junk reports one warm LeakReport environment
// answers a second, through the REST API's event (decoded from JSON as the
// runtime hands it over) to the answer, and what they cost the table
// (table-calls, want 0) and GitHub (key fetches, want none beyond the
// warm-up's). make bench-leak prints it.
func BenchmarkLeakJunk(b *testing.B) {
	for _, mix := range []string{"unsigned", "bad signature", "signature not base64", "unknown key id", "oversize (1 MiB + 1)", "mix"} {
		b.Run(strings.ReplaceAll(mix, " ", "_"), func(b *testing.B) {
			rig := newJunkRig(b)
			var kinds []junkKind
			for _, k := range rig.junk {
				if mix == "mix" || k.name == mix {
					kinds = append(kinds, k)
				}
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; b.Loop(); i++ {
				k := kinds[i%len(kinds)]
				if status, err := rig.send(k.event); err != nil || status != k.status {
					b.Fatalf("%s: answer %d (%v), want %d", k.name, status, err, k.status)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			b.ReportMetric(float64(rig.db.calls.Load()), "table-calls")
			b.ReportMetric(float64(rig.fetches.Load()-1), "key-fetches")
			if rig.db.calls.Load() != 0 || rig.fetches.Load() != 1 {
				b.Fatalf("junk cost %d table calls and %d key fetches, want none", rig.db.calls.Load(), rig.fetches.Load()-1)
			}
		})
	}
}
