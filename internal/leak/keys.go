package leak

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	neturl "net/url"
	"os"
	"sync"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// DefaultKeysURL is where GitHub publishes its secret scanning keys.
const DefaultKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// RefetchInterval is the least time between two fetches of the keys, in
// every state (nothing loaded yet, a fetch that failed, an unknown key
// identifier, keys gone stale): a flood of reports naming made-up
// identifiers, or an unreachable GitHub, costs GitHub one request a minute.
const RefetchInterval = time.Minute

// MaxKeyAge is how long fetched keys are trusted without fetching them
// again: a key GitHub withdraws stops verifying within about this long in a
// warm execution environment. When the refetch fails the old keys keep
// verifying (GitHub's outage must not switch the leak response off).
const MaxKeyAge = time.Hour

// maxKeysBytes bounds the published keys document.
const maxKeysBytes = 1 << 20

// cache holds the keys of one execution environment. A fetch runs when a
// key is asked for that the cache cannot answer from a fresh set (nothing
// loaded, an unknown identifier, keys older than maxAge), at most once per
// every; concurrent requests share one fetch, and the mutex is never held
// while fetching.
//
// An identifier the cache does not hold is ErrUnknownKeyID (a forgery)
// only when a fetch started after the request arrived has succeeded
// without it; otherwise the answer depends on keys not yet fetched and is
// accesskey.ErrUnavailable (503: GitHub retries).
type cache struct {
	fetch  func(ctx context.Context) ([]byte, error)
	now    func() time.Time
	every  time.Duration // least time between two fetches
	maxAge time.Duration // keys older than this are fetched again
	log    func() *slog.Logger

	mu       sync.Mutex
	keys     map[string]*ecdsa.PublicKey // nil: none loaded yet
	loadedAt time.Time                   // when keys were fetched
	tried    time.Time                   // when the last fetch started
	attempts uint64                      // fetches started
	loadedBy uint64                      // the fetch (1-based) keys came from
	inflight chan struct{}               // closed when the running fetch ends
	lastErr  error                       // the last fetch's failure, nil if it loaded
}

func newCache(fetch func(context.Context) ([]byte, error), every time.Duration) *cache {
	return &cache{fetch: fetch, now: time.Now, every: every, maxAge: MaxKeyAge, log: slog.Default}
}

// Key returns the key named id, fetching the keys when needed and allowed.
func (c *cache) Key(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	c.mu.Lock()
	arrived := c.attempts
	waited := false
	for {
		k, known := c.keys[id]
		if known && c.now().Sub(c.loadedAt) < c.maxAge {
			c.mu.Unlock()
			return k, nil
		}
		done := c.inflight
		if done == nil && !waited && (c.attempts == 0 || c.now().Sub(c.tried) >= c.every) {
			done = c.start(ctx)
		}
		if done == nil || waited {
			break
		}
		c.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: public keys: %w", accesskey.ErrUnavailable, ctx.Err())
		}
		c.mu.Lock()
		waited = true
	}
	defer c.mu.Unlock()
	if k, ok := c.keys[id]; ok {
		// Possibly stale: the refetch failed or is not yet allowed.
		return k, nil
	}
	if c.keys != nil && c.loadedBy > arrived {
		return nil, ErrUnknownKeyID
	}
	if c.lastErr != nil {
		return nil, fmt.Errorf("%w: public keys: %w", accesskey.ErrUnavailable, c.lastErr)
	}
	return nil, fmt.Errorf("%w: public keys: %q not among the keys fetched before the report, next fetch within %v", accesskey.ErrUnavailable, truncate(id), c.every)
}

// start begins a fetch (c.mu held) and returns the channel closed when it
// ends. The fetch runs on its own goroutine, detached from the caller's
// cancellation, so that the requests sharing it are not failed by the
// first one going away.
func (c *cache) start(ctx context.Context) chan struct{} {
	done := make(chan struct{})
	c.inflight, c.tried = done, c.now()
	c.attempts++
	n := c.attempts
	fctx := context.WithoutCancel(ctx)
	go func() {
		b, err := c.fetch(fctx)
		var keys map[string]*ecdsa.PublicKey
		if err == nil {
			keys, err = c.parse(fctx, b)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if err != nil {
			c.log().WarnContext(fctx, "github public keys not refreshed", "error", err.Error(), "cached_keys", len(c.keys))
		} else {
			c.keys, c.loadedAt, c.loadedBy = keys, c.now(), n
		}
		c.lastErr = err
		c.inflight = nil
		close(done)
	}()
	return done
}

// parse reads a fetched document, logging the entries it skips; a document
// with no usable key is an error (it never replaces the cached keys).
func (c *cache) parse(ctx context.Context, b []byte) (map[string]*ecdsa.PublicKey, error) {
	keys, skipped, err := ParseKeys(b)
	if err != nil {
		return nil, err
	}
	for _, e := range skipped {
		c.log().WarnContext(ctx, "github public key skipped", "error", e.Error())
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("public keys: none usable (%d skipped)", len(skipped))
	}
	return keys, nil
}

// truncate bounds an identifier quoted in an error or a log line.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// URLKeys are the keys published at url (DefaultKeysURL when empty), fetched
// with client (http.DefaultClient when nil, with a 5 s timeout per fetch)
// and cached. Only an https:// URL is fetched (KeysFrom refuses any other
// at start), and no redirect is followed: a 3xx answer is a failed fetch,
// like any answer but 200, so the keys come from the address configured
// and nowhere else.
func URLKeys(url string, client *http.Client) Keys {
	if url == "" {
		url = DefaultKeysURL
	}
	if client == nil {
		client = http.DefaultClient
	}
	noRedirects := *client
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return newCache(func(ctx context.Context) ([]byte, error) {
		if err := checkKeysURL(url); err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := noRedirects.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			return nil, fmt.Errorf("GET %s: %s: redirects are not followed", url, resp.Status)
		case resp.StatusCode != http.StatusOK:
			return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, maxKeysBytes))
	}, RefetchInterval)
}

// checkKeysURL refuses a keys URL that is not https:// with a host: over
// http:// anyone on the path could publish their own keys and have their
// forged reports disable any key.
func checkKeysURL(raw string) error {
	u, err := neturl.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("TEAMKEYS_GITHUB_KEYS_URL %q: must be an https:// URL (or file:///path to a local file)", raw)
	}
	return nil
}

// FileKeys are the keys in the file at path, in the published shape: the
// local server's stand-in for GitHub's (TEAMKEYS_GITHUB_KEYS_FILE). The
// file is read again on an unknown identifier (no interval: it is local).
func FileKeys(path string) Keys {
	return newCache(func(context.Context) ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(io.LimitReader(f, maxKeysBytes))
	}, 0)
}

// KeysFrom are the keys in file when it is set (TEAMKEYS_GITHUB_KEYS_FILE),
// else those at url (TEAMKEYS_GITHUB_KEYS_URL; empty: DefaultKeysURL):
// an https:// URL, or file:///path (a local file, as file). Any other URL
// (http:// included) is an error, for the function's init to fail on.
func KeysFrom(file, url string) (Keys, error) {
	if file != "" {
		return FileKeys(file), nil
	}
	if url == "" {
		return URLKeys(DefaultKeysURL, nil), nil
	}
	if u, err := neturl.Parse(url); err == nil && u.Scheme == "file" && u.Host == "" && u.Path != "" {
		return FileKeys(u.Path), nil
	}
	if err := checkKeysURL(url); err != nil {
		return nil, err
	}
	return URLKeys(url, nil), nil
}

// StaticKeys are fixed keys, for tests.
type StaticKeys map[string]*ecdsa.PublicKey

// Key implements Keys.
func (s StaticKeys) Key(_ context.Context, id string) (*ecdsa.PublicKey, error) {
	if k, ok := s[id]; ok {
		return k, nil
	}
	return nil, ErrUnknownKeyID
}
