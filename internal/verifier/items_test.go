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
// read says the key was used within the interval (by any process), plus
// this process's spread (at most LastUseSpread), and one is once it says
// otherwise.
func TestLastUseSkippedWhenTheItemIsRecent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		spread   time.Duration
		lastUsed time.Duration // before now; 0: never used
		writes   int
	}{
		{"never used", 0, 0, 1},
		{"used a second ago elsewhere", 0, time.Second, 0},
		{"used a moment short of the interval ago", -1, accesskey.LastUseInterval - time.Second, 0},
		{"used the interval ago, no spread: the table would refuse it", -1, accesskey.LastUseInterval, 0},
		{"used a second more than the interval ago, no spread", -1, accesskey.LastUseInterval + time.Second, 1},
		{"used the interval and the whole spread ago", 0, accesskey.LastUseInterval + time.Minute, 1},
		{"used in the future (another clock)", 0, -time.Minute, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, verifier.Options{LastUseSpread: tc.spread})
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

// sharedUsage is the table's last use, written by every environment: as
// the store does, it keeps whole seconds and takes a write only when the
// stored use is absent or more than the interval older; every write sent
// is counted.
type sharedUsage struct {
	keys            *fakeKeys
	sent, succeeded int
}

func (u *sharedUsage) RecordUse(_ context.Context, ref accesskey.Ref, at time.Time, _, _ string) (bool, error) {
	ok := false
	u.keys.set(func(k *fakeKeys) {
		u.sent++
		key := k.keys[ref.AccessKeyID]
		at := at.Truncate(time.Second)
		if key.LastUsedAt == nil || key.LastUsedAt.Before(at.Add(-accesskey.LastUseInterval)) {
			key.LastUsedAt = &at
			k.keys[ref.AccessKeyID] = key
			u.succeeded++
			ok = true
		}
	})
	return ok, nil
}

// TestLastUseAcrossEnvironments: one hot key, verified every 700 ms in
// each of 10 environments, each at its own phase (so each one's item copy
// is up to 1 s old when another writes, as under concurrent load), sends about one last-use write per 15 minutes in
// all, not one per environment: each environment sees the others' writes in
// the item it reads, and the spread lets one write first. Without the
// spread, every environment whose copy predates the first write sends one
// when the interval ends (all but one refused by the table's condition).
func TestLastUseAcrossEnvironments(t *testing.T) {
	const envs, rounds = 10, 2
	for _, tc := range []struct {
		name      string
		spread    time.Duration
		maxWrites int // sent in all
	}{
		// The first use, then one per interval, and a few more where
		// spreads fall within a second of each other (10 draws over a
		// minute).
		{"with the spread", 0, 1 + 3*rounds},
		// The control: stale copies do show in this simulation.
		{"without: every environment at each interval's end", -1, envs * (rounds + 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, verifier.Options{})
			usage := &sharedUsage{keys: f.keys}
			var vs []*verifier.Verifier
			for range envs {
				vs = append(vs, verifier.New(f.keys, f.opener, usage, verifier.Options{Now: f.clock.Now, LastUseSpread: tc.spread}))
			}
			// Every 70 ms one environment verifies, in turn: each one every
			// 700 ms, so that it reads its item every other time, at its
			// own phase.
			tick := 0
			run := func(d time.Duration) {
				for range d / (70 * time.Millisecond) {
					v := vs[tick%envs]
					tick++
					if _, err := v.Verify(context.Background(), f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret), "203.0.113.10"); err != nil {
						t.Fatal(err)
					}
					v.Wait()
					f.clock.Advance(70 * time.Millisecond)
				}
			}
			run(5 * time.Second) // the first use
			for range rounds {
				// Nothing happens between (the item says the key was used
				// recently): on to a few seconds before the interval ends,
				// then past it and the whole spread.
				f.clock.Advance(accesskey.LastUseInterval - 10*time.Second)
				run(75 * time.Second)
			}
			t.Logf("%d environments, one hot key, %d intervals: %d last-use writes sent, %d succeeded", envs, rounds, usage.sent, usage.succeeded)
			if usage.sent > tc.maxWrites || usage.succeeded != 1+rounds {
				t.Fatalf("%d writes sent (%d succeeded), want at most %d sent and %d succeeded", usage.sent, usage.succeeded, tc.maxWrites, 1+rounds)
			}
			if tc.spread < 0 && usage.sent == usage.succeeded {
				t.Fatal("without the spread no environment sent a write with a stale copy: the simulation tells nothing")
			}
		})
	}
}
