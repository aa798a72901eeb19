package verifier_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// A request that can be refused without the secret (another region or
// service, a scope date other than X-Amz-Date's, a timestamp outside the
// window) costs no read and no Decrypt, for a known key id too.
func TestCheapRefusalsCostNoCall(t *testing.T) {
	sign := func(f *fixture, at time.Time, region string) signature.Request {
		r, err := http.NewRequest(http.MethodGet, "https://api.example.com/v1/whoami", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := signature.SignSigV4(r, nil, aliceID, aliceSecret, region, at); err != nil {
			t.Fatal(err)
		}
		return signature.FromHTTP(r, nil)
	}
	cases := []struct {
		name string
		req  func(f *fixture) signature.Request
		want error
	}{
		{"another region", func(f *fixture) signature.Request { return sign(f, f.clock.Now(), "eu-west-1") }, accesskey.ErrInvalidSignature},
		{"an hour old", func(f *fixture) signature.Request { return sign(f, f.clock.Now().Add(-time.Hour), "") }, accesskey.ErrRequestExpired},
		{"ten minutes ahead", func(f *fixture) signature.Request { return sign(f, f.clock.Now().Add(10*time.Minute), "") }, accesskey.ErrRequestExpired},
		{"another service", func(f *fixture) signature.Request {
			req := sign(f, f.clock.Now(), "")
			req.Header.Set("Authorization", replaceScope(req.Header.Get("Authorization"), "/teamkeys/", "/s3/"))
			return req
		}, accesskey.ErrInvalidSignature},
		{"scope date not X-Amz-Date's", func(f *fixture) signature.Request {
			req := sign(f, f.clock.Now(), "")
			req.Header.Set("Authorization", replaceScope(req.Header.Get("Authorization"), "Credential="+aliceID+"/20260314/", "Credential="+aliceID+"/20260313/"))
			return req
		}, accesskey.ErrInvalidSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, verifier.Options{})
			_, err := f.verify(t, tc.req(f))
			wantErr(t, err, tc.want)
			f.wantCalls(t, 0, 0)
		})
	}
}

func replaceScope(auth, old, new string) string {
	for i := 0; i+len(old) <= len(auth); i++ {
		if auth[i:i+len(old)] == old {
			return auth[:i] + new + auth[i+len(old):]
		}
	}
	panic(fmt.Sprintf("%q not in %q", old, auth))
}

// The cache serves only the item it opened: an item whose team or member
// was rewritten (by anyone with write access to the table) is opened again
// under its new encryption context, which KMS refuses, even while the old
// entry is warm.
func TestCacheKeyedByEncryptionContext(t *testing.T) {
	for _, rewrite := range []struct {
		name string
		set  func(*accesskey.Key)
	}{
		{"team", func(k *accesskey.Key) { k.TeamID = "t2" }},
		{"member", func(k *accesskey.Key) { k.MemberID = "mallory" }},
	} {
		t.Run(rewrite.name, func(t *testing.T) {
			f := newFixture(t, verifier.Options{})
			_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
			wantErr(t, err, nil)
			f.wantCalls(t, 1, 1)

			f.keys.set(func(k *fakeKeys) {
				key := k.keys[aliceID]
				rewrite.set(&key)
				k.keys[aliceID] = key
			})
			f.pastItemCache()
			// KMS refuses the ciphertext under the new context.
			f.opener.setErr(fmt.Errorf("kms decrypt: %w", accesskey.ErrSealedForAnotherKey))
			res, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
			wantErr(t, err, accesskey.ErrInvalidSignature)
			if res.Key.TeamID != "" {
				t.Fatalf("refused with a result: %+v", res)
			}
			f.wantCalls(t, 2, 2)
		})
	}
}

// A ciphertext that does not open costs one Decrypt per TTL, not one per
// request; and however the item changes, one key id costs at most
// DecryptsPerKey Decrypts a period, after which verification is
// unavailable (503) until the period ends.
func TestDecryptMissesBounded(t *testing.T) {
	t.Run("a ciphertext that does not open", func(t *testing.T) {
		f := newFixture(t, verifier.Options{})
		f.keys.set(func(k *fakeKeys) { k.ciphertext[aliceID] = seal1(bobID, aliceSecret, 1) })
		for range 5 {
			f.pastItemCache()
			_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
			wantErr(t, err, accesskey.ErrInvalidSignature)
		}
		f.wantCalls(t, 5, 1)
	})
	t.Run("a new ciphertext each request", func(t *testing.T) {
		f := newFixture(t, verifier.Options{DecryptsPerKey: 3})
		for i := range 5 {
			f.keys.set(func(k *fakeKeys) { k.ciphertext[aliceID] = seal1(aliceID, aliceSecret, i+1) })
			f.pastItemCache()
			_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
			want := error(nil)
			if i >= 3 {
				want = accesskey.ErrUnavailable
			}
			wantErr(t, err, want)
		}
		f.wantCalls(t, 5, 3)
		// Another key has its own budget; the next period brings more.
		_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, bobID, bobSecret))
		wantErr(t, err, nil)
		f.clock.Advance(time.Minute)
		_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
		wantErr(t, err, nil)
		f.wantCalls(t, 7, 5)
	})
}

// The cache drops the least recently used secret: with room for two, a key
// in steady use stays cached while others come and go.
func TestCacheIsLRU(t *testing.T) {
	f := newFixture(t, verifier.Options{CacheSize: 2})
	for i, step := range []struct {
		id, secret string
		opens      int
	}{
		{aliceID, aliceSecret, 1},
		{bobID, bobSecret, 2},
		{aliceID, aliceSecret, 2}, // alice is now the most recently used
		{carolID, carolSecret, 3}, // evicts bob, not alice
		{aliceID, aliceSecret, 3},
		{bobID, bobSecret, 4},
	} {
		f.pastItemCache()
		_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, step.id, step.secret))
		wantErr(t, err, nil)
		f.wantCalls(t, i+1, step.opens)
	}
}

// Concurrent requests for a key whose secret is not cached cost one
// Decrypt.
func TestConcurrentMissesOpenOnce(t *testing.T) {
	f := newFixture(t, verifier.Options{})
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	reqs := make([]signature.Request, n)
	for i := range reqs {
		reqs[i] = f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret)
	}
	f.opener.hold()
	for i := range n {
		wg.Go(func() {
			_, err := f.v.Verify(t.Context(), reqs[i], "203.0.113.10")
			errs <- err
		})
	}
	f.opener.waitEntered(t)
	// Let the others reach the cache before the one Decrypt returns.
	time.Sleep(50 * time.Millisecond)
	f.opener.release()
	wg.Wait()
	close(errs)
	for err := range errs {
		wantErr(t, err, nil)
	}
	if o := f.opener.count(); o != 1 {
		t.Fatalf("%d concurrent misses made %d Decrypts, want 1", n, o)
	}
}

// A key is refused with KeyExpired from the instant of its expiresAt on,
// on the very first request, however warm the secret's cache; like
// KeyDisabled, only once the signature checked out.
func TestExpiredKeyIsRefusedAtOnce(t *testing.T) {
	f := newFixture(t, verifier.Options{})
	expires := f.clock.Now().Add(time.Second)
	f.keys.set(func(k *fakeKeys) {
		key := k.keys[aliceID]
		key.ExpiresAt = &expires
		k.keys[aliceID] = key
	})
	_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, nil)
	f.clock.Advance(time.Second)
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, accesskey.ErrKeyExpired)
	_, err = f.verify(t, f.signed(t, signature.SchemeZC2, aliceID, aliceSecret))
	wantErr(t, err, accesskey.ErrKeyExpired)
	// Without the secret, nothing is learnt of the key's state.
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, wrongSecret))
	wantErr(t, err, accesskey.ErrInvalidSignature)
	// Expired and disabled: expired.
	f.keys.set(func(k *fakeKeys) {
		key := k.keys[aliceID]
		key.Status = accesskey.StatusInactive
		k.keys[aliceID] = key
	})
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, accesskey.ErrKeyExpired)
}
