// Package console serves the local server's console page: plain HTML, CSS
// and JavaScript embedded here (no build step, no framework, no CDN) that
// walks a team's keys through the public API with a bearer token like any
// other client. Its one endpoint of its own, POST /console/session, is the
// local "sign in as": it mints a token with the local issuer. It is local
// only: no Lambda function links it, and nothing outside the local server
// serves it.
package console

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/httpapi"
)

// Path is where the console lives; the page itself is Path + "/".
const Path = "/console"

// DefaultTokenTTL is how long a console sign-in lasts.
const DefaultTokenTTL = time.Hour

// contentSecurityPolicy allows the page's own script, style and API calls
// and nothing else: no inline script or style, no framing, no form posts.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

//go:embed static
var static embed.FS

// TokenMinter mints the local server's bearer tokens (jwtissuer.Issuer).
type TokenMinter interface {
	Mint(caller accesskey.Caller, names config.ClaimNames, ttl time.Duration) (string, error)
}

// Options configure the console.
type Options struct {
	Tokens TokenMinter
	Claims config.ClaimNames
	// SigningRegion is the region the page's signed requests name
	// (config.Config.SigningRegion); empty means config.DefaultRegion.
	SigningRegion string
	// TokenTTL is how long a sign-in lasts; zero means DefaultTokenTTL.
	TokenTTL time.Duration
	Log      *slog.Logger
	// now is the clock of expiresAt; nil means time.Now.
	now func() time.Time
}

// Serves reports whether the console answers path (rather than the API).
func Serves(path string) bool {
	return path == Path || strings.HasPrefix(path, Path+"/")
}

type console struct {
	opts   Options
	index  []byte // index.html, rendered once
	assets map[string]asset
}

type asset struct {
	contentType string
	body        []byte
}

// New returns the console's handler, for the requests Serves accepts.
func New(opts Options) (http.Handler, error) {
	if opts.Tokens == nil {
		return nil, errors.New("console: no token minter")
	}
	if opts.SigningRegion == "" {
		opts.SigningRegion = config.DefaultRegion
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	page, err := template.ParseFS(static, "static/index.html")
	if err != nil {
		return nil, err
	}
	// What the script needs from the server travels in data attributes:
	// the CSP allows no inline script.
	var index bytes.Buffer
	err = page.Execute(&index, struct {
		SigningRegion    string
		MaxKeysPerMember int
	}{opts.SigningRegion, accesskey.MaxKeysPerMember})
	if err != nil {
		return nil, err
	}
	c := &console{opts: opts, index: index.Bytes(), assets: map[string]asset{}}
	for name, contentType := range map[string]string{
		"app.js":    "text/javascript; charset=utf-8",
		"style.css": "text/css; charset=utf-8",
	} {
		body, err := static.ReadFile("static/" + name)
		if err != nil {
			return nil, err
		}
		c.assets[Path+"/"+name] = asset{contentType, body}
	}
	return c, nil
}

func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	requestID := httpapi.NewRequestID()
	h.Set("X-Request-Id", requestID)

	switch path := r.URL.Path; {
	case path == Path+"/session":
		if r.Method != http.MethodPost {
			c.refuse(w, requestID, http.MethodPost, errMethod)
			return
		}
		c.session(w, r, requestID)
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		c.refuse(w, requestID, "GET, HEAD", errMethod)
	case path == Path:
		http.Redirect(w, r, Path+"/", http.StatusMovedPermanently)
	case path == Path+"/":
		c.write(w, r, "text/html; charset=utf-8", c.index)
	default:
		a, ok := c.assets[path]
		if !ok {
			c.refuse(w, requestID, "", errNotFound)
			return
		}
		c.write(w, r, a.contentType, a.body)
	}
}

func (c *console) write(w http.ResponseWriter, r *http.Request, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
