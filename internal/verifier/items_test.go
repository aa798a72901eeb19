package verifier_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// setKey changes alice's key in the fake table.
func (f *fixture) setKey(id string, change func(*accesskey.Key)) {
	f.keys.set(func(k *fakeKeys) {
		key := k.keys[id]
		change(&key)
		k.keys[id] = key
	})
}

// TestChangesObeyedWithinTheBound: with the key's item and secret cached, a
// change of the key may go unseen for less than KeyCacheTTL (1 s), and is
// obeyed from then on; an expiry is obeyed at its instant, cache or not.
// (e2e TestChangesObeyedWithinOneSecond does the same on the emulators,
// each change made by the store.)
func TestChangesObeyedWithinTheBound(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(f *fixture)
		want   error
	}{
		{"disable", func(f *fixture) { f.setKey(aliceID, func(k *accesskey.Key) { k.Status = accesskey.StatusInactive }) }, accesskey.ErrKeyDisabled},
		{"delete", func(f *fixture) { f.keys.set(func(k *fakeKeys) { delete(k.keys, aliceID) }) }, accesskey.ErrUnknownKey},
		{"retired: expiry set into the past", func(f *fixture) {
			past := f.clock.Now().Add(-time.Minute)
			f.setKey(aliceID, func(k *accesskey.Key) { k.ExpiresAt = &past })
		}, accesskey.ErrKeyExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, verifier.Options{})
			_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
			wantErr(t, err, nil)
			tc.change(f)
			// Within the bound the process may still use the item it read.
			f.clock.Advance(verifier.MaxKeyCacheTTL - time.Millisecond)
			_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
			wantErr(t, err, nil)
			f.clock.Advance(time.Millisecond)
			for _, scheme := range []string{signature.SchemeSigV4, signature.SchemeZC2} {
				_, err = f.verify(t, f.signed(t, scheme, aliceID, aliceSecret))
				wantErr(t, err, tc.want)
			}
			f.wantCalls(t, 2, 1)
		})
	}

	t.Run("expiry, item cached", func(t *testing.T) {
		f := newFixture(t, verifier.Options{})
		expires := f.clock.Now().Add(500 * time.Millisecond)
		f.setKey(aliceID, func(k *accesskey.Key) { k.ExpiresAt = &expires })
		_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
		wantErr(t, err, nil)
		f.clock.Advance(500 * time.Millisecond)
		_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
		wantErr(t, err, accesskey.ErrKeyExpired)
		f.wantCalls(t, 1, 1) // the cached item said when
	})
}

// TestKeyCacheTTL: a shorter KeyCacheTTL reads more often; a longer one is
// held to MaxKeyCacheTTL.
func TestKeyCacheTTL(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ttl     time.Duration
		elapsed time.Duration
		gets    int
	}{
		{"100ms, within", 100 * time.Millisecond, 99 * time.Millisecond, 1},
		{"100ms, at", 100 * time.Millisecond, 100 * time.Millisecond, 2},
		{"default, within", 0, time.Second - time.Nanosecond, 1},
		{"default, at", 0, time.Second, 2},
		{"an hour is 1 s", time.Hour, time.Second, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, verifier.Options{KeyCacheTTL: tc.ttl})
			_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
			wantErr(t, err, nil)
			f.clock.Advance(tc.elapsed)
			_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
			wantErr(t, err, nil)
			f.wantCalls(t, tc.gets, 1)
		})
	}
}

// TestUnknownKeyCached: a key that is not found is remembered for the same
// bound (a stream of requests signed with a deleted key costs one read a
// second); a key created meanwhile is admitted once the bound has passed. A
// failed read is not remembered.
func TestUnknownKeyCached(t *testing.T) {
	f := newFixture(t, verifier.Options{})
	f.keys.set(func(k *fakeKeys) { delete(k.keys, aliceID) })
	for range 3 {
		_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
		wantErr(t, err, accesskey.ErrUnknownKey)
	}
	f.wantCalls(t, 1, 0)
	f.keys.set(func(k *fakeKeys) {
		k.keys[aliceID] = accesskey.Key{AccessKeyID: aliceID, TeamID: "t1", MemberID: "alice", Status: accesskey.StatusActive}
	})
	f.pastItemCache()
	_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, nil)
	f.wantCalls(t, 2, 1)

	f.keys.set(func(k *fakeKeys) { k.err = fmt.Errorf("get: %w", accesskey.ErrUnavailable) })
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, bobID, bobSecret))
	wantErr(t, err, accesskey.ErrUnavailable)
	f.keys.set(func(k *fakeKeys) { k.err = nil })
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, bobID, bobSecret))
	wantErr(t, err, nil)
	f.wantCalls(t, 4, 2)
}

// TestUnknownKeysDoNotEvictKnownOnes: made-up key ids fill a cache of their
// own, so a key in use stays cached however many unknown ids are tried.
func TestUnknownKeysDoNotEvictKnownOnes(t *testing.T) {
	f := newFixture(t, verifier.Options{CacheSize: 2})
	_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, nil)
	for range 10 {
		_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, accesskey.NewAccessKeyID(), aliceSecret))
		wantErr(t, err, accesskey.ErrUnknownKey)
	}
	f.wantCalls(t, 11, 1)
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, nil)
	f.wantCalls(t, 11, 1)
}

// gatedKeys holds each Get's answer (the table as it was when read) until
// released, and lets a test change the table and move the clock while a
// read is in flight.
type gatedKeys struct {
	*fakeKeys
	mu      sync.Mutex
	gate    chan struct{}
	entered chan struct{}
}

func (g *gatedKeys) Get(ctx context.Context, id string) (accesskey.Key, []byte, error) {
	key, ciphertext, err := g.fakeKeys.Get(ctx, id)
	g.mu.Lock()
	gate, entered := g.gate, g.entered
	g.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	return key, ciphertext, err
}

func (g *gatedKeys) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.entered = make(chan struct{}), make(chan struct{}, 64)
}

func (g *gatedKeys) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("waited 30 s for a Get to start")
	}
}

func (g *gatedKeys) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.gate)
	g.gate = nil
}

// TestConcurrentMissesReadOnce: concurrent requests for a key whose item is
// not cached share one Get.
func TestConcurrentMissesReadOnce(t *testing.T) {
	f := newFixture(t, verifier.Options{})
	keys := &gatedKeys{fakeKeys: f.keys}
	v := verifier.New(keys, f.opener, nil, verifier.Options{Now: f.clock.Now})
	const n = 16
	reqs := make([]signature.Request, n)
	for i := range reqs {
		reqs[i] = f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret)
	}
	keys.hold()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			_, err := v.Verify(t.Context(), reqs[i], "203.0.113.10")
			errs <- err
		})
	}
	keys.waitEntered(t)
	// Let the others reach the read before the one Get returns.
	time.Sleep(50 * time.Millisecond)
	keys.release()
	wg.Wait()
	close(errs)
	for err := range errs {
		wantErr(t, err, nil)
	}
	if g := keys.count(); g != 1 {
		t.Fatalf("%d concurrent misses made %d Gets, want 1", n, g)
	}
}

// TestSlowReadIsNotStale: an item is as old as the instant its read was
// sent. A request that joins a read sent more than the bound before the
// request arrived does not use its answer: it reads again, and sees a
// change made meanwhile.
func TestSlowReadIsNotStale(t *testing.T) {
	f := newFixture(t, verifier.Options{})
	keys := &gatedKeys{fakeKeys: f.keys}
	v := verifier.New(keys, f.opener, nil, verifier.Options{Now: f.clock.Now})
	early := f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret)
	keys.hold()
	first := make(chan error, 1)
	go func() {
		_, err := v.Verify(t.Context(), early, "203.0.113.10")
		first <- err
	}()
	keys.waitEntered(t) // the first read is sent, its answer held

	// The key is disabled; the request arriving a second later joins the
	// read in flight, whose answer predates the disable.
	f.setKey(aliceID, func(k *accesskey.Key) { k.Status = accesskey.StatusInactive })
	f.clock.Advance(verifier.MaxKeyCacheTTL)
	late := f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret)
	second := make(chan error, 1)
	go func() {
		_, err := v.Verify(t.Context(), late, "203.0.113.10")
		second <- err
	}()
	time.Sleep(50 * time.Millisecond) // let it join the read in flight
	// The held read answers with the key as it was when it was read.
	keys.release()
	select {
	case err := <-second:
		wantErr(t, err, accesskey.ErrKeyDisabled)
	case <-time.After(30 * time.Second):
		t.Fatal("the late request never returned")
	}
	<-first // the early one may see either: its request predates the disable
}

// TestLastUseSkippedWhenTheItemIsRecent: no write is sent while the item
// read says the key was used within the interval (by any process), and one
// is once it says otherwise.
func TestLastUseSkippedWhenTheItemIsRecent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		lastUsed time.Duration // before now; 0: never used
		writes   int
	}{
		{"never used", 0, 1},
		{"used a second ago elsewhere", time.Second, 0},
		{"used a moment short of the interval ago", accesskey.LastUseInterval - time.Second, 0},
		{"used the interval ago", accesskey.LastUseInterval, 1},
		{"used in the future (another clock)", -time.Minute, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, verifier.Options{})
			if tc.lastUsed != 0 {
				at := f.clock.Now().Add(-tc.lastUsed)
				f.setKey(aliceID, func(k *accesskey.Key) { k.LastUsedAt = &at })
			}
			for range 3 {
				_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
				wantErr(t, err, nil)
			}
			f.v.Wait()
			if calls := f.usage.recorded(); len(calls) != tc.writes {
				t.Fatalf("%d RecordUse calls %+v, want %d", len(calls), calls, tc.writes)
			}
		})
	}
}
