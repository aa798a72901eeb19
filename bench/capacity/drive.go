package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/seal"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/sweep"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// The entry points the meter drives, each in one place: when a
// constructor's signature changes, this file is what to adapt.

// newEnvironment is one Lambda execution environment of the verifier
// (functions/whoami, functions/authorizer): its own store, opener and
// verifier, and so its own caches, on the metered clients, on the clock.
func (b *bench) newEnvironment(now func() time.Time) *verifier.Verifier {
	store := dynamostore.New(b.ddb, b.st.Config.Table)
	opener := seal.NewEnvelopeOpenerAt(b.kms, b.st.Config.KMSKeyID, store, now)
	return verifier.New(store, opener, store, verifier.Options{
		Signing: signature.Config{Region: b.st.Config.SigningRegion},
		Log:     b.quiet,
		Now:     now,
		// The meter serialises writes: give the background last-use writes
		// time to wait their turn.
		UsageBudget: time.Minute,
	})
}

// sweepOnce is one run of the expiry sweep (functions/sweepexpiredkeys) at
// now, on the metered client; it returns the keys removed.
func (b *bench) sweepOnce(ctx context.Context, now time.Time) (int, error) {
	store := dynamostore.New(b.ddb, b.st.Config.Table)
	res, err := sweep.Run(ctx, store, now, b.quiet)
	return res.Deleted, err
}

// clock is a virtual clock: it starts at the real time and moves only when
// a driver advances it, never backwards.
type clock struct {
	base time.Time
	off  atomic.Int64
}

func newClock() *clock { return &clock{base: time.Now()} }

func (c *clock) Now() time.Time { return c.base.Add(time.Duration(c.off.Load())) }

func (c *clock) advance(to time.Duration) {
	for {
		cur := c.off.Load()
		if int64(to) <= cur || c.off.CompareAndSwap(cur, int64(to)) {
			return
		}
	}
}

// verifyOnce verifies a GET /v1/whoami signed by key at the clock's time.
func (b *bench) verifyOnce(ctx context.Context, v *verifier.Verifier, key teststack.CreatedKey, now time.Time) error {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, b.st.URL+"/v1/whoami", nil)
	if err != nil {
		return err
	}
	if err := signature.SignSigV4(r, nil, key.AccessKeyID, key.SecretAccessKey, b.st.Config.SigningRegion, now); err != nil {
		return err
	}
	res, err := v.Verify(ctx, signature.FromHTTP(r, nil), "192.0.2.1")
	if err != nil {
		return fmt.Errorf("verify %s: %w", key.AccessKeyID, err)
	}
	if res.Key.AccessKeyID != key.AccessKeyID {
		return fmt.Errorf("the verifier named %s, not %s", res.Key.AccessKeyID, key.AccessKeyID)
	}
	return nil
}

// verifications drives n verifications, the i-th at start + i/rate of
// virtual time, by the environment and key pick names, from the bench's
// workers.
func (b *bench) verifications(ctx context.Context, clk *clock, envs []*verifier.Verifier, keys []teststack.CreatedKey,
	n int, start time.Duration, rate float64, pick func(i int) (env, key int)) error {
	err := b.parallel(ctx, n, func(i int) error {
		clk.advance(start + time.Duration(float64(i)/rate*float64(time.Second)))
		e, k := pick(i)
		return b.verifyOnce(ctx, envs[e], keys[k], clk.Now())
	})
	for _, v := range envs {
		v.Wait()
	}
	return err
}

// parallel runs do(0) … do(n-1) on the bench's workers, in order of start;
// it returns the first error, after every started call has ended.
func (b *bench) parallel(ctx context.Context, n int, do func(i int) error) error {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range b.o.workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := do(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					next.Store(int64(n)) // stop the others
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	return firstErr
}

// call sends a request to the local API as the team's owner and fails
// unless the answer is a 2xx; it returns the body.
func (b *bench) call(ctx context.Context, team, method, path string, body any, header map[string]string) ([]byte, error) {
	token, err := b.st.Mint("owner", team, accesskey.RoleOwner)
	if err != nil {
		return nil, err
	}
	var raw []byte
	if body != nil {
		if raw, err = json.Marshal(body); err != nil {
			return nil, err
		}
	}
	// A 503 (the emulators slow on a busy machine) is retried, as a client
	// would, a few times; the retries are counted and printed.
	for attempt := 1; ; attempt++ {
		var rd io.Reader
		if raw != nil {
			rd = bytes.NewReader(raw)
		}
		req, err := http.NewRequestWithContext(ctx, method, b.st.URL+path, rd)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		if rd != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		for k, v := range header {
			req.Header.Set(k, v)
		}
		r := b.st.Try(req)
		if r.Err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, r.Err)
		}
		if r.Status == http.StatusServiceUnavailable && attempt < 5 {
			b.retried.Add(1)
			time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
			continue
		}
		if r.Status/100 != 2 {
			return nil, fmt.Errorf("%s %s: %d %s", method, path, r.Status, r.Body)
		}
		return r.Body, nil
	}
}

// create generates a key for team/member through the API.
func (b *bench) create(ctx context.Context, team, member string, expiresAt *time.Time) (teststack.CreatedKey, error) {
	var body any
	if expiresAt != nil {
		body = map[string]string{"expiresAt": expiresAt.UTC().Format(time.RFC3339)}
	}
	raw, err := b.call(ctx, team, http.MethodPost, teststack.KeysPath(team, member), body, nil)
	if err != nil {
		return teststack.CreatedKey{}, err
	}
	var k teststack.CreatedKey
	if err := json.Unmarshal(raw, &k); err != nil {
		return k, fmt.Errorf("generate %s/%s: %w", team, member, err)
	}
	return k, nil
}

// createMany generates n keys in team, perMember to a member (at most the
// cap), with the bench's workers.
func (b *bench) createMany(ctx context.Context, team string, n, perMember int, expiresAt *time.Time) ([]teststack.CreatedKey, error) {
	keys := make([]teststack.CreatedKey, n)
	err := b.parallel(ctx, n, func(i int) error {
		k, err := b.create(ctx, team, fmt.Sprintf("m%05d", i/perMember), expiresAt)
		keys[i] = k
		return err
	})
	return keys, err
}

func keyPath(k teststack.CreatedKey) string {
	return teststack.KeysPath(k.TeamID, k.MemberID) + "/" + k.AccessKeyID
}
