package dynamostore_test

// A key a leak report disabled is never enabled again, on DynamoDB Local:
// the enable's own condition refuses it (leaked.go notLeaked), whatever
// the read before it saw; every view of the key shows its leak marks.

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// staleFirstRead is DynamoDB Local's client whose first GetItem answers
// as if read just before a leak report landed: without the leak marks.
type staleFirstRead struct {
	dynamostore.DynamoDB
	reads atomic.Int32
}

func (d *staleFirstRead) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	out, err := d.DynamoDB.GetItem(ctx, in, opts...)
	if err == nil && d.reads.Add(1) == 1 && out.Item != nil {
		delete(out.Item, "leakedAt")
		delete(out.Item, "leakUrl")
	}
	return out, err
}

func TestEnableOfALeakedKey(t *testing.T) {
	ctx := context.Background()
	const report = "https://github.com/octo/repo/blob/abc/config.yml"
	at := time.Now().UTC().Truncate(time.Second) // audit records older than their retention are not listed
	reportedBy := accesskey.Audit{Actor: accesskey.LeakReportActor("github"), At: at}
	byAdmin = accesskey.Audit{Actor: accesskey.UserActor("admin", "192.0.2.1", "test"), At: at}
	for i, tt := range []struct {
		name    string
		leak    func(t *testing.T, tb *teststack.Table, s *dynamostore.Store, k accesskey.Key, hash string) // how the key came to be disabled
		stale   bool                                                                                        // the enable's read is from before the leak
		wantAt  *time.Time
		wantURL string
		refused bool
	}{
		{name: "reported by GitHub", leak: disabledByReport(report, reportedBy), wantAt: &at, wantURL: report, refused: true},
		{name: "reported by GitHub, the read before the report", leak: disabledByReport(report, reportedBy), stale: true, wantAt: &at, wantURL: report, refused: true},
		{name: "reported by an admin (no URL)", leak: disabledByReport("", reportedBy), wantAt: &at, refused: true},
		{name: "reported by an admin, the read before the report", leak: disabledByReport("", reportedBy), stale: true, wantAt: &at, refused: true},
		{name: "disabled by a GitHub report before leakedAt existed", leak: legacyLeak(report), wantURL: report, refused: true},
		{name: "disabled by hand", leak: disabledByHand, refused: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tb, _, plain := newShardStore(t)
			db := &staleFirstRead{DynamoDB: tb.DB}
			if !tt.stale {
				db.reads.Store(1)
			}
			store := dynamostore.New(db, tb.Name)
			k := accesskey.Key{AccessKeyID: fmt.Sprintf("TKAKLEAKED%014d", i), TeamID: "t1", MemberID: "alice", Status: accesskey.StatusActive,
				CreatedAt: at.Add(-time.Hour), CreatedBy: "admin"}
			hash := accesskey.SecretSHA256(accesskey.NewSecret())
			if err := plain.Create(ctx, k, accesskey.SealedSecret{Ciphertext: []byte("ct"), SHA256: hash}, accesskey.KeyPolicy{}, byAdmin); err != nil {
				t.Fatal(err)
			}
			tt.leak(t, tb, plain, k, hash)
			ref := accesskey.Ref{TeamID: k.TeamID, MemberID: k.MemberID, AccessKeyID: k.AccessKeyID}
			records := func() int {
				recs, _, err := plain.ListAudit(ctx, ref.TeamID, "", ref.AccessKeyID, 100, nil)
				if err != nil {
					t.Fatal(err)
				}
				return len(recs)
			}
			before := records()

			got, err := store.SetStatus(ctx, ref, accesskey.StatusActive, byAdmin)
			var leaked *accesskey.LeakedKeyError
			switch {
			case !tt.refused && err != nil:
				t.Fatalf("enable of a key disabled by hand: %v", err)
			case !tt.refused && (got.Status != accesskey.StatusActive || got.Leaked()):
				t.Fatalf("enabled key %+v", got)
			case tt.refused && (!errors.Is(err, accesskey.ErrKeyLeaked) || !errors.As(err, &leaked)):
				t.Fatalf("enable of a leaked key: %+v, %v; want ErrKeyLeaked", got, err)
			case tt.refused && (!timesEqual(leaked.At, tt.wantAt) || leaked.URL != tt.wantURL):
				t.Fatalf("refusal says %v %q, want %v %q", leaked.At, leaked.URL, tt.wantAt, tt.wantURL)
			}
			shown, err := plain.GetKey(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			wantStatus, wantRecords := accesskey.StatusInactive, before
			if !tt.refused {
				wantStatus, wantRecords = accesskey.StatusActive, before+1
			}
			if shown.Status != wantStatus || records() != wantRecords {
				t.Fatalf("after the enable: status %s and %d audit records, want %s and %d", shown.Status, records(), wantStatus, wantRecords)
			}
			// Every view shows the leak marks: the key, the member's list,
			// the team's list and the report's pages.
			member, err := plain.ListMember(ctx, ref.TeamID, ref.MemberID)
			if err != nil {
				t.Fatal(err)
			}
			team, _, err := plain.ListTeam(ctx, ref.TeamID, 10, nil)
			if err != nil {
				t.Fatal(err)
			}
			var report []accesskey.Key
			for after := map[string]string(nil); ; {
				page, next, err := plain.ListTeam(ctx, ref.TeamID, 0, after)
				if err != nil {
					t.Fatal(err)
				}
				report = append(report, page...)
				if after = next; next == nil {
					break
				}
			}
			for view, keys := range map[string][]accesskey.Key{"get": {shown}, "member list": member, "team list": team, "report": report} {
				if len(keys) != 1 || !timesEqual(keys[0].LeakedAt, tt.wantAt) || keys[0].LeakURL != tt.wantURL {
					t.Errorf("%s shows %+v, want leakedAt %v, leakUrl %q", view, keys, tt.wantAt, tt.wantURL)
				}
			}
		})
	}
}

var byAdmin accesskey.Audit

func timesEqual(a, b *time.Time) bool {
	return a == nil && b == nil || a != nil && b != nil && a.Equal(*b)
}

func disabledByReport(url string, audit accesskey.Audit) func(*testing.T, *teststack.Table, *dynamostore.Store, accesskey.Key, string) {
	return func(t *testing.T, _ *teststack.Table, s *dynamostore.Store, k accesskey.Key, hash string) {
		t.Helper()
		if _, matched, err := s.DisableLeaked(context.Background(), hash, "", accesskey.NewLeak(url, "content"), audit); err != nil || !matched {
			t.Fatalf("DisableLeaked: matched %v, %v", matched, err)
		}
	}
}

// legacyLeak leaves the key as the release before leakedAt left a key a
// GitHub report disabled: Inactive, with the report's URL.
func legacyLeak(url string) func(*testing.T, *teststack.Table, *dynamostore.Store, accesskey.Key, string) {
	return func(t *testing.T, tb *teststack.Table, s *dynamostore.Store, k accesskey.Key, _ string) {
		t.Helper()
		item, err := s.KeyItem(k, accesskey.SealedSecret{Ciphertext: []byte("ct")})
		if err != nil {
			t.Fatal(err)
		}
		item["status"], item["leakUrl"] = sv(string(accesskey.StatusInactive)), sv(url)
		putRaw(t, tb, item)
	}
}

func disabledByHand(t *testing.T, _ *teststack.Table, s *dynamostore.Store, k accesskey.Key, _ string) {
	t.Helper()
	ref := accesskey.Ref{TeamID: k.TeamID, MemberID: k.MemberID, AccessKeyID: k.AccessKeyID}
	if _, err := s.SetStatus(context.Background(), ref, accesskey.StatusInactive, byAdmin); err != nil {
		t.Fatal(err)
	}
}

// countingGets is DynamoDB Local's client counting GetItem and
// BatchGetItem calls.
type countingGets struct {
	dynamostore.DynamoDB
	gets, batches atomic.Int64
}

func (d *countingGets) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	d.gets.Add(1)
	return d.DynamoDB.GetItem(ctx, in, opts...)
}

func (d *countingGets) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	d.batches.Add(1)
	return d.DynamoDB.BatchGetItem(ctx, in, opts...)
}

// BenchmarkReportLeakMarks reads a team of 2,000 keys the way the
// credential report does (ListTeam with no limit, page after page), all
// Active or all Inactive: the cost of showing the restrictions and the
// leak marks in lists, which the ByTeam index does not project (one
// BatchGetItem per 100 keys of a page, whatever their status: extras.go).
func BenchmarkReportLeakMarks(b *testing.B) {
	const n = 2000
	for _, status := range []accesskey.Status{accesskey.StatusActive, accesskey.StatusInactive} {
		b.Run(string(status), func(b *testing.B) {
			ctx := context.Background()
			tb := teststack.NewTable(b)
			keys := make([]accesskey.Key, n)
			for i := range keys {
				keys[i] = accesskey.Key{AccessKeyID: fmt.Sprintf("TKAKBENCH%015d", i), TeamID: "t1", MemberID: fmt.Sprintf("m%04d", i/2),
					Status: status, CreatedAt: time.Now().UTC().Truncate(time.Second), CreatedBy: "admin"}
			}
			if err := tb.PutKeys(ctx, keys, accesskey.SealedSecret{Ciphertext: []byte("ct")}); err != nil {
				b.Fatal(err)
			}
			db := &countingGets{DynamoDB: tb.DB}
			store := dynamostore.New(db, tb.Name)
			b.ResetTimer()
			for b.Loop() {
				read := 0
				for after := map[string]string(nil); ; {
					page, next, err := store.ListTeam(ctx, "t1", 0, after)
					if err != nil {
						b.Fatal(err)
					}
					read += len(page)
					if after = next; next == nil {
						break
					}
				}
				if read != n {
					b.Fatalf("read %d keys, want %d", read, n)
				}
			}
			b.ReportMetric(float64(db.gets.Load())/float64(b.N), "GetItems/op")
			b.ReportMetric(float64(db.batches.Load())/float64(b.N), "BatchGetItems/op")
		})
	}
}
