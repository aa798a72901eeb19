package sweep_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/sweep"
)

// fakeStore lists the refs of each shard it holds (expired or not: it
// trusts the caller's now), a page at a time with an index cursor, and
// deletes them, gone ones refused as the store's condition does. It is
// safe for the sweep's concurrent workers.
type fakeStore struct {
	mu        sync.Mutex
	shards    map[string][]accesskey.Ref // what the index still lists, by shard
	present   map[string]bool            // what the table holds
	deleted   []string
	failAt    map[string]bool // keys whose delete fails
	failShard string          // a shard whose Query fails
	queries   int
	stale     bool // the index never catches up with a delete

	leaseOwner string
	leaseUntil time.Time
	released   bool
}

func (f *fakeStore) ExpiryShards() []string { return slices.Sorted(mapsKeys(f.shards)) }

func mapsKeys(m map[string][]accesskey.Ref) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (f *fakeStore) ExpiredKeys(_ context.Context, shard string, _ time.Time, limit int, after map[string]string) ([]accesskey.Ref, map[string]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if shard == f.failShard {
		return nil, nil, errors.New("throttled")
	}
	listed := f.shards[shard]
	start := 0
	if after != nil {
		// The cursor is the last id returned: start after it, where it
		// was or would be.
		start, _ = slices.BinarySearchFunc(listed, after["id"], func(r accesskey.Ref, id string) int {
			switch {
			case r.AccessKeyID < id:
				return -1
			case r.AccessKeyID > id:
				return 1
			}
			return 0
		})
		if start < len(listed) && listed[start].AccessKeyID == after["id"] {
			start++
		}
	}
	end := min(start+limit, len(listed))
	page := slices.Clone(listed[start:end])
	var next map[string]string
	if end < len(listed) {
		next = map[string]string{"id": listed[end-1].AccessKeyID}
	}
	return page, next, nil
}

func (f *fakeStore) DeleteExpired(_ context.Context, ref accesskey.Ref, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failAt[ref.AccessKeyID] {
		return errors.New("boom")
	}
	if !f.present[ref.AccessKeyID] {
		return accesskey.ErrNotFound
	}
	delete(f.present, ref.AccessKeyID)
	f.deleted = append(f.deleted, ref.AccessKeyID)
	if f.stale {
		return nil
	}
	// The index catches up.
	for shard, listed := range f.shards {
		f.shards[shard] = slices.DeleteFunc(listed, func(r accesskey.Ref) bool { return r.AccessKeyID == ref.AccessKeyID })
	}
	return nil
}

func (f *fakeStore) AcquireSweepLease(_ context.Context, owner string, now, until time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.leaseOwner != "" && f.leaseUntil.After(now) {
		return false, nil
	}
	f.leaseOwner, f.leaseUntil, f.released = owner, until, false
	return true, nil
}

func (f *fakeStore) ReleaseSweepLease(_ context.Context, owner string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.leaseOwner == owner {
		f.leaseUntil, f.released = time.Time{}, true
	}
	return nil
}

// store spreads n expired keys over shards shards (ids sorted within each,
// as the index sorts them), all present.
func store(n, shards int) *fakeStore {
	f := &fakeStore{shards: map[string][]accesskey.Ref{}, present: map[string]bool{}, failAt: map[string]bool{}}
	for s := range shards {
		f.shards["S"+strconv.Itoa(s)] = nil
	}
	for i := range n {
		id := fmt.Sprintf("K%05d", i)
		shard := "S" + strconv.Itoa(i%shards)
		f.shards[shard] = append(f.shards[shard], accesskey.Ref{TeamID: "t1", MemberID: "m", AccessKeyID: id})
		f.present[id] = true
	}
	return f
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		store   func() *fakeStore
		want    sweep.Result
		wantErr bool
	}{
		{"nothing expired", func() *fakeStore { return store(0, 17) }, sweep.Result{}, false},
		{"two expired", func() *fakeStore { return store(2, 17) }, sweep.Result{Deleted: 2}, false},
		{"one already gone", func() *fakeStore { f := store(2, 1); delete(f.present, "K00000"); return f }, sweep.Result{Deleted: 1, Gone: 1}, false},
		{"many pages over many shards", func() *fakeStore { return store(2500, 17) }, sweep.Result{Deleted: 2500}, false},
		{"many pages in one shard", func() *fakeStore { return store(1050, 1) }, sweep.Result{Deleted: 1050}, false},
		// A key that cannot be removed is skipped: the run pages past
		// it and removes the others, even those after it in its shard.
		{"a delete fails", func() *fakeStore {
			f := store(450, 2)
			f.failAt["K00000"], f.failAt["K00301"] = true, true
			return f
		}, sweep.Result{Deleted: 448, Failed: 2}, false},
		// A shard that cannot be read is the run's error; the others are
		// swept all the same.
		{"a shard fails", func() *fakeStore { f := store(300, 3); f.failShard = "S1"; return f }, sweep.Result{Deleted: 200}, true},
		// An index that keeps listing keys already gone (eventually
		// consistent on AWS) does not keep a run going: each shard is
		// read once to its end.
		{"a stale index", func() *fakeStore {
			f := store(300, 2)
			f.stale = true
			for id := range f.present {
				delete(f.present, id)
			}
			return f
		}, sweep.Result{Gone: 300}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.store()
			got, err := sweep.Run(context.Background(), f, time.Now(), slog.New(slog.DiscardHandler))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("Run = %+v, want %+v", got, tt.want)
			}
			if !f.released {
				t.Fatal("the lease was not released")
			}
		})
	}
}

// A run that finds the lease held does nothing; once the holder's lease has
// run out (it died without releasing it), the next run takes it over.
func TestRunHoldsTheLease(t *testing.T) {
	now := time.Now()
	f := store(10, 4)
	f.leaseOwner, f.leaseUntil = "another run", now.Add(time.Minute)
	got, err := sweep.Run(context.Background(), f, now, slog.New(slog.DiscardHandler))
	if err != nil || got != (sweep.Result{Busy: true}) || f.queries != 0 || len(f.deleted) != 0 {
		t.Fatalf("Run under another's lease = %+v, %v after %d queries, %d deleted; want busy and nothing done", got, err, f.queries, len(f.deleted))
	}
	if f.leaseOwner != "another run" {
		t.Fatal("the busy run touched the holder's lease")
	}
	got, err = sweep.Run(context.Background(), f, now.Add(2*time.Minute), slog.New(slog.DiscardHandler))
	if err != nil || got != (sweep.Result{Deleted: 10}) || f.leaseOwner == "another run" {
		t.Fatalf("Run after the lease ran out = %+v, %v (lease %q); want all 10 deleted", got, err, f.leaseOwner)
	}
}

// A run whose deadline is closer than its stop margin takes no work, says
// so, and still releases the lease.
func TestRunStopsBeforeItsDeadline(t *testing.T) {
	f := store(10, 2)
	now := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := sweep.Run(ctx, f, now, slog.New(slog.DiscardHandler))
	if err != nil || got != (sweep.Result{CutShort: true}) || len(f.deleted) != 0 {
		t.Fatalf("Run 2 s before its deadline = %+v, %v, %d deleted; want cut short, nothing taken", got, err, len(f.deleted))
	}
	if !f.released {
		t.Fatal("the lease was not released")
	}
}
