// Package signature verifies requests signed with a teamkeys access key, and
// holds the signers that the public package pkg/signing offers Go clients.
// It is pure: no network, no DynamoDB, no KMS.
// The caller parses the request (Parse), looks the key up by
// Parsed.AccessKeyID, and then checks the signature with the key's secret
// (Config.Verify).
//
// Two schemes are accepted.
//
// # AWS4-HMAC-SHA256 (SigV4)
//
// AWS Signature Version 4, header form, with the credential scope
// <yyyymmdd>/<region>/teamkeys/aws4_request. Any SigV4 client can sign:
// aws-sdk-go-v2's v4.Signer (SignSigV4 wraps it), curl --aws-sigv4
// "aws:amz:<region>:teamkeys", botocore and the like. The SDKs sign; none
// verifies, so the verification here is written by hand. What it accepts:
//
//   - The canonical request is rebuilt from the SignedHeaders list exactly as
//     received: clients differ in what they sign. host and x-amz-date must be
//     among them; any other header is signed only if the client chose to.
//     Header values are trimmed and runs of spaces collapsed, several values
//     joined with "," (as aws-sdk-go-v2 does). host is Request.Host;
//     content-length, when signed and absent from the headers, is
//     Request.ContentLength.
//   - The canonical URI is the path as received (still escaped), escaped once
//     more with the SDK's own function (smithy-go's httpbinding.EscapePath):
//     each byte but A-Z a-z 0-9 - . _ ~ and "/" becomes %XX. That is SigV4's
//     "encode each segment twice" rule for every service but S3, and what
//     aws-sdk-go-v2 and current curl sign: "/a b" travels as "/a%20b" and is
//     signed as "/a%2520b", "/a%2Fb" as "/a%252Fb". Paths are not normalised:
//     "." and ".." segments and double slashes are signed as sent (curl
//     removes dot segments before it sends and signs; the Go SDK sends them).
//   - The canonical query is every name=value pair, decoded ("+" is a space)
//     and re-encoded per RFC 3986 (%20, upper-case hex), sorted by encoded
//     name then value; a name without "=" has an empty value. A query with a
//     ";" in a pair or an invalid %-escape is refused: Go's url.ParseQuery,
//     which the SDK signs from, silently drops such pairs, so they would
//     travel unsigned.
//   - Older curl releases (7.75 to at least 7.88.1, Debian 12's; curl issues
//     #8107 and #9717) sign the path and the query exactly as sent, neither
//     escaped again nor sorted. When the canonical form does not match, the
//     signature is checked once more against the path and query verbatim,
//     unless the path contains "%25". The cost of that leniency: a signature
//     made over canonical form C also verifies a request whose raw path and
//     query are C. Without "%" in the original path, C decodes to the same
//     path and the same query parameters (up to their order, which SigV4 does
//     not sign anyway); with one, C contains "%25" and is never tried
//     verbatim.
//   - The payload hash is the x-amz-content-sha256 header when it is signed
//     (SignSigV4 sends it); the body must then hash to it whenever the body is
//     known. UNSIGNED-PAYLOAD and the STREAMING-* values are refused: every
//     request to this service is small and must have its body signed.
//     Without that header the payload hash is the SHA-256 of the body, which
//     must then be known (curl and the SDK's plain SignHTTP sign the body
//     hash without sending the header).
//   - The scope's date must be X-Amz-Date's date, its region Config.Region,
//     its service "teamkeys"; X-Amz-Date must be within Config.MaxSkew of
//     the server's clock (either direction). The Date header is not accepted
//     in place of X-Amz-Date.
//
// Sizes are bounded so that hostile input costs little: the Authorization
// header to 2 KiB and 32 signed headers, the path and the query to 4 KiB
// each, the signed headers' values to 64 KiB in all.
//
// A verification with Request.BodyKnown false (a Lambda authorizer) vouches
// for the method, path, query and signed headers, and for the body only
// through a signed x-amz-content-sha256 header: whoever later reads the body
// must check it against that hash (or verify again with the body).
//
// # ZC2-HMAC-SHA256
//
// A simpler HMAC scheme: POST only, with
// X-ZC-Timestamp (Unix seconds), X-ZC-Signature-Method: ZC2-HMAC-SHA256 and
//
//	Authorization: ZC2-HMAC-SHA256 Credential=<id>, SignedHeaders=content-type;host, Signature=<hex>
//
//	CanonicalRequest = "POST\n/\n\n" + <name:value\n for each signed header> + "\n" +
//	                   <signed names joined by ";"> + "\n" + hex(SHA-256(body))
//	StringToSign     = "ZC2-HMAC-SHA256\n" + <timestamp> + "\n" + hex(SHA-256(CanonicalRequest))
//	Signature        = hex(HMAC-SHA256(secret, StringToSign))
//
// The key is the secret string itself (its 43 characters), not a derived key.
// content-type and host must be signed; the body must be known.
//
// Known weakness: ZC2's canonical URI is always "/" and its query always
// empty, whatever the request's. The path and the query are NOT signed: a
// captured ZC2 request can be replayed, within the skew window, to any other
// path of the service with the same body and signed headers. Accept ZC2 only
// on routes where that does not matter (one route, or routes whose bodies
// cannot be confused), and prefer SigV4. No library implements ZC2, hence the
// code here.
package signature

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/config"
)

// Scheme names, as they open the Authorization header.
const (
	SchemeSigV4 = "AWS4-HMAC-SHA256"
	SchemeZC2   = "ZC2-HMAC-SHA256"
)

// Defaults of Config.
const (
	// Service is the SigV4 service name in the credential scope.
	Service = "teamkeys"
	// DefaultRegion is the region expected in the credential scope when
	// Config.Region is empty (TEAMKEYS_SIGNING_REGION's default).
	DefaultRegion = config.DefaultRegion
	// DefaultMaxSkew is how far a request's timestamp may be from the
	// server's clock, either way, when Config.MaxSkew is zero.
	DefaultMaxSkew = 5 * time.Minute
)

// Every error of Parse and Verify wraps exactly one of the domain's
// refusals, accesskey.ErrMissingSignature (no Authorization header, or
// another scheme), accesskey.ErrInvalidSignature (a header that does not
// parse, a wrong scope, a missing signed header, a body or signature that
// does not match) or accesskey.ErrRequestExpired (a timestamp out of range,
// refused by Precheck before any secret is at hand), so that the one error
// mapping of the HTTP layer answers it.

// errMalformed marks an Authorization header (or its timestamp header) that
// does not parse. It is reported as accesskey.ErrInvalidSignature; the
// marker only lets tests tell a parse failure from a mismatch.
var errMalformed = errors.New("malformed signature")

// Request is what verification needs of an HTTP request, so that it works
// for net/http and for API Gateway events alike.
type Request struct {
	Method string
	// Path is the raw, escaped path as received ("/a%20b"), without the query.
	Path     string
	RawQuery string
	Host     string
	// Header has canonical keys (http.CanonicalHeaderKey). Host may be
	// missing from it; Request.Host is used.
	Header http.Header
	// ContentLength is the body's length, -1 when unknown.
	ContentLength int64
	Body          []byte
	// BodyKnown is false where the body is not at hand (a Lambda
	// authorizer): Body is then ignored.
	BodyKnown bool
}

// FromHTTP describes a request received by a net/http server (or built by
// an adapter such as aws-lambda-go-api-proxy) whose body the handler has read
// into body. The path and query are taken from r.RequestURI when it is in
// origin form, since that is what was sent; Go's r.URL.EscapedPath can
// re-escape it differently. Host comes from r.Host (the server moves the Host
// header there). The header map is shared, not copied.
func FromHTTP(r *http.Request, body []byte) Request {
	path, query := requestTarget(r)
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	return Request{
		Method:        r.Method,
		Path:          path,
		RawQuery:      query,
		Host:          host,
		Header:        r.Header,
		ContentLength: r.ContentLength,
		Body:          body,
		BodyKnown:     true,
	}
}

// FromAPIGateway describes a request as an API Gateway HTTP API event
// (payload 2.0, or a Lambda authorizer's REQUEST event) shows it: the
// event's own headers map, in which API Gateway has joined a repeated
// header's values with ",", its cookies (which it moves out of the headers),
// and the raw path and query as received. Both the WhoAmI function and the
// authorizer verify what this returns, so they cannot disagree; the
// HTTP-level adapters in between split headers on commas and must not be
// trusted with a signed value.
//
// The body is not set (BodyKnown false): a caller that has it uses
// WithBody. Without the body, the request counts as body-less only with a
// Content-Length of 0, or with neither Content-Length nor Transfer-Encoding
// for a GET, HEAD or OPTIONS: a POST over HTTP/2 may carry a body with no
// Content-Length, so a POST without one is a request whose body is unknown.
func FromAPIGateway(method, rawPath, rawQuery, domainName string, headers map[string]string, cookies []string) Request {
	header := make(http.Header, len(headers)+1)
	for name, value := range headers {
		header.Add(name, value)
	}
	if len(cookies) > 0 && header.Get("Cookie") == "" {
		header.Set("Cookie", strings.Join(cookies, "; "))
	}
	host := header.Get("Host")
	if host == "" {
		host = domainName
	}
	header.Del("Host")
	contentLength := int64(-1)
	switch v := header.Values("Content-Length"); {
	case len(v) == 1:
		if n, err := strconv.ParseInt(v[0], 10, 64); err == nil && n >= 0 {
			contentLength = n
		}
	case len(v) == 0 && header.Get("Transfer-Encoding") == "":
		if method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions {
			contentLength = 0
		}
	}
	return Request{
		Method:        method,
		Path:          rawPath,
		RawQuery:      rawQuery,
		Host:          host,
		Header:        header,
		ContentLength: contentLength,
	}
}

// WithBody returns r with its body known.
func (r Request) WithBody(body []byte) Request {
	r.Body = body
	r.BodyKnown = true
	r.ContentLength = int64(len(body))
	return r
}

func requestTarget(r *http.Request) (path, query string) {
	if strings.HasPrefix(r.RequestURI, "/") {
		path, query, _ = strings.Cut(r.RequestURI, "?")
		return path, query
	}
	if r.URL == nil {
		return "/", ""
	}
	return uriPath(r.URL), r.URL.RawQuery
}

// uriPath is the escaped path a client sends for u: the path part of Opaque
// ("//host/path") when set, else EscapedPath. aws-sdk-go-v2's signer reads
// it the same way.
func uriPath(u *url.URL) string {
	p := u.EscapedPath()
	if u.Opaque != "" {
		p = ""
		o, _, _ := strings.Cut(u.Opaque, "?")
		o = strings.TrimPrefix(o, "//")
		if i := strings.IndexByte(o, '/'); i >= 0 {
			p = o[i:]
		}
	}
	if p == "" {
		p = "/"
	}
	return p
}

// Config is what a verification checks a request against.
type Config struct {
	// Region is the region the SigV4 scope must name
	// (TEAMKEYS_SIGNING_REGION); empty means DefaultRegion.
	Region string
	// Service is the service the SigV4 scope must name; empty means Service.
	Service string
	// MaxSkew bounds the distance between a request's timestamp and Now;
	// zero means DefaultMaxSkew.
	MaxSkew time.Duration
	// Now is the server's clock; nil means time.Now.
	Now func() time.Time
}

func (c Config) region() string {
	if c.Region == "" {
		return DefaultRegion
	}
	return c.Region
}

func (c Config) service() string {
	if c.Service == "" {
		return Service
	}
	return c.Service
}

func (c Config) maxSkew() time.Duration {
	if c.MaxSkew <= 0 {
		return DefaultMaxSkew
	}
	return c.MaxSkew
}

func (c Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

// Precheck refuses, before any key is looked up, what can be refused
// without the secret: a SigV4 credential scope that names another service or
// region or a date other than X-Amz-Date's, a signature of the wrong length,
// and a timestamp more than MaxSkew from the server's clock (either way).
// Ids are not secret, so a request for a known key id that fails here costs
// no read and no Decrypt. It returns nil or an error wrapping
// accesskey.ErrInvalidSignature or accesskey.ErrRequestExpired.
func (c Config) Precheck(p *Parsed) error {
	if p == nil || p.Scheme != SchemeSigV4 && p.Scheme != SchemeZC2 {
		return accesskey.ErrMissingSignature
	}
	if p.Scheme == SchemeSigV4 {
		if err := c.checkScope(p); err != nil {
			return err
		}
	}
	if len(p.Signature) != sha256.Size {
		return wrap(accesskey.ErrInvalidSignature, "signature has the wrong length")
	}
	if skew := c.now().Sub(p.Timestamp).Abs(); skew > c.maxSkew() {
		return errExpired
	}
	return nil
}

// Verify checks that p, parsed from req by Parse, is a signature of req made
// with secret, Precheck included. It returns nil, or an error wrapping
// accesskey.ErrInvalidSignature or accesskey.ErrRequestExpired.
func (c Config) Verify(req Request, p *Parsed, secret string) error {
	if err := c.Precheck(p); err != nil {
		return err
	}
	switch p.Scheme {
	case SchemeSigV4:
		return c.verifySigV4(req, p, secret)
	case SchemeZC2:
		return verifyZC2(req, p, secret)
	default:
		return accesskey.ErrMissingSignature
	}
}

var errExpired = wrap(accesskey.ErrRequestExpired, "more than the allowed skew from the server's clock")

// wrap returns an error that is base with a reason for the logs. Reasons
// never quote the request, so that a log line holds no attacker's bytes.
func wrap(base error, reason string) error { return &refusal{base: base, reason: reason} }

type refusal struct {
	base   error
	reason string
}

func (e *refusal) Error() string { return e.base.Error() + ": " + e.reason }

func (e *refusal) Unwrap() []error {
	if e.base == errMalformed {
		return []error{accesskey.ErrInvalidSignature, errMalformed}
	}
	return []error{e.base}
}
