package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/sweep"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

// The sweep at scale, on DynamoDB Local: the ByExpiry index's shards, a key
// that cannot be removed, one run at a time, and the unsharded entries of
// the release before the shards.

var quiet = slog.New(slog.DiscardHandler)

// createKeys creates n keys of team t1 through the store, two per member
// (the cap; members prefix0000, prefix0001, ...), expiring at expiresAt,
// and returns their ids.
func createKeys(t *testing.T, tb *teststack.Table, prefix string, n int, expiresAt time.Time) []string {
	t.Helper()
	store := dynamostore.New(tb.DB, tb.Name)
	ids := make([]string, n)
	created := expiresAt.Add(-time.Hour)
	for i := range n {
		k := accesskey.Key{AccessKeyID: accesskey.NewAccessKeyID(), TeamID: "t1", MemberID: fmt.Sprintf("%s%04d", prefix, i/accesskey.MaxKeysPerMember),
			Status: accesskey.StatusActive, CreatedAt: created, CreatedBy: "test", ExpiresAt: &expiresAt}
		secret := accesskey.NewSecret()
		sealed := accesskey.SealedSecret{Ciphertext: []byte("not-a-ciphertext"), SHA256: accesskey.SecretSHA256(secret)}
		if err := store.Create(context.Background(), k, sealed, accesskey.KeyPolicy{}, accesskey.Audit{Actor: accesskey.SystemActor("test"), At: created}); err != nil {
			t.Fatalf("create key %d: %v", i, err)
		}
		ids[i] = k.AccessKeyID
	}
	return ids
}

func wantTableClean(t *testing.T, tb *teststack.Table) {
	t.Helper()
	report, err := tb.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !report.OK() {
		t.Fatalf("invariants: %s", report)
	}
}

// TestSweepAcrossShards: keys expiring at once land in many ByExpiry
// partitions (none is written by every key), and one run removes them all,
// slots freed; a key that has not expired stays.
func TestSweepAcrossShards(t *testing.T) {
	tb := teststack.NewTable(t)
	now := time.Now().Truncate(time.Second)
	ids := createKeys(t, tb, "m", 240, now.Add(-time.Minute))
	later := createKeys(t, tb, "later", 2, now.Add(time.Hour))
	partitions := map[string]int{}
	for _, id := range ids {
		partitions[fmt.Sprint(tb.Item("KEY#"+id, "KEY")["gsi2pk"])]++
	}
	if len(partitions) < 16 || partitions["EXPIRY"] != 0 {
		t.Fatalf("240 keys in the ByExpiry partitions %v; want 16 shards, none in the unsharded EXPIRY", partitions)
	}
	for p, n := range partitions {
		if n > 240/4 {
			t.Errorf("partition %s holds %d of 240 keys: not spread", p, n)
		}
	}

	began := time.Now()
	res, err := sweep.Run(context.Background(), dynamostore.New(tb.DB, tb.Name), now, quiet)
	took := time.Since(began)
	// Warned may count keys of other tests in the shared table (the warning
	// pass reads every team's keys near expiry).
	if err != nil || res.Deleted != 240 || res.Gone != 0 || res.Failed != 0 || res.Busy || res.CutShort {
		t.Fatalf("sweep: %+v, %v; want 240 deleted", res, err)
	}
	t.Logf("240 expired keys over %d partitions removed in %v (DynamoDB Local: %.0f/s)", len(partitions), took, 240/took.Seconds())
	for _, id := range ids {
		if tb.RawItem("KEY#"+id, "KEY") != nil {
			t.Fatalf("expired key %s is still there", id)
		}
	}
	for _, id := range later {
		if tb.RawItem("KEY#"+id, "KEY") == nil {
			t.Fatalf("key %s, not expired, was removed", id)
		}
	}
	wantTableClean(t, tb)
}

// failingDeletes is the table's client, whose TransactWriteItems fails for
// a transaction deleting one of the named key items (an item DynamoDB
// keeps refusing, whatever the reason).
type failingDeletes struct {
	dynamostore.DynamoDB
	fail map[string]bool // pk
}

func (f failingDeletes) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	for _, it := range in.TransactItems {
		if it.Delete != nil && f.fail[attrString(it.Delete.Key["pk"])] {
			return nil, errors.New("InternalServerError: injected")
		}
	}
	return f.DynamoDB.TransactWriteItems(ctx, in, opts...)
}

// TestSweepSkipsAKeyItCannotRemove: a key whose delete keeps failing is
// logged and skipped, and the same run removes every other expired key,
// those after it in its shard included; the next run, with the fault gone,
// removes it.
func TestSweepSkipsAKeyItCannotRemove(t *testing.T) {
	tb := teststack.NewTable(t)
	now := time.Now().Truncate(time.Second)
	ids := createKeys(t, tb, "m", 40, now.Add(-time.Minute))
	// The oldest entry of its shard: the head every run used to restart at.
	stuck := ids[0]
	db := failingDeletes{DynamoDB: tb.DB, fail: map[string]bool{"KEY#" + stuck: true}}
	logs := &logbuf.Buffer{}
	res, err := sweep.Run(context.Background(), dynamostore.New(db, tb.Name), now, slog.New(slog.NewJSONHandler(logs, nil)))
	if err != nil || res != (sweep.Result{Deleted: 39, Failed: 1}) {
		t.Fatalf("sweep with one key failing: %+v, %v; want 39 deleted, 1 failed", res, err)
	}
	if tb.RawItem("KEY#"+stuck, "KEY") == nil {
		t.Fatal("the failing key is gone")
	}
	if !strings.Contains(logs.String(), stuck) {
		t.Fatalf("the skipped key is not in the log: %s", logs)
	}
	res, err = sweep.Run(context.Background(), dynamostore.New(tb.DB, tb.Name), now, quiet)
	if err != nil || res != (sweep.Result{Deleted: 1}) {
		t.Fatalf("next sweep: %+v, %v; want the skipped key deleted", res, err)
	}
	wantTableClean(t, tb)
}

// blockingDeletes holds every delete until release is closed, and says
// when the first has arrived.
type blockingDeletes struct {
	dynamostore.DynamoDB
	arrived chan struct{}
	once    *sync.Once
	release chan struct{}
}

func (b blockingDeletes) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	b.once.Do(func() { close(b.arrived) })
	<-b.release
	return b.DynamoDB.TransactWriteItems(ctx, in, opts...)
}

// TestSweepRunsOneAtATime: while one run works, a second exits without
// work; the lease is released at the end, so the next run works; a lease
// left by a run that died is taken over once it has run out, not before.
func TestSweepRunsOneAtATime(t *testing.T) {
	tb := teststack.NewTable(t)
	now := time.Now().Truncate(time.Second)
	createKeys(t, tb, "m", 10, now.Add(-time.Minute))

	blocked := blockingDeletes{DynamoDB: tb.DB, arrived: make(chan struct{}), once: &sync.Once{}, release: make(chan struct{})}
	first := make(chan sweep.Result, 1)
	go func() {
		res, err := sweep.Run(context.Background(), dynamostore.New(blocked, tb.Name), now, quiet)
		if err != nil {
			t.Errorf("first run: %v", err)
		}
		first <- res
	}()
	select {
	case <-blocked.arrived:
	case <-time.After(30 * time.Second):
		t.Fatal("waited 30 s for the first run's first delete")
	}
	store := dynamostore.New(tb.DB, tb.Name)
	if res, err := sweep.Run(context.Background(), store, now, quiet); err != nil || res != (sweep.Result{Busy: true}) {
		t.Fatalf("second run while the first works: %+v, %v; want busy, nothing done", res, err)
	}
	close(blocked.release)
	select {
	case res := <-first:
		if res != (sweep.Result{Deleted: 10}) {
			t.Fatalf("first run: %+v, want 10 deleted", res)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("waited 30 s for the first run to end")
	}

	// Released: the next run works (finding nothing left).
	if res, err := sweep.Run(context.Background(), store, now, quiet); err != nil || res != (sweep.Result{}) {
		t.Fatalf("run after the first: %+v, %v; want a run that found nothing", res, err)
	}

	// A run that died holding the lease until now+1m.
	createKeys(t, tb, "again", 2, now.Add(-time.Minute))
	if ok, err := store.AcquireSweepLease(context.Background(), "died", now, now.Add(time.Minute)); err != nil || !ok {
		t.Fatalf("lease for the dead run: %v, %v", ok, err)
	}
	if res, err := sweep.Run(context.Background(), store, now.Add(30*time.Second), quiet); err != nil || !res.Busy {
		t.Fatalf("run inside the dead run's lease: %+v, %v; want busy", res, err)
	}
	if res, err := sweep.Run(context.Background(), store, now.Add(2*time.Minute), quiet); err != nil || res != (sweep.Result{Deleted: 2}) {
		t.Fatalf("run after the dead run's lease ran out: %+v, %v; want 2 deleted", res, err)
	}
	if item := tb.Item("SWEEPLEASE", "SWEEPLEASE"); item == nil || item["leaseOwner"] == "died" || fmt.Sprint(item["leaseUntil"]) != "0" {
		t.Fatalf("lease after the takeover: %v; want another owner, released", item)
	}
	wantTableClean(t, tb)
}

// TestSweepLegacyExpiryEntries: keys the release before the shards wrote
// (ByExpiry partition EXPIRY, unsharded) are still swept, with their
// slots, next to keys of the sharded layout.
func TestSweepLegacyExpiryEntries(t *testing.T) {
	tb := teststack.NewTable(t)
	now := time.Now().Truncate(time.Second)
	var legacy []string
	for i := range 5 {
		member := fmt.Sprintf("old%d", i)
		legacy = append(legacy, putKeyItem(t, tb, member, now.Add(-time.Hour), now.Add(-time.Minute)))
		putCounter(t, tb, member, 1)
	}
	if p := tb.Item("KEY#"+legacy[0], "KEY")["gsi2pk"]; p != "EXPIRY" {
		t.Fatalf("a legacy entry under %v", p)
	}
	createKeys(t, tb, "m", 4, now.Add(-time.Minute))
	res, err := sweep.Run(context.Background(), dynamostore.New(tb.DB, tb.Name), now, quiet)
	if err != nil || res != (sweep.Result{Deleted: 9}) {
		t.Fatalf("sweep: %+v, %v; want 5 legacy and 4 sharded keys deleted", res, err)
	}
	for i, id := range legacy {
		if tb.RawItem("KEY#"+id, "KEY") != nil {
			t.Fatalf("legacy key %s is still there", id)
		}
		if n := tb.Item(fmt.Sprintf("MEMBER#t1#old%d", i), "COUNTER")["keyCount"]; fmt.Sprint(n) != "0" {
			t.Fatalf("slot counter of old%d: %v, want 0", i, n)
		}
	}
	wantTableClean(t, tb)
}
