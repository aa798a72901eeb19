package signature

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// sdkSign signs r as a Go client using aws-sdk-go-v2 directly does (not
// through SignSigV4): v4.Signer.SignHTTP with the body's SHA-256, and no
// X-Amz-Content-Sha256 header unless r already has one, whose value is then
// the payload hash.
func sdkSign(t *testing.T, r *http.Request, body []byte, secret, region, service string, at time.Time) {
	t.Helper()
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		sum := sha256.Sum256(body)
		payload = hex.EncodeToString(sum[:])
	}
	creds := aws.Credentials{AccessKeyID: testID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, payload, service, region, at); err != nil {
		t.Fatalf("SignHTTP: %v", err)
	}
}

func newRequest(t *testing.T, c *capture, method, target string, body []byte, header http.Header) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	r, err := http.NewRequest(method, c.srv.URL+target, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	return r
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestSigV4SignedByTheSDKIsAccepted(t *testing.T) {
	c := newCapture(t)
	json := http.Header{"Content-Type": {"application/json"}}
	cases := []struct {
		name, method, target, body string
		header                     http.Header
	}{
		{"GET root", http.MethodGet, "/", "", nil},
		{"GET with an unsorted query, repeats, a valueless name and escapes", http.MethodGet,
			"/v1/keys?q=hello+world&b=2&a=1&a=0&empty&r=%2F&s=a/b&t=~x&u=%E2%82%AC&v=a%2Bb", "", nil},
		{"POST with a JSON body (content-length signed)", http.MethodPost, "/v1/whoami", `{"action":"whoami"}`, json},
		{"path with a space", http.MethodGet, "/v1/keys/a b/x", "", nil},
		{"path with unicode", http.MethodGet, "/v1/members/é/keys", "", nil},
		{"path with an encoded slash", http.MethodGet, "/v1/keys/a%2Fb", "", nil},
		{"path already escaped, lower-case hex", http.MethodGet, "/v1/keys/a%20b%7e/%c3%a9", "", nil},
		{"path with sub-delimiters", http.MethodGet, "/v1/a:b@c!$'()*+,;=", "", nil},
		{"path with dot segments and a double slash", http.MethodGet, "/v1/./x/../y//z", "", nil},
		{"headers with runs of spaces and two values", http.MethodGet, "/v1/keys", "",
			http.Header{"X-Custom": {"  a   b  ", "c"}, "X-Amz-Meta-Team": {"t1"}}},
		{"PUT with a signed x-amz-content-sha256", http.MethodPut, "/v1/keys/k", `{"status":"Inactive"}`,
			http.Header{"Content-Type": {"application/json"}, "X-Amz-Content-Sha256": {hexSHA256(`{"status":"Inactive"}`)}}},
		{"DELETE without a body", http.MethodDelete, "/v1/keys/k", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			r := newRequest(t, c, tc.method, tc.target, body, tc.header)
			sdkSign(t, r, body, testSecret, DefaultRegion, Service, testNow)
			got := c.send(t, r)
			p, err := verify(testConfig(), got, testSecret)
			checkErr(t, err, nil)
			if p.Scheme != SchemeSigV4 || p.AccessKeyID != testID || p.Region != DefaultRegion || p.Service != Service || !p.Timestamp.Equal(testNow) {
				t.Errorf("parsed %+v", p)
			}
		})
	}
}

func TestSigV4AlteredIsRefused(t *testing.T) {
	c := newCapture(t)
	signed := func(method, target, body string, header http.Header) Request {
		r := newRequest(t, c, method, target, []byte(body), header)
		sdkSign(t, r, []byte(body), testSecret, DefaultRegion, Service, testNow)
		return c.send(t, r)
	}
	get := signed(http.MethodGet, "/v1/keys/a%20b?status=Active&limit=10", "", http.Header{"X-Custom": {"v1"}})
	post := signed(http.MethodPost, "/v1/whoami", `{"action":"whoami"}`, http.Header{"Content-Type": {"application/json"}})
	withHash := signed(http.MethodPost, "/v1/whoami", `{"a":1}`,
		http.Header{"Content-Type": {"application/json"}, "X-Amz-Content-Sha256": {hexSHA256(`{"a":1}`)}})

	cases := []struct {
		name   string
		base   Request
		alter  func(r *Request, cfg *Config)
		secret string
		want   error
	}{
		{"unaltered GET", get, func(*Request, *Config) {}, testSecret, nil},
		{"unaltered POST", post, func(*Request, *Config) {}, testSecret, nil},
		{"query reordered (SigV4 signs no order)", get, func(r *Request, _ *Config) { r.RawQuery = "limit=10&status=Active" }, testSecret, nil},
		{"content-length header gone, length known", post, func(r *Request, _ *Config) { r.Header.Del("Content-Length") }, testSecret, nil},
		{"body unknown, its hash signed in a header", withHash, func(r *Request, _ *Config) { r.BodyKnown, r.Body = false, nil }, testSecret, nil},

		{"wrong secret", post, func(*Request, *Config) {}, otherSecret, accesskey.ErrInvalidSignature},
		{"body altered", post, func(r *Request, _ *Config) { r.Body = []byte(`{"action":"whoamI"}`) }, testSecret, accesskey.ErrInvalidSignature},
		{"body altered, its hash in a header", withHash, func(r *Request, _ *Config) { r.Body = []byte(`{"a":2}`) }, testSecret, accesskey.ErrInvalidSignature},
		{"body unknown", post, func(r *Request, _ *Config) { r.BodyKnown, r.Body = false, nil }, testSecret, accesskey.ErrInvalidSignature},
		{"content-length header gone, length unknown", post, func(r *Request, _ *Config) {
			r.Header.Del("Content-Length")
			r.ContentLength = -1
		}, testSecret, accesskey.ErrInvalidSignature},
		{"method altered", get, func(r *Request, _ *Config) { r.Method = http.MethodDelete }, testSecret, accesskey.ErrInvalidSignature},
		{"path altered", get, func(r *Request, _ *Config) { r.Path = "/v1/keys/a%20c" }, testSecret, accesskey.ErrInvalidSignature},
		{"path decoded", get, func(r *Request, _ *Config) { r.Path = "/v1/keys/a b" }, testSecret, accesskey.ErrInvalidSignature},
		{"path set to its canonical form", get, func(r *Request, _ *Config) { r.Path = httpbinding.EscapePath(r.Path, false) }, testSecret, accesskey.ErrInvalidSignature},
		{"query value altered", get, func(r *Request, _ *Config) { r.RawQuery = "status=Active&limit=11" }, testSecret, accesskey.ErrInvalidSignature},
		{"query parameter added", get, func(r *Request, _ *Config) { r.RawQuery += "&teamId=t2" }, testSecret, accesskey.ErrInvalidSignature},
		{"query parameter dropped", get, func(r *Request, _ *Config) { r.RawQuery = "status=Active" }, testSecret, accesskey.ErrInvalidSignature},
		{"query parameter smuggled after ';'", get, func(r *Request, _ *Config) { r.RawQuery += "&x=1;y=2" }, testSecret, accesskey.ErrInvalidSignature},
		{"query with a bad escape", get, func(r *Request, _ *Config) { r.RawQuery += "&x=%zz" }, testSecret, accesskey.ErrInvalidSignature},
		{"signed header altered", get, func(r *Request, _ *Config) { r.Header.Set("X-Custom", "v2") }, testSecret, accesskey.ErrInvalidSignature},
		{"signed header repeated", get, func(r *Request, _ *Config) { r.Header.Add("X-Custom", "v1") }, testSecret, accesskey.ErrInvalidSignature},
		{"signed header removed", get, func(r *Request, _ *Config) { r.Header.Del("X-Custom") }, testSecret, accesskey.ErrInvalidSignature},
		{"content-type altered", post, func(r *Request, _ *Config) { r.Header.Set("Content-Type", "text/plain") }, testSecret, accesskey.ErrInvalidSignature},
		{"host altered", get, func(r *Request, _ *Config) { r.Host = "teamkeys.example" }, testSecret, accesskey.ErrInvalidSignature},
		{"X-Amz-Date one second later", get, func(r *Request, _ *Config) {
			r.Header.Set("X-Amz-Date", testNow.Add(time.Second).Format(amzDateLayout))
		}, testSecret, accesskey.ErrInvalidSignature},
		{"X-Amz-Date on another day than the scope", get, func(r *Request, cfg *Config) {
			r.Header.Set("X-Amz-Date", testNow.AddDate(0, 0, 1).Format(amzDateLayout))
			cfg.Now = func() time.Time { return testNow.AddDate(0, 0, 1) }
		}, testSecret, accesskey.ErrInvalidSignature},
		{"service expects another region", get, func(_ *Request, cfg *Config) { cfg.Region = "eu-west-1" }, testSecret, accesskey.ErrInvalidSignature},
		{"no Authorization", get, func(r *Request, _ *Config) { r.Header.Del("Authorization") }, testSecret, accesskey.ErrMissingSignature},
		{"Basic authorization", get, func(r *Request, _ *Config) { r.Header.Set("Authorization", "Basic dXNlcjpwYXNz") }, testSecret, accesskey.ErrMissingSignature},
		{"signature truncated", get, func(r *Request, _ *Config) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-1])
		}, testSecret, errMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, cfg := tc.base.clone(), testConfig()
			tc.alter(&req, &cfg)
			_, err := verify(cfg, req, tc.secret)
			checkErr(t, err, tc.want)
		})
	}
}

// Requests the SDK signs differently from what the service accepts.
func TestSigV4SignedOtherwiseIsRefused(t *testing.T) {
	c := newCapture(t)
	cases := []struct {
		name            string
		target          string
		region, service string
		at              time.Time
		header          http.Header
		want            error
	}{
		{"5 minutes old", "/v1/keys", DefaultRegion, Service, testNow.Add(-5 * time.Minute), nil, nil},
		{"5 minutes ahead", "/v1/keys", DefaultRegion, Service, testNow.Add(5 * time.Minute), nil, nil},
		{"5 minutes and a second old", "/v1/keys", DefaultRegion, Service, testNow.Add(-5*time.Minute - time.Second), nil, accesskey.ErrRequestExpired},
		{"5 minutes and a second ahead", "/v1/keys", DefaultRegion, Service, testNow.Add(5*time.Minute + time.Second), nil, accesskey.ErrRequestExpired},
		{"a day old", "/v1/keys", DefaultRegion, Service, testNow.AddDate(0, 0, -1), nil, accesskey.ErrRequestExpired},
		{"another region", "/v1/keys", "eu-west-1", Service, testNow, nil, accesskey.ErrInvalidSignature},
		{"another service", "/v1/keys", DefaultRegion, "execute-api", testNow, nil, accesskey.ErrInvalidSignature},
		{"UNSIGNED-PAYLOAD", "/v1/keys", DefaultRegion, Service, testNow,
			http.Header{"X-Amz-Content-Sha256": {"UNSIGNED-PAYLOAD"}}, accesskey.ErrInvalidSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRequest(t, c, http.MethodGet, tc.target, nil, tc.header)
			sdkSign(t, r, nil, testSecret, tc.region, tc.service, tc.at)
			_, err := verify(testConfig(), c.send(t, r), testSecret)
			checkErr(t, err, tc.want)
		})
	}
}

func TestSignSigV4(t *testing.T) {
	c := newCapture(t)
	body := []byte(`{"action":"whoami"}`)
	r, err := http.NewRequest(http.MethodPost, c.srv.URL+"/v1/whoami?x=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	if err := SignSigV4(r, body, testID, testSecret, "", testNow); err != nil {
		t.Fatal(err)
	}
	got := c.send(t, r)
	if string(got.Body) != string(body) {
		t.Fatalf("server got body %q", got.Body)
	}
	p, err := verify(testConfig(), got, testSecret)
	checkErr(t, err, nil)
	for _, h := range []string{"content-length", "content-type", "host", "x-amz-content-sha256", "x-amz-date"} {
		if !strings.Contains(";"+strings.Join(p.SignedHeaders, ";")+";", ";"+h+";") {
			t.Errorf("%s not signed: %v", h, p.SignedHeaders)
		}
	}
	// A Lambda authorizer, which has no body, accepts it on the signed hash.
	noBody := got.clone()
	noBody.Body, noBody.BodyKnown = nil, false
	_, err = verify(testConfig(), noBody, testSecret)
	checkErr(t, err, nil)
}

// refSigV4 signs a canonical request written out by hand, with nothing of
// the package: for requests the SDK cannot produce.
func refSigV4(secret, amzDate, region, service, canonical string) string {
	mac := func(k []byte, s string) []byte {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	date := amzDate[:8]
	k := mac([]byte("AWS4"+secret), date)
	k = mac(k, region)
	k = mac(k, service)
	k = mac(k, "aws4_request")
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + date + "/" + region + "/" + service + "/aws4_request\n" + hexSHA256(canonical)
	return hex.EncodeToString(mac(k, toSign))
}

func TestSigV4HandWritten(t *testing.T) {
	amzDate := testNow.Format(amzDateLayout)
	emptyHash := hexSHA256("")
	cases := []struct {
		name          string
		path, query   string
		signedHeaders string
		canonical     string // what the client signed
		want          error
	}{
		// curl 7.75–7.88 (issues #8107, #9717) sign the path and query as sent.
		{"curl 7.88: escaped path and unsorted query, verbatim", "/v1/keys/a%20b", "b=2&a=1&flag", "host;x-amz-date",
			"GET\n/v1/keys/a%20b\nb=2&a=1&flag\nhost:h.example\nx-amz-date:" + amzDate + "\n\nhost;x-amz-date\n" + emptyHash, nil},
		{"curl 7.88: lower-case escapes, verbatim", "/v1/members/%c3%a9", "", "host;x-amz-date",
			"GET\n/v1/members/%c3%a9\n\nhost:h.example\nx-amz-date:" + amzDate + "\n\nhost;x-amz-date\n" + emptyHash, nil},
		{"verbatim path with %25 is not tried", "/v1/keys/a%2520b", "", "host;x-amz-date",
			"GET\n/v1/keys/a%2520b\n\nhost:h.example\nx-amz-date:" + amzDate + "\n\nhost;x-amz-date\n" + emptyHash, accesskey.ErrInvalidSignature},
		{"canonical form of the same", "/v1/keys/a%2520b", "", "host;x-amz-date",
			"GET\n/v1/keys/a%252520b\n\nhost:h.example\nx-amz-date:" + amzDate + "\n\nhost;x-amz-date\n" + emptyHash, nil},
		{"x-amz-date not signed", "/v1/keys", "", "host",
			"GET\n/v1/keys\n\nhost:h.example\n\nhost\n" + emptyHash, accesskey.ErrInvalidSignature},
		{"host not signed", "/v1/keys", "", "x-amz-date",
			"GET\n/v1/keys\n\nx-amz-date:" + amzDate + "\n\nx-amz-date\n" + emptyHash, accesskey.ErrInvalidSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sig := refSigV4(testSecret, amzDate, DefaultRegion, Service, tc.canonical)
			req := Request{
				Method: http.MethodGet, Path: tc.path, RawQuery: tc.query, Host: "h.example",
				Header: http.Header{
					"X-Amz-Date":    {amzDate},
					"Authorization": {"AWS4-HMAC-SHA256 Credential=" + testID + "/" + amzDate[:8] + "/us-east-1/teamkeys/aws4_request, SignedHeaders=" + tc.signedHeaders + ", Signature=" + sig},
				},
				ContentLength: 0, BodyKnown: true,
			}
			_, err := verify(testConfig(), req, testSecret)
			checkErr(t, err, tc.want)
		})
	}
}

// The get-vanilla case of AWS's SigV4 test suite.
func TestSigV4AWSTestSuiteGetVanilla(t *testing.T) {
	req := Request{
		Method: http.MethodGet, Path: "/", Host: "example.amazonaws.com",
		Header: http.Header{
			"X-Amz-Date":    {"20150830T123600Z"},
			"Authorization": {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		},
		ContentLength: -1, BodyKnown: true,
	}
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	cfg := Config{Region: "us-east-1", Service: "service", Now: func() time.Time { return at }}
	_, err := verify(cfg, req, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	checkErr(t, err, nil)
}

func TestFromHTTPClientRequest(t *testing.T) {
	r, err := http.NewRequest(http.MethodGet, "https://h.example/v1/keys/a%2Fb?x=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := FromHTTP(r, nil)
	if got.Path != "/v1/keys/a%2Fb" || got.RawQuery != "x=1" || got.Host != "h.example" || !got.BodyKnown {
		t.Fatalf("%+v", got)
	}
}
