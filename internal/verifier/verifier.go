// Package verifier checks a request signed with an access key: it finds the
// key (its item, read strongly consistent, is reused for at most
// MaxKeyCacheTTL, 1 s, per process; concurrent misses share one read), opens
// its secret (from a short-lived in-memory cache, or with one KMS Decrypt),
// checks the signature, and only then whether the key is active and not
// expired. Expiry is checked against the clock on every request, so an
// expired key is refused on time; every other change of a key (a disable, a
// delete, a rotation's retirement, a leak's disable) is obeyed by every
// warm process within 1 s of its answer. A key's last use is written at most
// once per accesskey.LastUseInterval, and not at all while the item just
// read says it was written within the interval.
package verifier

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/signature"
)

// Keys reads a key and its sealed secret by id (strongly consistent).
type Keys interface {
	Get(ctx context.Context, accessKeyID string) (accesskey.Key, []byte, error)
}

// Opener decrypts a secret sealed for the key ref names.
type Opener interface {
	Open(ctx context.Context, ref accesskey.Ref, ciphertext []byte) (string, error)
}

// Usage records a key's last use (at most once per interval, never back in
// time).
type Usage interface {
	RecordUse(ctx context.Context, ref accesskey.Ref, at time.Time, sourceIP, scheme string) (bool, error)
}

// Result names the key that signed a request, and what its signature
// covers.
type Result struct {
	Key    accesskey.Key
	Scheme string
	// SignedHeaders are the lower-case names of the headers the signature
	// covers; a backend should trust no other.
	SignedHeaders []string
	// PayloadHash is the hex SHA-256 of the body the signature covers (the
	// empty body's for a body-less request).
	PayloadHash string
	// Scopes are the scopes the key grants (nil: every scope), for the
	// authorizer's route table.
	Scopes accesskey.Scopes
}

// Verifier verifies signed requests.
type Verifier struct {
	keys    Keys
	opener  Opener
	usage   Usage
	signing signature.Config
	secrets *secretCache
	budget  *decryptBudget
	opening singleflight.Group // one Decrypt for concurrent misses of one entry
	items   *itemCache         // nil: every request reads the key's item
	reading singleflight.Group // one GetItem for concurrent misses of one key
	log     *slog.Logger
	now     func() time.Time

	usageBudget time.Duration
	usageSpread spread
	// pending tracks the last-use writes in flight, for Wait.
	pending sync.WaitGroup
	// recorded remembers when this process last recorded each key's use,
	// so that it writes at most once per accesskey.LastUseInterval per key instead of
	// sending a write the table's condition would refuse.
	recordedMu sync.Mutex
	recorded   map[string]time.Time
}

// maxRecorded bounds the recorded map; past it, the map starts afresh.
const maxRecorded = 10_000

// Options configure a Verifier.
type Options struct {
	Signing   signature.Config
	CacheTTL  time.Duration // at most 5 minutes; 0 means 5 minutes
	CacheSize int           // entries; 0 means 10,000
	// KeyCacheTTL is how long a key's item (status, expiry, sealed secret)
	// serves requests without being read again: at most MaxKeyCacheTTL
	// (1 s), which is also the default (0). Negative: no item cache, every
	// request reads the item. Time is Now's.
	KeyCacheTTL time.Duration
	// DecryptsPerKey bounds the KMS Decrypt calls for one access key id per
	// DecryptPeriod; past it, verification answers ErrUnavailable until the
	// period ends. 0 means 30 per minute.
	DecryptsPerKey int
	DecryptPeriod  time.Duration
	UsageBudget    time.Duration // how long a last-use write may take; 0 means 2 s
	// LastUseSpread is how much longer than accesskey.LastUseInterval, at
	// most, this process waits for another's last-use write before writing
	// itself, when the item it read shows a use: a delay drawn per key and
	// per process, so that when the interval ends on a key in use in many
	// processes, one writes first and the others see its write (within
	// KeyCacheTTL) instead of all sending a write the table refuses. 0
	// means 1 minute; negative: none.
	LastUseSpread time.Duration
	Log           *slog.Logger
	Now           func() time.Time
}

// MaxCacheTTL bounds how long a decrypted secret stays in memory.
const MaxCacheTTL = 5 * time.Minute

// New returns a Verifier.
func New(keys Keys, opener Opener, usage Usage, opts Options) *Verifier {
	if opts.CacheTTL <= 0 || opts.CacheTTL > MaxCacheTTL {
		opts.CacheTTL = MaxCacheTTL
	}
	if opts.KeyCacheTTL == 0 || opts.KeyCacheTTL > MaxKeyCacheTTL {
		opts.KeyCacheTTL = MaxKeyCacheTTL
	}
	if opts.LastUseSpread == 0 {
		opts.LastUseSpread = time.Minute
	}
	if opts.UsageBudget <= 0 {
		opts.UsageBudget = 2 * time.Second
	}
	if opts.CacheSize <= 0 {
		opts.CacheSize = 10_000
	}
	if opts.DecryptsPerKey <= 0 {
		opts.DecryptsPerKey = 30
	}
	if opts.DecryptPeriod <= 0 {
		opts.DecryptPeriod = time.Minute
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Signing.Now == nil {
		opts.Signing.Now = opts.Now
	}
	v := &Verifier{
		keys:        keys,
		opener:      opener,
		usage:       usage,
		signing:     opts.Signing,
		secrets:     newSecretCache(opts.CacheSize, opts.CacheTTL, opts.Now),
		budget:      newDecryptBudget(opts.CacheSize, opts.DecryptsPerKey, opts.DecryptPeriod, opts.Now),
		log:         opts.Log,
		now:         opts.Now,
		recorded:    map[string]time.Time{},
		usageBudget: opts.UsageBudget,
		usageSpread: newSpread(opts.LastUseSpread),
	}
	if opts.KeyCacheTTL > 0 {
		v.items = newItemCache(opts.CacheSize, opts.KeyCacheTTL)
	}
	return v
}

// Verify checks req and returns the key that signed it. Refusals wrap one of
// accesskey's ErrMissingSignature, ErrInvalidSignature, ErrUnknownKey,
// ErrKeyExpired, ErrKeyDisabled, ErrSourceIPNotAllowed (sourceIP, API
// Gateway's requestContext.http.sourceIp, outside the key's networks) or
// ErrRequestExpired (package signature's own errors are
// these already); a dependency failure wraps ErrUnavailable.
func (v *Verifier) Verify(ctx context.Context, req signature.Request, sourceIP string) (Result, error) {
	parsed, err := signature.Parse(req)
	if err != nil {
		return Result{}, err
	}
	// What the request alone refutes costs no read and no Decrypt.
	if err := v.signing.Precheck(parsed); err != nil {
		return Result{}, err
	}
	key, ciphertext, limits, err := v.lookup(ctx, parsed.AccessKeyID)
	if errors.Is(err, accesskey.ErrNotFound) {
		return Result{}, fmt.Errorf("%w: %s", accesskey.ErrUnknownKey, parsed.AccessKeyID)
	}
	if err != nil {
		return Result{}, err
	}
	secret, err := v.secret(ctx, key.Ref(), ciphertext)
	if err != nil {
		return Result{}, err
	}
	if err := v.signing.Verify(req, parsed, secret); err != nil {
		return Result{}, err
	}
	// Like KeyDisabled, only once the signature checked out. Checked
	// against the clock on every request, however old the item read: no
	// cache outlives the expiry.
	if key.Expired(v.now()) {
		return Result{}, fmt.Errorf("%w: %s", accesskey.ErrKeyExpired, key.AccessKeyID)
	}
	if key.Status != accesskey.StatusActive {
		return Result{}, fmt.Errorf("%w: %s", accesskey.ErrKeyDisabled, key.AccessKeyID)
	}
	// The key's networks, last: a caller without the secret learns
	// nothing of them. A refused request is no use of the key.
	if err := v.admit(key, limits, sourceIP); err != nil {
		return Result{}, err
	}
	payloadHash, err := signature.PayloadHash(req, parsed)
	if err != nil { // Verify has checked it already
		return Result{}, err
	}
	v.recordUse(ctx, key, sourceIP, parsed.Scheme)
	return Result{Key: key, Scheme: parsed.Scheme, SignedHeaders: parsed.SignedHeaders, PayloadHash: payloadHash, Scopes: limits.scopes}, nil
}

// errDoesNotOpen is a ciphertext that is not this key's (copied from another
// key's item, altered, or under a rewritten team or member).
var errDoesNotOpen = errors.New("sealed secret does not open for its key")

// secret returns the key's plaintext secret, from the cache when the same
// ciphertext was opened for the same encryption context within the TTL.
func (v *Verifier) secret(ctx context.Context, ref accesskey.Ref, ciphertext []byte) (string, error) {
	if len(ciphertext) == 0 {
		return "", fmt.Errorf("key %s has no sealed secret", ref.AccessKeyID)
	}
	key := cacheKey(ref, ciphertext)
	e, cached := v.secrets.get(key)
	if !cached {
		opened, err, _ := v.opening.Do(key, func() (any, error) {
			if e, ok := v.secrets.get(key); ok {
				return e, nil
			}
			if !v.budget.take(ref.AccessKeyID) {
				return nil, fmt.Errorf("%w: decrypt budget of %s spent", accesskey.ErrUnavailable, ref.AccessKeyID)
			}
			secret, err := v.opener.Open(context.WithoutCancel(ctx), ref, ciphertext)
			switch {
			case errors.Is(err, accesskey.ErrSealedForAnotherKey):
				// Refused, for the TTL without another Decrypt; the
				// operator learns of it from the log.
				v.log.Error(errDoesNotOpen.Error(), "accessKeyId", ref.AccessKeyID, "error", err.Error())
				e := cacheEntry{opens: false}
				v.secrets.put(key, e)
				return e, nil
			case err != nil:
				return nil, err
			}
			e := cacheEntry{secret: secret, opens: true}
			v.secrets.put(key, e)
			return e, nil
		})
		if err != nil {
			return "", err
		}
		e = opened.(cacheEntry)
	}
	if !e.opens {
		return "", fmt.Errorf("%w: %w: %s", accesskey.ErrInvalidSignature, errDoesNotOpen, ref.AccessKeyID)
	}
	return e.secret, nil
}

// recordUse writes the key's last use in the background: a failure is
// logged, never returned, and the response does not wait for it. On Lambda
// the write may finish during the environment's next invocation; the
// conditional write keeps it correct whenever it lands.
//
// No write is sent when the item just read (at most KeyCacheTTL old) says
// the key was used within accesskey.LastUseInterval (plus this process's
// spread for the key), whichever process wrote it: the table's condition
// would refuse it, and a refused write costs a write unit all the same. The per-process map is the second guard,
// for the writes this process sent that its item copy does not show yet.
func (v *Verifier) recordUse(ctx context.Context, key accesskey.Key, sourceIP, scheme string) {
	if v.usage == nil {
		return
	}
	at := v.now()
	// The table keeps whole seconds and takes a write only when the stored
	// use is more than the interval older than the write's.
	if key.LastUsedAt != nil && !at.Truncate(time.Second).After(key.LastUsedAt.Add(accesskey.LastUseInterval+v.usageSpread.of(key.AccessKeyID))) {
		return
	}
	ref := key.Ref()
	v.recordedMu.Lock()
	last, seen := v.recorded[ref.AccessKeyID]
	if seen && at.Sub(last) < accesskey.LastUseInterval {
		v.recordedMu.Unlock()
		return
	}
	if len(v.recorded) >= maxRecorded {
		v.recorded = map[string]time.Time{}
	}
	v.recorded[ref.AccessKeyID] = at
	v.recordedMu.Unlock()
	v.pending.Add(1)
	go func() {
		defer v.pending.Done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), v.usageBudget)
		defer cancel()
		if _, err := v.usage.RecordUse(ctx, ref, at, sourceIP, scheme); err != nil {
			v.log.Warn("could not record last use", "accessKeyId", ref.AccessKeyID, "error", err.Error())
		}
	}()
}

// Wait blocks until the last-use writes started so far are done (tests,
// graceful shutdown).
func (v *Verifier) Wait() { v.pending.Wait() }
