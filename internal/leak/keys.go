package leak

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// DefaultKeysURL is where GitHub publishes its secret scanning keys.
const DefaultKeysURL = "https://api.github.com/meta/public_keys/secret_scanning"

// RefetchInterval is the least time between two fetches of the keys: an
// unknown key identifier fetches them again, at most this often, so that a
// flood of reports naming made-up identifiers costs GitHub one request a
// minute.
const RefetchInterval = time.Minute

// maxKeysBytes bounds the published keys document.
const maxKeysBytes = 1 << 20

// cache holds the keys of one execution environment, fetched again on an
// unknown identifier at most once per RefetchInterval.
type cache struct {
	fetch func(ctx context.Context) ([]byte, error)
	now   func() time.Time
	every time.Duration

	mu      sync.Mutex
	keys    map[string]*ecdsa.PublicKey
	fetched time.Time
	tried   bool
}

// Key returns the key named id, fetching the keys the first time and again
// when id is unknown and the last fetch is at least every old.
func (c *cache) Key(ctx context.Context, id string) (*ecdsa.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if k, ok := c.keys[id]; ok {
		return k, nil
	}
	if c.tried && c.now().Sub(c.fetched) < c.every {
		return nil, ErrUnknownKeyID
	}
	c.tried, c.fetched = true, c.now()
	b, err := c.fetch(ctx)
	if err != nil {
		if c.keys == nil {
			// Nothing to verify with: let the reporter retry.
			c.tried = false
			return nil, fmt.Errorf("%w: public keys: %w", accesskey.ErrUnavailable, err)
		}
		return nil, ErrUnknownKeyID
	}
	keys, err := ParseKeys(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", accesskey.ErrUnavailable, err)
	}
	c.keys = keys
	if k, ok := keys[id]; ok {
		return k, nil
	}
	return nil, ErrUnknownKeyID
}

// URLKeys are the keys published at url (DefaultKeysURL when empty), fetched
// with client (http.DefaultClient when nil, with a 5 s timeout per fetch)
// and cached.
func URLKeys(url string, client *http.Client) Keys {
	if url == "" {
		url = DefaultKeysURL
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &cache{now: time.Now, every: RefetchInterval, fetch: func(ctx context.Context) ([]byte, error) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
		}
		return io.ReadAll(io.LimitReader(resp.Body, maxKeysBytes))
	}}
}

// FileKeys are the keys in the file at path, in the published shape: the
// local server's stand-in for GitHub's (TEAMKEYS_GITHUB_KEYS_FILE). The
// file is read again on an unknown identifier (no interval: it is local).
func FileKeys(path string) Keys {
	return &cache{now: time.Now, every: 0, fetch: func(context.Context) ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return io.ReadAll(io.LimitReader(f, maxKeysBytes))
	}}
}

// KeysFrom are the keys in file when it is set (TEAMKEYS_GITHUB_KEYS_FILE),
// else those published at url (TEAMKEYS_GITHUB_KEYS_URL; empty:
// DefaultKeysURL).
func KeysFrom(file, url string) Keys {
	if file != "" {
		return FileKeys(file)
	}
	return URLKeys(url, nil)
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
