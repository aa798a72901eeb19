package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// SignSigV4 signs r for this service with aws-sdk-go-v2's v4.Signer (service
// "teamkeys", the region given or DefaultRegion), after setting its body to
// body and X-Amz-Content-Sha256 to the body's hash. The signer sets
// X-Amz-Date and Authorization, and signs host, content-length (for a
// non-empty body), x-amz-content-sha256, x-amz-date and every other header
// already on r but User-Agent, Expect and Transfer-Encoding. Set r's other
// headers first; headers added after (the transport's User-Agent and
// Accept-Encoding) are not signed, which is as it should be.
func SignSigV4(r *http.Request, body []byte, accessKeyID, secret, region string, now time.Time) error {
	if region == "" {
		region = DefaultRegion
	}
	setBody(r, body)
	payloadHash := sha256Hex(body)
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	creds := aws.Credentials{AccessKeyID: accessKeyID, SecretAccessKey: secret}
	return v4.NewSigner().SignHTTP(r.Context(), creds, r, payloadHash, Service, region, now)
}

// setBody makes body r's body, replayable (GetBody) and with its length.
func setBody(r *http.Request, body []byte) {
	if r.Header == nil {
		r.Header = http.Header{}
	}
	r.ContentLength = int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
}

// verifySigV4 checks a SigV4 signature. Written by hand: AWS's SDKs sign but
// do not verify, and their signer cannot be reused to verify, since it signs
// every header it is given and reads the path and the query from a url.URL
// (re-escaping and dropping what the client sent), where verification must
// rebuild exactly what the client signed.
func (c Config) verifySigV4(req Request, p *Parsed, secret string) error {
	if err := c.checkScope(p); err != nil {
		return err
	}
	amzDate := p.Timestamp.UTC().Format(amzDateLayout)
	if !slices.Contains(p.SignedHeaders, "host") || !slices.Contains(p.SignedHeaders, "x-amz-date") {
		return wrap(accesskey.ErrInvalidSignature, "host and x-amz-date must be signed")
	}
	headers, err := canonicalHeaders(req, p.SignedHeaders, sigV4Value)
	if err != nil {
		return err
	}
	payloadHash, err := sigV4PayloadHash(req, p)
	if err != nil {
		return err
	}
	path := req.Path
	if path == "" {
		path = "/"
	}
	if len(path) > maxPathLen || len(req.RawQuery) > maxQueryLen {
		return wrap(accesskey.ErrInvalidSignature, "path or query too long")
	}
	query, err := canonicalQuery(req.RawQuery)
	if err != nil {
		return err
	}

	key := sigV4Key(secret, p.Date, p.Region, p.Service)
	scope := p.Date + "/" + p.Region + "/" + p.Service + "/" + sigV4Terminator
	signedHeaders := strings.Join(p.SignedHeaders, ";")
	matches := func(uri, query, headers string) bool {
		canonical := strings.Join([]string{req.Method, uri, query, headers, signedHeaders, payloadHash}, "\n")
		toSign := SchemeSigV4 + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
		return hmac.Equal(hmacSHA256(key, toSign), p.Signature)
	}
	// botocore, requests-aws4auth and @smithy/signature-v4 turn a tab inside
	// a header value into a space; aws-sdk-go-v2 and Rust's aws-sigv4 keep
	// it. Both forms are tried when a signed value holds a tab.
	headerForms := []string{headers}
	if strings.Contains(headers, "\t") {
		tabsAsSpaces, err := canonicalHeaders(req, p.SignedHeaders, sigV4ValueTabsAsSpaces)
		if err != nil {
			return err
		}
		headerForms = append(headerForms, tabsAsSpaces)
	}

	// The SDK's own path escaping, so that the verifier and aws-sdk-go-v2
	// agree byte for byte.
	uri := httpbinding.EscapePath(path, false)
	verbatim := (uri != path || query != req.RawQuery) && verbatimPathAllowed(path)
	for _, h := range headerForms {
		if matches(uri, query, h) {
			return nil
		}
		// Older curl signs the path and query as sent (see the package doc).
		if verbatim && matches(path, req.RawQuery, h) {
			return nil
		}
	}
	return wrap(accesskey.ErrInvalidSignature, "signature does not match")
}

// checkScope checks the SigV4 credential scope against the configuration
// and X-Amz-Date.
func (c Config) checkScope(p *Parsed) error {
	if p.Service != c.service() {
		return wrap(accesskey.ErrInvalidSignature, "credential scope names another service")
	}
	if p.Region != c.region() {
		return wrap(accesskey.ErrInvalidSignature, "credential scope names another region")
	}
	if p.Date != p.Timestamp.UTC().Format(scopeDateLayout) {
		return wrap(accesskey.ErrInvalidSignature, "credential scope date is not X-Amz-Date's date")
	}
	return nil
}

// verbatimPathAllowed reports whether a path may be checked as sent (the
// older-curl retry). Never when it holds an escaped reserved character: the
// canonical form of "/a;b" is "/a%3Bb", so a signature over "/a;b" would
// also verify the raw path "/a%3Bb", which many backends (servlet path
// parameters, "%2F" in a segment, "%25") read as another resource. An
// escape of anything else ("%20") decodes to the same path everywhere.
func verbatimPathAllowed(path string) bool {
	for i := 0; i+2 < len(path); i++ {
		if path[i] != '%' {
			continue
		}
		b, err := hex.DecodeString(path[i+1 : i+3])
		if err != nil || strings.IndexByte(reservedChars, b[0]) >= 0 {
			return false
		}
	}
	return true
}

// reservedChars are RFC 3986's gen-delims and sub-delims, and '%'.
const reservedChars = ":/?#[]@!$&'()*+,;=%"

// PayloadHash is the payload hash a verified request signed: for SigV4 its
// signed x-amz-content-sha256, or the hash of the body (the empty body's
// where a body-less request's body is not at hand); for ZC2 the hash of the
// body. A backend behind a Lambda authorizer checks the body it receives
// against it.
func PayloadHash(req Request, p *Parsed) (string, error) {
	if p.Scheme == SchemeZC2 {
		if !req.BodyKnown {
			return "", wrap(accesskey.ErrInvalidSignature, "the body is signed but not known here")
		}
		return sha256Hex(req.Body), nil
	}
	return sigV4PayloadHash(req, p)
}

// sigV4PayloadHash is the payload line of the canonical request.
func sigV4PayloadHash(req Request, p *Parsed) (string, error) {
	if slices.Contains(p.SignedHeaders, "x-amz-content-sha256") {
		vs := req.Header.Values("X-Amz-Content-Sha256")
		if len(vs) != 1 {
			return "", wrap(accesskey.ErrInvalidSignature, "x-amz-content-sha256 is signed but not sent once")
		}
		h := trimSpaceTab(vs[0])
		if !isLowerHexSHA256(h) {
			return "", wrap(accesskey.ErrInvalidSignature, "x-amz-content-sha256 is not a SHA-256 (UNSIGNED-PAYLOAD is refused)")
		}
		if req.BodyKnown && sha256Hex(req.Body) != h {
			return "", wrap(accesskey.ErrInvalidSignature, "body does not match x-amz-content-sha256")
		}
		return h, nil
	}
	if !req.BodyKnown {
		// Where the body is not at hand (a Lambda authorizer), a request
		// that says it has none (ContentLength 0: no Content-Length and no
		// Transfer-Encoding) signs the hash of the empty body.
		if req.ContentLength == 0 {
			return sha256Hex(nil), nil
		}
		return "", wrap(accesskey.ErrInvalidSignature, "the body is signed but not known here")
	}
	return sha256Hex(req.Body), nil
}

// canonicalHeaders is "name:value\n" for each signed header, in the order
// given: host from req.Host, content-length from req.ContentLength when it is
// not among the headers, several values joined with ",".
func canonicalHeaders(req Request, names []string, clean func(string) string) (string, error) {
	var b strings.Builder
	for _, name := range names {
		var values []string
		if name == "host" {
			host := req.Host
			if host == "" {
				host = req.Header.Get("Host")
			}
			if host == "" {
				return "", wrap(accesskey.ErrInvalidSignature, "host is signed but unknown")
			}
			values = []string{host}
		} else {
			values = req.Header.Values(name)
			if len(values) == 0 && name == "content-length" && req.ContentLength >= 0 {
				values = []string{strconv.FormatInt(req.ContentLength, 10)}
			}
			if len(values) == 0 {
				return "", wrap(accesskey.ErrInvalidSignature, "a signed header is missing")
			}
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(clean(v))
			if b.Len() > maxCanonicalHeaders {
				return "", wrap(accesskey.ErrInvalidSignature, "signed headers too long")
			}
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// trimSpaceTab trims ASCII spaces and tabs, the only white space SigV4's
// "Trimall" and HTTP's optional white space know; other bytes (a vertical
// tab, a form feed, NBSP) are part of the value as signed.
func trimSpaceTab(v string) string { return strings.Trim(v, " \t") }

// sigV4ValueTabsAsSpaces is sigV4Value after turning every tab into a space,
// as botocore and @smithy/signature-v4 sign.
func sigV4ValueTabsAsSpaces(v string) string {
	return sigV4Value(strings.ReplaceAll(v, "\t", " "))
}

// sigV4Value trims a header value and collapses its runs of spaces, as
// aws-sdk-go-v2 does (AWS's "Trimall").
func sigV4Value(v string) string {
	v = trimSpaceTab(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// canonicalQuery decodes each name and value ("+" is a space), re-encodes
// them per RFC 3986 and sorts the pairs by name then value, all encoded, as
// SigV4 specifies and aws-sdk-go-v2 and current curl do.
func canonicalQuery(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	type pair struct{ name, value string }
	var pairs []pair
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		// Go's url.ParseQuery, which signers built on net/url use, drops a
		// pair with ";" or a bad escape without signing it: refuse those.
		if strings.Contains(part, ";") {
			return "", wrap(accesskey.ErrInvalidSignature, "query has a ';'")
		}
		n, v, _ := strings.Cut(part, "=")
		name, err1 := url.QueryUnescape(n)
		value, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return "", wrap(accesskey.ErrInvalidSignature, "query has an invalid escape")
		}
		pairs = append(pairs, pair{httpbinding.EscapePath(name, true), httpbinding.EscapePath(value, true)})
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.name)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String(), nil
}

// sigV4Key derives the signing key: HMAC chain over date, region, service
// and "aws4_request", starting from "AWS4"+secret.
func sigV4Key(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, sigV4Terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func isLowerHexSHA256(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9') && !('a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
