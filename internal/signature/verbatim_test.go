package signature

import (
	"net/http"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// A signature over a path with reserved characters does not verify the same
// path with those characters escaped: the older-curl retry (path checked as
// sent) must not equate "/a;b" with "/a%3Bb", which servlet-style backends
// read as another resource. An escape of a character with no meaning in a
// path ("%20") keeps the retry.
func TestVerbatimRetryKeepsReservedEscapesApart(t *testing.T) {
	c := newCapture(t)
	signedAs := func(target string) Request {
		r := newRequest(t, c, http.MethodGet, target, nil, nil)
		sdkSign(t, r, nil, testSecret, DefaultRegion, Service, testNow)
		return c.send(t, r)
	}
	cases := []struct {
		name, signedPath, sentPath string
		want                       error
	}{
		{"as signed", "/files/report.pdf;v=1", "/files/report.pdf;v=1", nil},
		{"; and = escaped", "/files/report.pdf;v=1", "/files/report.pdf%3Bv%3D1", accesskey.ErrInvalidSignature},
		{", escaped", "/files/a,b", "/files/a%2Cb", accesskey.ErrInvalidSignature},
		{"/ escaped", "/files/a%2Fb", "/files/a%252Fb", accesskey.ErrInvalidSignature},
		{"@ escaped", "/files/a@b", "/files/a%40b", accesskey.ErrInvalidSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := signedAs(tc.signedPath)
			got.Path = tc.sentPath
			_, err := verify(testConfig(), got, testSecret)
			checkErr(t, err, tc.want)
		})
	}
	// What older curl sends and signs: the path as typed, "%20" included.
	for _, path := range []string{"/v1/keys/a%20b", "/v1/a;b"} {
		if !verbatimPathAllowed(path) {
			t.Errorf("verbatimPathAllowed(%q) = false, want true", path)
		}
	}
	for _, path := range []string{"/a%3Bb", "/a%3db", "/a%2Fb", "/a%25", "/a%2c"} {
		if verbatimPathAllowed(path) {
			t.Errorf("verbatimPathAllowed(%q) = true, want false", path)
		}
	}
}

// Precheck refuses without a secret what needs none: another region or
// service, a scope date that is not X-Amz-Date's, a timestamp outside the
// window (either way), a signature of the wrong length.
func TestPrecheck(t *testing.T) {
	good := func() *Parsed {
		return &Parsed{Scheme: SchemeSigV4, AccessKeyID: testID, Date: "20260314", Region: DefaultRegion,
			Service: Service, SignedHeaders: []string{"host", "x-amz-date"}, Signature: make([]byte, 32), Timestamp: testNow}
	}
	cases := []struct {
		name  string
		alter func(*Parsed)
		want  error
	}{
		{"good", func(*Parsed) {}, nil},
		{"other region", func(p *Parsed) { p.Region = "eu-west-1" }, accesskey.ErrInvalidSignature},
		{"other service", func(p *Parsed) { p.Service = "s3" }, accesskey.ErrInvalidSignature},
		{"scope date not X-Amz-Date's", func(p *Parsed) { p.Date = "20260313" }, accesskey.ErrInvalidSignature},
		{"6 minutes old", func(p *Parsed) {
			p.Timestamp = testNow.Add(-6 * time.Minute)
			p.Date = p.Timestamp.Format(scopeDateLayout)
		}, accesskey.ErrRequestExpired},
		{"a day ahead", func(p *Parsed) {
			p.Timestamp = testNow.AddDate(0, 0, 1)
			p.Date = p.Timestamp.Format(scopeDateLayout)
		}, accesskey.ErrRequestExpired},
		{"short signature", func(p *Parsed) { p.Signature = p.Signature[:31] }, accesskey.ErrInvalidSignature},
		{"ZC2 too old", func(p *Parsed) {
			*p = Parsed{Scheme: SchemeZC2, AccessKeyID: testID, Signature: make([]byte, 32), Timestamp: testNow.Add(-time.Hour)}
		}, accesskey.ErrRequestExpired},
		{"unknown scheme", func(p *Parsed) { p.Scheme = "Basic" }, accesskey.ErrMissingSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := good()
			tc.alter(p)
			checkErr(t, testConfig().Precheck(p), tc.want)
		})
	}
}
