package signature

import (
	"crypto/hmac"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// zc2SignedHeaders is what SignZC2 signs; a verified request may sign more.
var zc2SignedHeaders = []string{"content-type", "host"}

// SignZC2 signs r with the ZC2-HMAC-SHA256 scheme: it sets r's body to body,
// Content-Type to application/json unless already set, X-ZC-Timestamp,
// X-ZC-Signature-Method and Authorization, signing content-type and host.
// r must be a POST. Written by hand: no library knows this scheme.
func SignZC2(r *http.Request, body []byte, accessKeyID, secret string, now time.Time) error {
	if r.Method != http.MethodPost {
		return errors.New("signing: ZC2-HMAC-SHA256 signs POST requests only")
	}
	if !validAccessKeyID(accessKeyID) {
		return errors.New("signing: invalid access key id")
	}
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	if host == "" {
		return errors.New("signing: request has no host")
	}
	r.Host = host // what is sent is what is signed
	setBody(r, body)
	if r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/json")
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	req := Request{Method: http.MethodPost, Host: host, Header: r.Header, Body: body, BodyKnown: true}
	sig, err := zc2Signature(req, zc2SignedHeaders, ts, secret)
	if err != nil {
		return err
	}
	r.Header.Set("X-ZC-Timestamp", ts)
	r.Header.Set("X-ZC-Signature-Method", SchemeZC2)
	r.Header.Set("Authorization", SchemeZC2+" Credential="+accessKeyID+
		", SignedHeaders="+strings.Join(zc2SignedHeaders, ";")+
		", Signature="+hex.EncodeToString(sig))
	return nil
}

func verifyZC2(req Request, p *Parsed, secret string) error {
	if req.Method != http.MethodPost {
		return wrap(accesskey.ErrInvalidSignature, "ZC2-HMAC-SHA256 signs POST requests only")
	}
	if !req.BodyKnown {
		return wrap(accesskey.ErrInvalidSignature, "the body is signed but not known here")
	}
	if !slices.Contains(p.SignedHeaders, "content-type") || !slices.Contains(p.SignedHeaders, "host") {
		return wrap(accesskey.ErrInvalidSignature, "content-type and host must be signed")
	}
	sig, err := zc2Signature(req, p.SignedHeaders, strconv.FormatInt(p.Timestamp.Unix(), 10), secret)
	if err != nil {
		return err
	}
	if !hmac.Equal(sig, p.Signature) {
		return wrap(accesskey.ErrInvalidSignature, "signature does not match")
	}
	return nil
}

// zc2Signature is HMAC-SHA256(secret, StringToSign) (see the package doc).
func zc2Signature(req Request, signed []string, timestamp, secret string) ([]byte, error) {
	canonical, err := zc2CanonicalRequest(req, signed)
	if err != nil {
		return nil, err
	}
	return hmacSHA256([]byte(secret), zc2StringToSign(canonical, timestamp)), nil
}

// zc2CanonicalRequest: the canonical URI is "/" and the query empty whatever
// the request's, since the scheme does not sign them.
func zc2CanonicalRequest(req Request, signed []string) (string, error) {
	headers, err := canonicalHeaders(req, signed, trimSpaceTab)
	if err != nil {
		return "", err
	}
	return "POST\n/\n\n" + headers + "\n" + strings.Join(signed, ";") + "\n" + sha256Hex(req.Body), nil
}

func zc2StringToSign(canonical, timestamp string) string {
	return SchemeZC2 + "\n" + timestamp + "\n" + sha256Hex([]byte(canonical))
}
