package sweep_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/sweep"
)

// fakeStore lists the refs it holds (expired or not: it trusts the caller's
// now) and deletes them, gone ones refused as the store's condition does.
type fakeStore struct {
	listed  []accesskey.Ref // what the index still lists
	present map[string]bool // what the table holds
	deleted []string
	failAt  string
}

func (f *fakeStore) ExpiredKeys(_ context.Context, _ time.Time, limit int) ([]accesskey.Ref, error) {
	return f.listed[:min(limit, len(f.listed))], nil
}

func (f *fakeStore) DeleteExpired(_ context.Context, ref accesskey.Ref, _ time.Time) error {
	if ref.AccessKeyID == f.failAt {
		return errors.New("boom")
	}
	if !f.present[ref.AccessKeyID] {
		return accesskey.ErrNotFound
	}
	delete(f.present, ref.AccessKeyID)
	f.deleted = append(f.deleted, ref.AccessKeyID)
	// The index catches up.
	for i, r := range f.listed {
		if r.AccessKeyID == ref.AccessKeyID {
			f.listed = append(f.listed[:i:i], f.listed[i+1:]...)
			break
		}
	}
	return nil
}

func refs(ids ...string) []accesskey.Ref {
	out := make([]accesskey.Ref, len(ids))
	for i, id := range ids {
		out[i] = accesskey.Ref{TeamID: "t1", MemberID: "m", AccessKeyID: id}
	}
	return out
}

func TestRun(t *testing.T) {
	many := make([]string, 250)
	present := map[string]bool{}
	for i := range many {
		many[i] = string(rune('A'+i%26)) + string(rune('A'+i/26))
		present[many[i]] = true
	}
	tests := []struct {
		name    string
		store   *fakeStore
		want    sweep.Result
		wantErr bool
	}{
		{"nothing expired", &fakeStore{present: map[string]bool{}}, sweep.Result{}, false},
		{"two expired", &fakeStore{listed: refs("A", "B"), present: map[string]bool{"A": true, "B": true}}, sweep.Result{Deleted: 2}, false},
		{"one already gone", &fakeStore{listed: refs("A", "B"), present: map[string]bool{"B": true}}, sweep.Result{Deleted: 1, Gone: 1}, false},
		{"more than a page", &fakeStore{listed: refs(many...), present: present}, sweep.Result{Deleted: 250}, false},
		{"a delete fails", &fakeStore{listed: refs("A", "B"), present: map[string]bool{"A": true, "B": true}, failAt: "B"}, sweep.Result{Deleted: 0}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sweep.Run(context.Background(), tt.store, time.Now(), slog.New(slog.DiscardHandler))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("Run = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// An index that keeps listing keys already gone (eventually consistent on
// AWS) does not keep a run going forever.
func TestRunStopsOnAStaleIndex(t *testing.T) {
	stale := &staleStore{}
	got, err := sweep.Run(context.Background(), stale, time.Now(), slog.New(slog.DiscardHandler))
	if err != nil || got.Deleted != 0 || stale.queries != 1 {
		t.Fatalf("Run = %+v, %v after %d queries; want nothing deleted after 1 query", got, err, stale.queries)
	}
}

type staleStore struct{ queries int }

func (s *staleStore) ExpiredKeys(context.Context, time.Time, int) ([]accesskey.Ref, error) {
	s.queries++
	return refs(make([]string, 100)...), nil
}

func (s *staleStore) DeleteExpired(context.Context, accesskey.Ref, time.Time) error {
	return accesskey.ErrNotFound
}
