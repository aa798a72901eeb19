package verifier_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/testing/fakeclock"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// Keys of the service's shape: TKAK + 20 base32 characters, 43 base64url
// characters of secret.
const (
	aliceID     = "TKAKABCDEFGHIJKLMNOPQRST"
	aliceSecret = "qVTvUEOln9UspgfheGfeeSjhiIC-4Gc0jI8tIKZYqe8"
	bobID       = "TKAKBCDEFGHIJKLMNOPQRSTU"
	bobSecret   = "Yx6Jt0bU4m3Hq9L2cV8pWn1sRk5ZaDfEgTiOuPyB7Mw"
	carolID     = "TKAKCDEFGHIJKLMNOPQRSTUV"
	carolSecret = "Zq1Wx2Ec3Rv4Tb5Yn6Um7Ik8Ol9Pa0Sd1Fg2Hj3Kl4M"
	unknownID   = "TKAKDEFGHIJKLMNOPQRSTUVW"
	wrongSecret = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

var start = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// fakeKeys is the table: each key with its ciphertext ("sealed:" + secret,
// or whatever a test puts there).
type fakeKeys struct {
	mu         sync.Mutex
	keys       map[string]accesskey.Key
	ciphertext map[string][]byte
	err        error
	gets       int
}

func newFakeKeys() *fakeKeys {
	k := &fakeKeys{keys: map[string]accesskey.Key{}, ciphertext: map[string][]byte{}}
	for _, x := range []struct{ id, member, secret string }{
		{aliceID, "alice", aliceSecret}, {bobID, "bob", bobSecret}, {carolID, "carol", carolSecret},
	} {
		k.keys[x.id] = accesskey.Key{AccessKeyID: x.id, TeamID: "t1", MemberID: x.member, Status: accesskey.StatusActive}
		k.ciphertext[x.id] = seal1(x.id, x.secret, 1)
	}
	return k
}

// seal1 is the fake sealing: the ciphertext names its key, a generation
// (so that a re-seal gives another ciphertext) and the secret.
func seal1(id, secret string, generation int) []byte {
	return fmt.Appendf(nil, "sealed:%s:%d:%s", id, generation, secret)
}

func (k *fakeKeys) Get(_ context.Context, id string) (accesskey.Key, []byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.gets++
	if k.err != nil {
		return accesskey.Key{}, nil, k.err
	}
	key, ok := k.keys[id]
	if !ok {
		return accesskey.Key{}, nil, fmt.Errorf("get %s: %w", id, accesskey.ErrNotFound)
	}
	return key, bytes.Clone(k.ciphertext[id]), nil
}

func (k *fakeKeys) set(f func(*fakeKeys)) { k.mu.Lock(); defer k.mu.Unlock(); f(k) }
func (k *fakeKeys) count() int            { k.mu.Lock(); defer k.mu.Unlock(); return k.gets }

// fakeOpener opens the fake ciphertexts, refusing one sealed for another
// key as KMS refuses a wrong encryption context.
type fakeOpener struct {
	mu      sync.Mutex
	opens   int
	err     error
	gate    chan struct{} // when set, each Open waits for it to close
	entered chan struct{}
}

func (o *fakeOpener) Open(_ context.Context, ref accesskey.Ref, ciphertext []byte) (string, error) {
	o.mu.Lock()
	gate, entered := o.gate, o.entered
	o.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		<-gate
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.opens++
	if o.err != nil {
		return "", o.err
	}
	parts := strings.SplitN(string(ciphertext), ":", 4)
	if len(parts) != 4 || parts[0] != "sealed" || parts[1] != ref.AccessKeyID {
		return "", fmt.Errorf("kms decrypt for %s: %w", ref.AccessKeyID, accesskey.ErrSealedForAnotherKey)
	}
	return parts[3], nil
}

// hold makes Opens wait until release; waitEntered waits for the first.
func (o *fakeOpener) hold() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gate, o.entered = make(chan struct{}), make(chan struct{}, 64)
}

func (o *fakeOpener) waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-o.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("waited 30 s for a Decrypt to start")
	}
}

func (o *fakeOpener) release() { close(o.gate) }

func (o *fakeOpener) setErr(err error) { o.mu.Lock(); defer o.mu.Unlock(); o.err = err }
func (o *fakeOpener) count() int       { o.mu.Lock(); defer o.mu.Unlock(); return o.opens }

type useCall struct {
	ref              accesskey.Ref
	at               time.Time
	sourceIP, scheme string
}

// fakeUsage records the calls; block, when set, holds each call until it is
// closed; err is returned.
type fakeUsage struct {
	mu      sync.Mutex
	calls   []useCall
	block   chan struct{}
	entered chan struct{}
	err     error
}

func (u *fakeUsage) RecordUse(ctx context.Context, ref accesskey.Ref, at time.Time, sourceIP, scheme string) (bool, error) {
	u.mu.Lock()
	u.calls = append(u.calls, useCall{ref, at, sourceIP, scheme})
	block, entered, err := u.block, u.entered, u.err
	u.mu.Unlock()
	if entered != nil {
		entered <- struct{}{}
	}
	if block != nil {
		<-block
	}
	return err == nil, err
}

func (u *fakeUsage) recorded() []useCall {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]useCall(nil), u.calls...)
}

type fixture struct {
	clock  *fakeclock.Clock
	keys   *fakeKeys
	opener *fakeOpener
	usage  *fakeUsage
	log    *logbuf.Buffer
	v      *verifier.Verifier
}

func newFixture(t *testing.T, opts verifier.Options) *fixture {
	t.Helper()
	f := &fixture{clock: fakeclock.New(start), keys: newFakeKeys(), opener: &fakeOpener{}, usage: &fakeUsage{}, log: &logbuf.Buffer{}}
	opts.Now = f.clock.Now
	opts.Log = slog.New(slog.NewJSONHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.v = verifier.New(f.keys, f.opener, f.usage, opts)
	t.Cleanup(func() {
		f.v.Wait()
		for _, s := range []string{aliceSecret, bobSecret, carolSecret, wrongSecret} {
			if strings.Contains(f.log.String(), s) {
				t.Errorf("the log shows a secret:\n%s", f.log.String())
			}
		}
	})
	return f
}

// signed is a request signed at the clock's time with id and secret:
// scheme SigV4 (a GET with no body) or ZC2 (a POST with a JSON body).
func (f *fixture) signed(t *testing.T, scheme, id, secret string) signature.Request {
	t.Helper()
	now := f.clock.Now()
	var r *http.Request
	var body []byte
	var err error
	switch scheme {
	case signature.SchemeSigV4:
		r, err = http.NewRequest(http.MethodGet, "https://api.example.com/v1/whoami?x=1", nil)
		if err == nil {
			err = signature.SignSigV4(r, nil, id, secret, "", now)
		}
	case signature.SchemeZC2:
		body = []byte(`{"hello":"world"}`)
		r, err = http.NewRequest(http.MethodPost, "https://api.example.com/v1/whoami", nil)
		if err == nil {
			err = signature.SignZC2(r, body, id, secret, now)
		}
	default:
		t.Fatalf("scheme %q", scheme)
	}
	if err != nil {
		t.Fatal(err)
	}
	return signature.FromHTTP(r, body)
}

func (f *fixture) verify(t *testing.T, req signature.Request) (verifier.Result, error) {
	t.Helper()
	return f.v.Verify(context.Background(), req, "203.0.113.10")
}

var refusals = []error{accesskey.ErrMissingSignature, accesskey.ErrInvalidSignature, accesskey.ErrUnknownKey, accesskey.ErrKeyExpired,
	accesskey.ErrKeyDisabled, accesskey.ErrRequestExpired, accesskey.ErrUnavailable}

// wantErr fails unless err wraps want and no other refusal (nil: no error).
func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if want == nil {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	for _, r := range refusals {
		if r != want && errors.Is(err, r) {
			t.Fatalf("%v wraps both %v and %v", err, want, r)
		}
	}
}

func (f *fixture) wantCalls(t *testing.T, gets, opens int) {
	t.Helper()
	if g, o := f.keys.count(), f.opener.count(); g != gets || o != opens {
		t.Fatalf("%d Get and %d Open so far, want %d and %d", g, o, gets, opens)
	}
}

// pastItemCache moves the clock to the instant the key items read so far
// stop serving requests: the next request reads its key again.
func (f *fixture) pastItemCache() { f.clock.Advance(verifier.MaxKeyCacheTTL) }

// TestCallsPerVerification: one strongly consistent Get per key per
// KeyCacheTTL (1 s), however many requests, and one Open only when the
// secret is not cached (5 minutes).
func TestCallsPerVerification(t *testing.T) {
	for _, scheme := range []string{signature.SchemeSigV4, signature.SchemeZC2} {
		t.Run(scheme, func(t *testing.T) {
			f := newFixture(t, verifier.Options{})
			for i, want := range []struct {
				advance     time.Duration
				gets, opens int
			}{
				{0, 1, 1},
				{0, 1, 1},
				{verifier.MaxKeyCacheTTL - time.Nanosecond, 1, 1}, // the item is 1 ns short of 1 s old
				{time.Nanosecond, 2, 1},                           // 1 s old: read again
				{time.Millisecond, 2, 1},
				{verifier.MaxKeyCacheTTL, 3, 1},
			} {
				f.clock.Advance(want.advance)
				res, err := f.verify(t, f.signed(t, scheme, aliceID, aliceSecret))
				wantErr(t, err, nil)
				if res.Key.AccessKeyID != aliceID || res.Key.TeamID != "t1" || res.Key.MemberID != "alice" || res.Scheme != scheme {
					t.Fatalf("request %d: %+v", i+1, res)
				}
				f.wantCalls(t, want.gets, want.opens)
			}
			// Another key: its own Get and Open.
			_, err := f.verify(t, f.signed(t, scheme, bobID, bobSecret))
			wantErr(t, err, nil)
			f.wantCalls(t, 4, 2)
		})
	}
}

// TestNoItemCache: a negative KeyCacheTTL reads the item on every request.
func TestNoItemCache(t *testing.T) {
	f := newFixture(t, verifier.Options{KeyCacheTTL: -1})
	for i := range 3 {
		_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
		wantErr(t, err, nil)
		f.wantCalls(t, i+1, 1)
	}
}

// TestCacheKeyedByCiphertext: a re-sealed secret (a new ciphertext for the
// same id) is opened again, never served from the old entry.
func TestCacheKeyedByCiphertext(t *testing.T) {
	f := newFixture(t, verifier.Options{})
	_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, nil)
	f.wantCalls(t, 1, 1)

	// Re-sealed with a new secret: the old one no longer verifies, even
	// though it is still in the cache under the old ciphertext.
	const newSecret = "Nn1Ee2Ww3Ss4Ee5Cc6Rr7Ee8Tt9Aa0Bb1Cc2Dd3Ee4F"
	f.keys.set(func(k *fakeKeys) { k.ciphertext[aliceID] = seal1(aliceID, newSecret, 2) })
	f.pastItemCache()
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, accesskey.ErrInvalidSignature)
	f.wantCalls(t, 2, 2)
	f.pastItemCache()
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, newSecret))
	wantErr(t, err, nil)
	f.wantCalls(t, 3, 2)

	// Re-sealed with the same secret: another ciphertext, another Open.
	f.keys.set(func(k *fakeKeys) { k.ciphertext[aliceID] = seal1(aliceID, newSecret, 3) })
	f.pastItemCache()
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, newSecret))
	wantErr(t, err, nil)
	f.wantCalls(t, 4, 3)
}

// TestCacheTTL: an entry lives CacheTTL, and then the secret is opened
// again; a TTL above MaxCacheTTL is held to it.
func TestCacheTTL(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ttl     time.Duration
		elapsed time.Duration
		opens   int
	}{
		{"within the TTL", time.Minute, 59 * time.Second, 1},
		{"at the TTL", time.Minute, time.Minute, 2},
		{"after the TTL", time.Minute, 2 * time.Minute, 2},
		{"default TTL, within", 0, verifier.MaxCacheTTL - time.Second, 1},
		{"default TTL, after", 0, verifier.MaxCacheTTL, 2},
		{"TTL above the maximum is the maximum", time.Hour, verifier.MaxCacheTTL, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, verifier.Options{CacheTTL: tc.ttl})
			_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
			wantErr(t, err, nil)
			f.clock.Advance(tc.elapsed)
			_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
			wantErr(t, err, nil)
			f.wantCalls(t, 2, tc.opens)
		})
	}
}

// TestCacheBounded: with room for fewer secrets than keys in use, every
// request still verifies with its own key's secret, and some secrets are
// opened again.
func TestCacheBounded(t *testing.T) {
	f := newFixture(t, verifier.Options{CacheSize: 2})
	keys := []struct{ id, secret, member string }{
		{aliceID, aliceSecret, "alice"}, {bobID, bobSecret, "bob"}, {carolID, carolSecret, "carol"},
	}
	const rounds = 5
	for round := range rounds {
		for _, k := range keys {
			res, err := f.verify(t, f.signed(t, signature.SchemeSigV4, k.id, k.secret))
			wantErr(t, err, nil)
			if res.Key.AccessKeyID != k.id || res.Key.MemberID != k.member {
				t.Fatalf("round %d: %s verified as %+v", round, k.id, res.Key)
			}
			// Another key's secret never verifies, cached or not.
			for _, other := range keys {
				if other.id != k.id {
					_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, k.id, other.secret))
					wantErr(t, err, accesskey.ErrInvalidSignature)
				}
			}
		}
	}
	if o := f.opener.count(); o <= len(keys) {
		t.Fatalf("%d Open for %d keys through a cache of 2: the cache holds more than its size", o, len(keys))
	}
	t.Logf("%d Open for %d verifications of 3 keys through a cache of 2", f.opener.count(), f.keys.count())
}

// TestRefusals: each refusal is the one the API reports, and a disabled
// key's status shows only to a request signed with its secret.
func TestRefusals(t *testing.T) {
	kmsDown := fmt.Errorf("kms decrypt: throttled: %w", accesskey.ErrUnavailable)
	tests := []struct {
		name   string
		setup  func(*fixture)
		id     string
		secret string
		want   error
		opens  int
	}{
		{"active key, right secret", nil, aliceID, aliceSecret, nil, 1},
		{"active key, wrong secret", nil, aliceID, wrongSecret, accesskey.ErrInvalidSignature, 1},
		{"disabled key, right secret", disable(aliceID), aliceID, aliceSecret, accesskey.ErrKeyDisabled, 1},
		{"disabled key, wrong secret", disable(aliceID), aliceID, wrongSecret, accesskey.ErrInvalidSignature, 1},
		{"unknown key", nil, unknownID, aliceSecret, accesskey.ErrUnknownKey, 0},
		{"ciphertext of another key", func(f *fixture) {
			f.keys.set(func(k *fakeKeys) { k.ciphertext[aliceID] = k.ciphertext[bobID] })
		}, aliceID, bobSecret, accesskey.ErrInvalidSignature, 1},
		{"ciphertext of another key, disabled", func(f *fixture) {
			disable(aliceID)(f)
			f.keys.set(func(k *fakeKeys) { k.ciphertext[aliceID] = k.ciphertext[bobID] })
		}, aliceID, bobSecret, accesskey.ErrInvalidSignature, 1},
		{"no ciphertext", func(f *fixture) {
			f.keys.set(func(k *fakeKeys) { k.ciphertext[aliceID] = nil })
		}, aliceID, aliceSecret, nil /* checked below: not a success */, 0},
		{"KMS unavailable, nothing cached", func(f *fixture) { f.opener.setErr(kmsDown) },
			aliceID, aliceSecret, accesskey.ErrUnavailable, 1},
		{"KMS unavailable, wrong secret", func(f *fixture) { f.opener.setErr(kmsDown) },
			aliceID, wrongSecret, accesskey.ErrUnavailable, 1},
		{"DynamoDB unavailable", func(f *fixture) {
			f.keys.set(func(k *fakeKeys) { k.err = fmt.Errorf("get: %w", accesskey.ErrUnavailable) })
		}, aliceID, aliceSecret, accesskey.ErrUnavailable, 0},
	}
	for _, tc := range tests {
		for _, scheme := range []string{signature.SchemeSigV4, signature.SchemeZC2} {
			t.Run(tc.name+"/"+scheme, func(t *testing.T) {
				f := newFixture(t, verifier.Options{})
				if tc.setup != nil {
					tc.setup(f)
				}
				res, err := f.verify(t, f.signed(t, scheme, tc.id, tc.secret))
				if tc.name == "no ciphertext" {
					if err == nil || errors.Is(err, accesskey.ErrKeyDisabled) {
						t.Fatalf("a key without ciphertext: %+v, %v", res, err)
					}
				} else {
					wantErr(t, err, tc.want)
				}
				if err != nil && !reflect.DeepEqual(res, verifier.Result{}) {
					t.Fatalf("refused with a result: %+v", res)
				}
				f.wantCalls(t, 1, tc.opens)
				if err != nil {
					if calls := f.usage.recorded(); len(calls) != 0 {
						t.Fatalf("a refused request recorded a use: %+v", calls)
					}
				}
			})
		}
	}
}

func disable(id string) func(*fixture) {
	return func(f *fixture) {
		f.keys.set(func(k *fakeKeys) {
			key := k.keys[id]
			key.Status = accesskey.StatusInactive
			k.keys[id] = key
		})
	}
}

// TestWrongKeyIsLogged: a ciphertext that does not open for its key is
// refused as an invalid signature and reported to the operator.
func TestWrongKeyIsLogged(t *testing.T) {
	f := newFixture(t, verifier.Options{})
	f.keys.set(func(k *fakeKeys) { k.ciphertext[aliceID] = k.ciphertext[bobID] })
	_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, bobSecret))
	wantErr(t, err, accesskey.ErrInvalidSignature)
	if log := f.log.String(); !strings.Contains(log, "sealed secret does not open") || !strings.Contains(log, aliceID) {
		t.Fatalf("no log line for the wrong ciphertext:\n%s", log)
	}
}

// TestUnavailableUsesCache: with the secret cached, KMS being down does not
// matter; once the entry expires, it does (ErrUnavailable, not a refusal).
func TestUnavailableUsesCache(t *testing.T) {
	f := newFixture(t, verifier.Options{CacheTTL: time.Minute})
	_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, nil)
	f.opener.setErr(fmt.Errorf("kms: %w", accesskey.ErrUnavailable))
	f.pastItemCache()
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, nil)
	f.wantCalls(t, 2, 1)
	f.clock.Advance(time.Minute)
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, accesskey.ErrUnavailable)
	f.wantCalls(t, 3, 2)
	// KMS back: the next request opens the secret again.
	f.opener.setErr(nil)
	f.pastItemCache()
	_, err = f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, nil)
	f.wantCalls(t, 4, 3)
}

// TestRequestRefusals: refusals that need no key lookup beyond the parse,
// and the clock.
func TestRequestRefusals(t *testing.T) {
	f := newFixture(t, verifier.Options{})
	req := f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret)
	unsigned := req
	unsigned.Header = req.Header.Clone()
	unsigned.Header.Del("Authorization")
	_, err := f.verify(t, unsigned)
	wantErr(t, err, accesskey.ErrMissingSignature)
	f.wantCalls(t, 0, 0)

	garbled := req
	garbled.Header = req.Header.Clone()
	garbled.Header.Set("Authorization", signature.SchemeSigV4+" Credential=nonsense")
	_, err = f.verify(t, garbled)
	wantErr(t, err, accesskey.ErrInvalidSignature)
	f.wantCalls(t, 0, 0)

	// Signed 6 minutes ago (the skew allowed is 5).
	f.clock.Advance(6 * time.Minute)
	_, err = f.verify(t, req)
	wantErr(t, err, accesskey.ErrRequestExpired)
}

// TestLastUse: a use is recorded once per accesskey.LastUseInterval per key,
// with the request's time, source and scheme.
func TestLastUse(t *testing.T) {
	f := newFixture(t, verifier.Options{})
	verifyAt := func(id, secret string) {
		t.Helper()
		_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, id, secret))
		wantErr(t, err, nil)
		f.v.Wait()
	}
	verifyAt(aliceID, aliceSecret) // recorded
	f.clock.Advance(time.Second)
	verifyAt(aliceID, aliceSecret) // within the interval
	verifyAt(bobID, bobSecret)     // another key: recorded
	f.clock.Advance(accesskey.LastUseInterval - 2*time.Second)
	verifyAt(aliceID, aliceSecret) // 1 s short of the interval
	f.clock.Advance(time.Second)
	verifyAt(aliceID, aliceSecret) // the interval since the last record: recorded
	// A refused request records nothing.
	f.clock.Advance(accesskey.LastUseInterval)
	_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, wrongSecret))
	wantErr(t, err, accesskey.ErrInvalidSignature)
	f.v.Wait()

	calls := f.usage.recorded()
	want := []useCall{
		{accesskey.Ref{TeamID: "t1", MemberID: "alice", AccessKeyID: aliceID}, start, "203.0.113.10", signature.SchemeSigV4},
		{accesskey.Ref{TeamID: "t1", MemberID: "bob", AccessKeyID: bobID}, start.Add(time.Second), "203.0.113.10", signature.SchemeSigV4},
		{accesskey.Ref{TeamID: "t1", MemberID: "alice", AccessKeyID: aliceID}, start.Add(accesskey.LastUseInterval), "203.0.113.10", signature.SchemeSigV4},
	}
	if len(calls) != len(want) {
		t.Fatalf("RecordUse calls %+v, want %+v", calls, want)
	}
	for i := range want {
		if calls[i].ref != want[i].ref || !calls[i].at.Equal(want[i].at) || calls[i].sourceIP != want[i].sourceIP || calls[i].scheme != want[i].scheme {
			t.Fatalf("RecordUse call %d: %+v, want %+v", i, calls[i], want[i])
		}
	}
}

// TestLastUseDoesNotDelay: Verify returns while RecordUse is still
// blocked; Wait returns once it is done.
func TestLastUseDoesNotDelay(t *testing.T) {
	f := newFixture(t, verifier.Options{})
	block, entered := make(chan struct{}), make(chan struct{}, 1)
	f.usage.mu.Lock()
	f.usage.block, f.usage.entered = block, entered
	f.usage.mu.Unlock()

	done := make(chan error, 1)
	go func() {
		_, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
		done <- err
	}()
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("RecordUse was never called")
	}
	select {
	case err := <-done:
		wantErr(t, err, nil)
	case <-time.After(5 * time.Second):
		t.Fatal("Verify waits for a blocked RecordUse")
	}
	waited := make(chan struct{})
	go func() { f.v.Wait(); close(waited) }()
	select {
	case <-waited:
		t.Fatal("Wait returned while RecordUse is blocked")
	case <-time.After(50 * time.Millisecond):
	}
	close(block)
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not return once RecordUse did")
	}
}

// TestLastUseErrorIsLogged: a failed write is logged, without the secret,
// and the request is still verified.
func TestLastUseErrorIsLogged(t *testing.T) {
	f := newFixture(t, verifier.Options{})
	f.usage.err = fmt.Errorf("update item: %w", accesskey.ErrUnavailable)
	res, err := f.verify(t, f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret))
	wantErr(t, err, nil)
	if res.Key.AccessKeyID != aliceID {
		t.Fatalf("result %+v", res)
	}
	f.v.Wait()
	log := f.log.String()
	if !strings.Contains(log, "could not record last use") || !strings.Contains(log, aliceID) ||
		!strings.Contains(log, "service temporarily unavailable") {
		t.Fatalf("the failed write is not logged with the key and the error:\n%s", log)
	}
	// (The cleanup checks that no secret is in the log.)
}

// TestLastUseBudget: a last-use write is cancelled after Options.UsageBudget.
func TestLastUseBudget(t *testing.T) {
	f := newFixture(t, verifier.Options{UsageBudget: 50 * time.Millisecond})
	deadlines := make(chan time.Duration, 1)
	budget := &budgetUsage{deadlines: deadlines}
	v := verifier.New(f.keys, f.opener, budget, verifier.Options{UsageBudget: 50 * time.Millisecond, Now: f.clock.Now})
	if _, err := v.Verify(context.Background(), f.signed(t, signature.SchemeSigV4, aliceID, aliceSecret), "203.0.113.10"); err != nil {
		t.Fatal(err)
	}
	v.Wait()
	d := <-deadlines
	if d > time.Second {
		t.Fatalf("the last-use write's deadline is %s away, not UsageBudget's 50ms", d.Round(time.Millisecond))
	}
}

type budgetUsage struct{ deadlines chan time.Duration }

func (u *budgetUsage) RecordUse(ctx context.Context, _ accesskey.Ref, _ time.Time, _, _ string) (bool, error) {
	d, ok := ctx.Deadline()
	if !ok {
		u.deadlines <- time.Hour
	} else {
		u.deadlines <- time.Until(d)
	}
	return true, nil
}
