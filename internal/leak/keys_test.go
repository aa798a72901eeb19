package leak_test

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/testing/fakeclock"
	"github.com/teamkeys/teamkeys/internal/testing/fakegithub"
)

// fakeFetcher serves doc (or fails), counting fetches; with gate set, a
// fetch signals entered and waits for gate to close.
type fakeFetcher struct {
	mu      sync.Mutex
	doc     string
	fail    bool
	n       int
	gate    chan struct{}
	entered chan struct{}
}

func (f *fakeFetcher) fetch(context.Context) ([]byte, error) {
	f.mu.Lock()
	f.n++
	doc, fail, gate := f.doc, f.fail, f.gate
	f.mu.Unlock()
	if gate != nil {
		f.entered <- struct{}{}
		<-gate
	}
	if fail {
		return nil, errors.New("connection refused")
	}
	return []byte(doc), nil
}

func (f *fakeFetcher) serve(doc string, fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.doc, f.fail = doc, fail
}

func (f *fakeFetcher) fetches() int { f.mu.Lock(); defer f.mu.Unlock(); return f.n }

func newTestCache(t *testing.T) (leak.Keys, *fakeFetcher, *fakeclock.Clock, *bytes.Buffer) {
	t.Helper()
	f := &fakeFetcher{entered: make(chan struct{}, 100)}
	clock := fakeclock.New(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var logs bytes.Buffer
	return leak.NewCache(f.fetch, clock.Now, slog.New(slog.NewJSONHandler(&logs, nil))), f, clock, &logs
}

// The cache's answers over time, as GitHub's document changes or its fetch
// fails: at most one fetch a minute in every state (item 3), 503 whenever
// the answer depends on keys not yet fetched (item 4), partial and empty
// documents (item 5), keys refreshed after an hour (item 6).
func TestKeysCache(t *testing.T) {
	k1, k2 := fakegithub.New(t, "k1"), fakegithub.New(t, "k2")
	signers := map[string]*fakegithub.Signer{"k1": k1, "k2": k2}
	doc := func(s ...*fakegithub.Signer) string { return string(fakegithub.Published(t, s...)) }
	p384 := `{"key_identifier":"p384","key":` + jsonString(fakegithub.PEM(t, &fakegithub.NewKey(t, elliptic.P384()).PublicKey)) + `}`
	mixed := strings.Replace(doc(k1), `"public_keys":[`, `"public_keys":[`+p384+`,{"key_identifier":"junk","key":"nope"},`, 1)
	const (
		keep = ""
		fail = "FAIL"
	)
	var (
		unknown     = leak.ErrUnknownKeyID
		unavailable = accesskey.ErrUnavailable
	)
	type step struct {
		after   time.Duration // the clock moves first
		serve   string        // what GitHub serves from now on (keep, fail or a document)
		ask     string
		want    error // nil: the key named ask
		fetches int   // fetches so far
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"nothing loaded, fetch fails: once a minute", []step{
			{0, fail, "k1", unavailable, 1},
			{0, keep, "k1", unavailable, 1},
			{30 * time.Second, keep, "k1", unavailable, 1},
			{31 * time.Second, doc(k1), "k1", nil, 2},
		}},
		{"key id first seen during the cooldown: 503, then verifies", []step{
			{0, doc(k1), "k1", nil, 1},
			{10 * time.Second, doc(k1, k2), "k2", unavailable, 1},
			{time.Minute, keep, "k2", nil, 2},
		}},
		{"made-up id: 401 after a fetch without it, 503 in the cooldown", []step{
			{0, doc(k1), "nope", unknown, 1},
			{0, keep, "nope", unavailable, 1},
			{time.Minute, keep, "nope", unknown, 2},
		}},
		{"refetch fails with keys cached: unknown id 503, known still verify", []step{
			{0, doc(k1), "k1", nil, 1},
			{time.Minute, fail, "k2", unavailable, 2},
			{0, keep, "k1", nil, 2},
			{time.Minute, doc(k1, k2), "k2", nil, 3},
		}},
		{"entries that parse are loaded, the others skipped", []step{
			{0, mixed, "p384", unknown, 1},
			{0, keep, "k1", nil, 1},
		}},
		{"document with no usable key: 503", []step{
			{0, `{"public_keys":[` + p384 + `]}`, "k1", unavailable, 1},
			{time.Minute, mixed, "k1", nil, 2},
		}},
		{"empty document never replaces the cached keys", []step{
			{0, doc(k1), "k1", nil, 1},
			{time.Minute, `{"public_keys":[]}`, "k2", unavailable, 2},
			{0, keep, "k1", nil, 2},
			{time.Hour, keep, "k1", nil, 3},
		}},
		{"withdrawn key stops verifying after an hour", []step{
			{0, doc(k1, k2), "k1", nil, 1},
			{59 * time.Minute, doc(k2), "k1", nil, 1},
			{2 * time.Minute, keep, "k1", unknown, 2},
			{0, keep, "k2", nil, 2},
		}},
		{"stale keys kept while the refetch fails, retried once a minute", []step{
			{0, doc(k1), "k1", nil, 1},
			{61 * time.Minute, fail, "k1", nil, 2},
			{30 * time.Second, keep, "k1", nil, 2},
			{31 * time.Second, keep, "k1", nil, 3},
			{time.Minute, doc(k2), "k1", unknown, 4},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, f, clock, _ := newTestCache(t)
			for i, s := range tt.steps {
				clock.Advance(s.after)
				switch s.serve {
				case keep:
				case fail:
					f.serve("", true)
				default:
					f.serve(s.serve, false)
				}
				got, err := keys.Key(context.Background(), s.ask)
				switch {
				case s.want == nil && err != nil:
					t.Fatalf("step %d: Key(%q): %v, want the key", i, s.ask, err)
				case s.want == nil && !got.Equal(&signers[s.ask].Key.PublicKey):
					t.Fatalf("step %d: Key(%q): another key", i, s.ask)
				case s.want != nil && !errors.Is(err, s.want):
					t.Fatalf("step %d: Key(%q): %v, want %v", i, s.ask, err, s.want)
				}
				if n := f.fetches(); n != s.fetches {
					t.Fatalf("step %d: %d fetches, want %d", i, n, s.fetches)
				}
			}
		})
	}
}

// Concurrent requests share one fetch (item 3): with nothing loaded and
// GitHub failing, a burst costs GitHub one request and each request a 503.
func TestKeysConcurrentRequestsShareOneFetch(t *testing.T) {
	for _, n := range []int{2, 8} {
		t.Run("", func(t *testing.T) {
			keys, f, _, _ := newTestCache(t)
			f.serve("", true)
			f.gate = make(chan struct{})
			errs := make(chan error, n)
			for range n {
				go func() { _, err := keys.Key(context.Background(), "k1"); errs <- err }()
			}
			waitFor(t, f.entered, "the first fetch to start")
			close(f.gate)
			for range n {
				if err := waitFor(t, errs, "a request's answer"); !errors.Is(err, accesskey.ErrUnavailable) {
					t.Fatalf("Key: %v, want ErrUnavailable", err)
				}
			}
			if got := f.fetches(); got != 1 {
				t.Fatalf("%d fetches for %d concurrent requests, want 1", got, n)
			}
		})
	}
}

// A fetch does not hold the cache (item 3): a request for a cached key is
// answered while another request's fetch hangs.
func TestKeysFetchDoesNotBlockCachedKeys(t *testing.T) {
	k1 := fakegithub.New(t, "k1")
	keys, f, clock, _ := newTestCache(t)
	f.serve(string(fakegithub.Published(t, k1)), false)
	if _, err := keys.Key(context.Background(), "k1"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	f.gate = make(chan struct{})
	defer close(f.gate)
	go func() { _, _ = keys.Key(context.Background(), "k9") }()
	waitFor(t, f.entered, "the fetch for k9 to start")
	got := make(chan error, 1)
	go func() { _, err := keys.Key(context.Background(), "k1"); got <- err }()
	if err := waitFor(t, got, "k1's answer while the fetch for k9 hangs"); err != nil {
		t.Fatalf("k1: %v", err)
	}
}

// Skipped entries are logged by identifier and reason, never the key
// material, and fetch failures are logged (item 5).
func TestKeysLogSkippedEntries(t *testing.T) {
	keys, f, _, logs := newTestCache(t)
	p384 := fakegithub.PEM(t, &fakegithub.NewKey(t, elliptic.P384()).PublicKey)
	f.serve(`{"public_keys":[{"key_identifier":"p384","key":`+jsonString(p384)+`},{"key_identifier":"k1","key":`+jsonString(fakegithub.PEM(t, &fakegithub.New(t, "k1").Key.PublicKey))+`}]}`, false)
	if _, err := keys.Key(context.Background(), "k1"); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "github public key skipped") || !strings.Contains(out, `\"p384\"`) || !strings.Contains(out, "P-256") {
		t.Fatalf("log does not name the skipped key and why:\n%s", out)
	}
	if strings.Contains(out, "PUBLIC KEY") || strings.Contains(out, "MHYw") {
		t.Fatalf("log holds key material:\n%s", out)
	}
}

func waitFor[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("waited 10s for %s", what)
		panic("unreachable")
	}
}
