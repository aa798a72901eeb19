package signature

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Bounds on what Parse and Verify accept, so that hostile input costs little.
const (
	maxAuthorizationLen = 2048
	maxSignedHeaders    = 32
	maxHeaderNameLen    = 64
	maxAccessKeyIDLen   = 128
	maxScopePartLen     = 64
	maxZC2TimestampLen  = 12 // Unix seconds: 10 digits until the year 2286
	maxPathLen          = 4 << 10
	maxQueryLen         = 4 << 10
	maxCanonicalHeaders = 64 << 10
)

const (
	amzDateLayout   = "20060102T150405Z"
	scopeDateLayout = "20060102"
	sigV4Terminator = "aws4_request"
)

// Parsed is a parsed Authorization header (with its timestamp), before the
// secret is known.
type Parsed struct {
	Scheme      string // SchemeSigV4 or SchemeZC2
	AccessKeyID string
	// Date, Region and Service are the SigV4 credential scope's (yyyymmdd);
	// empty for ZC2.
	Date    string
	Region  string
	Service string
	// SignedHeaders are the lower-case header names the client signed, in
	// the (ascending) order it listed them.
	SignedHeaders []string
	Signature     []byte // 32 bytes
	// Timestamp is X-Amz-Date (SigV4) or X-ZC-Timestamp (ZC2), in UTC.
	Timestamp time.Time
}

// Parse reads req's Authorization header and, for SigV4, X-Amz-Date, for
// ZC2, X-ZC-Timestamp and X-ZC-Signature-Method. It checks their form only;
// Config.Verify checks their meaning. Errors wrap accesskey.ErrMissingSignature (no
// Authorization header, or another scheme) or errMalformed. It never panics.
func Parse(req Request) (*Parsed, error) {
	values := req.Header.Values("Authorization")
	if len(values) == 0 {
		return nil, wrap(accesskey.ErrMissingSignature, "no Authorization header")
	}
	if len(values) > 1 {
		return nil, wrap(errMalformed, "more than one Authorization header")
	}
	v := strings.Trim(values[0], " \t")
	if v == "" {
		return nil, wrap(accesskey.ErrMissingSignature, "empty Authorization header")
	}
	scheme, params, _ := strings.Cut(v, " ")
	if scheme != SchemeSigV4 && scheme != SchemeZC2 {
		return nil, wrap(accesskey.ErrMissingSignature, "Authorization is not of a supported scheme")
	}
	if len(values[0]) > maxAuthorizationLen {
		return nil, wrap(errMalformed, "Authorization header too long")
	}
	cred, signed, sig, err := parseParams(params)
	if err != nil {
		return nil, err
	}
	p := &Parsed{Scheme: scheme}
	if p.SignedHeaders, err = parseSignedHeaders(signed); err != nil {
		return nil, err
	}
	if p.Signature, err = parseSignature(sig); err != nil {
		return nil, err
	}
	if scheme == SchemeSigV4 {
		err = parseSigV4(req, p, cred)
	} else {
		err = parseZC2(req, p, cred)
	}
	if err != nil {
		return nil, err
	}
	return p, nil
}

// parseParams splits "Credential=..., SignedHeaders=..., Signature=..." (in
// any order, each once, nothing else).
func parseParams(s string) (credential, signedHeaders, signature string, err error) {
	const (
		haveCredential = 1 << iota
		haveSignedHeaders
		haveSignature
		haveAll = haveCredential | haveSignedHeaders | haveSignature
	)
	seen := 0
	for part := range strings.SplitSeq(s, ",") {
		name, value, ok := strings.Cut(strings.Trim(part, " \t"), "=")
		if !ok {
			return "", "", "", wrap(errMalformed, "Authorization parameter without '='")
		}
		var bit int
		switch name {
		case "Credential":
			bit, credential = haveCredential, value
		case "SignedHeaders":
			bit, signedHeaders = haveSignedHeaders, value
		case "Signature":
			bit, signature = haveSignature, value
		default:
			return "", "", "", wrap(errMalformed, "unknown Authorization parameter")
		}
		if seen&bit != 0 {
			return "", "", "", wrap(errMalformed, "repeated Authorization parameter")
		}
		seen |= bit
	}
	if seen != haveAll {
		return "", "", "", wrap(errMalformed, "Authorization needs Credential, SignedHeaders and Signature")
	}
	return credential, signedHeaders, signature, nil
}

// parseSignedHeaders reads "a;b;c": lower-case header names, strictly
// ascending (so sorted and without repeats, as SigV4 requires).
func parseSignedHeaders(s string) ([]string, error) {
	if s == "" {
		return nil, wrap(errMalformed, "empty SignedHeaders")
	}
	if strings.Count(s, ";") >= maxSignedHeaders {
		return nil, wrap(errMalformed, "too many SignedHeaders")
	}
	names := strings.Split(s, ";")
	for i, n := range names {
		if !validHeaderName(n) {
			return nil, wrap(errMalformed, "invalid name in SignedHeaders")
		}
		if i > 0 && names[i-1] >= n {
			return nil, wrap(errMalformed, "SignedHeaders not sorted or repeated")
		}
	}
	return names, nil
}

// validHeaderName: a lower-case HTTP token (RFC 9110 tchar without A-Z).
func validHeaderName(n string) bool {
	if n == "" || len(n) > maxHeaderNameLen {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

func parseSignature(s string) ([]byte, error) {
	if len(s) != 2*32 {
		return nil, wrap(errMalformed, "Signature is not 64 hex digits")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, wrap(errMalformed, "Signature is not 64 hex digits")
	}
	return b, nil
}

func validAccessKeyID(id string) bool {
	if id == "" || len(id) > maxAccessKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// validScopePart: a region or a service name, [a-z0-9-]{1,64}.
func validScopePart(s string) bool {
	if s == "" || len(s) > maxScopePartLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z') && !('0' <= c && c <= '9') && c != '-' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// parseSigV4 reads Credential=<id>/<yyyymmdd>/<region>/<service>/aws4_request
// and X-Amz-Date.
func parseSigV4(req Request, p *Parsed, credential string) error {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[4] != sigV4Terminator {
		return wrap(errMalformed, "Credential is not <id>/<date>/<region>/<service>/aws4_request")
	}
	if !validAccessKeyID(parts[0]) {
		return wrap(errMalformed, "invalid access key id")
	}
	if _, ok := parseStrict(scopeDateLayout, parts[1]); !ok {
		return wrap(errMalformed, "invalid date in Credential")
	}
	if !validScopePart(parts[2]) || !validScopePart(parts[3]) {
		return wrap(errMalformed, "invalid region or service in Credential")
	}
	p.AccessKeyID, p.Date, p.Region, p.Service = parts[0], parts[1], parts[2], parts[3]

	date, err := single(req, "X-Amz-Date")
	if err != nil {
		return err
	}
	t, ok := parseStrict(amzDateLayout, date)
	if !ok {
		return wrap(errMalformed, "X-Amz-Date is not yyyymmddThhmmssZ")
	}
	p.Timestamp = t
	return nil
}

// parseZC2 reads Credential=<id>, X-ZC-Timestamp and X-ZC-Signature-Method.
func parseZC2(req Request, p *Parsed, credential string) error {
	if !validAccessKeyID(credential) {
		return wrap(errMalformed, "invalid access key id")
	}
	p.AccessKeyID = credential
	method, err := single(req, "X-ZC-Signature-Method")
	if err != nil {
		return err
	}
	if method != SchemeZC2 {
		return wrap(errMalformed, "X-ZC-Signature-Method is not "+SchemeZC2)
	}
	ts, err := single(req, "X-ZC-Timestamp")
	if err != nil {
		return err
	}
	if ts == "" || len(ts) > maxZC2TimestampLen || strings.Trim(ts, "0123456789") != "" {
		return wrap(errMalformed, "X-ZC-Timestamp is not Unix seconds")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || strconv.FormatInt(sec, 10) != ts {
		return wrap(errMalformed, "X-ZC-Timestamp is not Unix seconds")
	}
	p.Timestamp = time.Unix(sec, 0).UTC()
	return nil
}

// single returns the one value of a header, trimmed.
func single(req Request, name string) (string, error) {
	vs := req.Header.Values(name)
	switch {
	case len(vs) == 0:
		return "", wrap(errMalformed, "no "+name+" header")
	case len(vs) > 1:
		return "", wrap(errMalformed, "more than one "+name+" header")
	}
	return strings.Trim(vs[0], " \t"), nil
}

// parseStrict parses s with layout and insists that s is exactly how the
// result formats, so that one instant has one spelling.
func parseStrict(layout, s string) (time.Time, bool) {
	if len(s) != len(layout) {
		return time.Time{}, false
	}
	t, err := time.Parse(layout, s)
	// Year 1 parses, but is time.Time's zero value: no real request is
	// signed then, and the zero value means "no timestamp" to callers.
	if err != nil || t.Format(layout) != s || t.IsZero() {
		return time.Time{}, false
	}
	return t.UTC(), true
}
