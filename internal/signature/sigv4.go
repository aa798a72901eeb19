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
	if p.Service != c.service() {
		return wrap(accesskey.ErrInvalidSignature, "credential scope names another service")
	}
	if p.Region != c.region() {
		return wrap(accesskey.ErrInvalidSignature, "credential scope names another region")
	}
	amzDate := p.Timestamp.UTC().Format(amzDateLayout)
	if p.Date != amzDate[:len(scopeDateLayout)] {
		return wrap(accesskey.ErrInvalidSignature, "credential scope date is not X-Amz-Date's date")
	}
	if len(p.Signature) != sha256.Size {
		return wrap(accesskey.ErrInvalidSignature, "signature has the wrong length")
	}
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
	matches := func(uri, query string) bool {
		canonical := strings.Join([]string{req.Method, uri, query, headers, signedHeaders, payloadHash}, "\n")
		toSign := SchemeSigV4 + "\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
		return hmac.Equal(hmacSHA256(key, toSign), p.Signature)
	}

	// The SDK's own path escaping, so that the verifier and aws-sdk-go-v2
	// agree byte for byte.
	uri := httpbinding.EscapePath(path, false)
	if matches(uri, query) {
		return nil
	}
	// Older curl signs the path and query as sent (see the package doc).
	if (uri != path || query != req.RawQuery) && !strings.Contains(path, "%25") && matches(path, req.RawQuery) {
		return nil
	}
	return wrap(accesskey.ErrInvalidSignature, "signature does not match")
}

// sigV4PayloadHash is the payload line of the canonical request.
func sigV4PayloadHash(req Request, p *Parsed) (string, error) {
	if slices.Contains(p.SignedHeaders, "x-amz-content-sha256") {
		vs := req.Header.Values("X-Amz-Content-Sha256")
		if len(vs) != 1 {
			return "", wrap(accesskey.ErrInvalidSignature, "x-amz-content-sha256 is signed but not sent once")
		}
		h := strings.TrimSpace(vs[0])
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

// sigV4Value trims a header value and collapses its runs of spaces, as
// aws-sdk-go-v2 does (AWS's "Trimall").
func sigV4Value(v string) string {
	v = strings.TrimSpace(v)
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
