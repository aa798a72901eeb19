package signature

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// zc2Vectors were worked out independently of this package, with Python's
// standard library:
//
//	import hashlib, hmac
//	def zc2(secret, ts, headers, body):
//	    names = sorted(headers)
//	    canon = "POST\n/\n\n" + "".join(f"{n}:{headers[n].strip()}\n" for n in names) \
//	        + "\n" + ";".join(names) + "\n" + hashlib.sha256(body).hexdigest()
//	    sts = f"ZC2-HMAC-SHA256\n{ts}\n" + hashlib.sha256(canon.encode()).hexdigest()
//	    return canon, sts, hmac.new(secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
//	print(zc2("Yx6Jt0bU4m3Hq9L2cV8pWn1sRk5ZaDfEgTiOuPyB7Mw", "1773500966",
//	          {"content-type": "application/json", "host": "api.teamkeys.example"},
//	          b'{"action":"whoami"}'))
var zc2Vectors = []struct {
	name          string
	secret        string
	timestamp     string
	header        http.Header // besides X-ZC-*
	host          string
	body          string
	signedHeaders []string
	canonical     string
	stringToSign  string
	signature     string
}{
	{
		name:          "JSON body",
		secret:        "Yx6Jt0bU4m3Hq9L2cV8pWn1sRk5ZaDfEgTiOuPyB7Mw",
		timestamp:     "1773500966",
		header:        http.Header{"Content-Type": {"application/json"}},
		host:          "api.teamkeys.example",
		body:          `{"action":"whoami"}`,
		signedHeaders: []string{"content-type", "host"},
		canonical:     "POST\n/\n\ncontent-type:application/json\nhost:api.teamkeys.example\n\ncontent-type;host\nd680f2a25ce70a7b00166b1e86dd739a1d4681d674e101396ac45e1d8ed6327b",
		stringToSign:  "ZC2-HMAC-SHA256\n1773500966\n03c7b9030099b758c45580c649d7c77e8fd9c5e216fee4fb63bc1e9c8157069c",
		signature:     "18583f50aecf78e63b1dd664edbea2d9ddfa54898cc1095902c15fc2f34edc45",
	},
	{
		name:          "empty body, value trimmed, host with a port",
		secret:        "Yx6Jt0bU4m3Hq9L2cV8pWn1sRk5ZaDfEgTiOuPyB7Mw",
		timestamp:     "1773501000",
		header:        http.Header{"Content-Type": {"  application/json; charset=utf-8 "}},
		host:          "127.0.0.1:8080",
		body:          "",
		signedHeaders: []string{"content-type", "host"},
		canonical:     "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:127.0.0.1:8080\n\ncontent-type;host\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		stringToSign:  "ZC2-HMAC-SHA256\n1773501000\n56523badb7b8800f5e39a07e6b24df8e26e988487d334e3f4c8bd5703971151e",
		signature:     "1af176830969e4dc01e7f14e1fe32b4504c0c018fc68bfd2bfeafdd0b67e50db",
	},
	{
		name:          "a third signed header, UTF-8 body",
		secret:        "q-_Q2w3E4r5T6y7U8i9O0pAsDfGhJkLzXcVbNm12345",
		timestamp:     "1700000000",
		header:        http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"req-42"}},
		host:          "abc123.execute-api.eu-west-1.amazonaws.com",
		body:          "{\"teamId\":\"t1\",\"memberId\":\"mé\"}\n",
		signedHeaders: []string{"content-type", "host", "x-request-id"},
		canonical:     "POST\n/\n\ncontent-type:application/json\nhost:abc123.execute-api.eu-west-1.amazonaws.com\nx-request-id:req-42\n\ncontent-type;host;x-request-id\n60f18a37925a9d0449781db7b51cecc9e594d095a420a16f915cb3dbe7e9989a",
		stringToSign:  "ZC2-HMAC-SHA256\n1700000000\n025c16206a34c4cf0c8c1b460333f71a0e9a294abc03fe48eaaa3daca43589af",
		signature:     "b4550d81f62b2ea6878abca7174f7c492f4b7c8f5432c649540fa54cba823af6",
	},
}

func zc2VectorRequest(i int) (Request, Config) {
	v := zc2Vectors[i]
	h := v.header.Clone()
	h.Set("X-ZC-Timestamp", v.timestamp)
	h.Set("X-ZC-Signature-Method", SchemeZC2)
	h.Set("Authorization", "ZC2-HMAC-SHA256 Credential="+testID+", SignedHeaders="+strings.Join(v.signedHeaders, ";")+", Signature="+v.signature)
	req := Request{Method: http.MethodPost, Path: "/v1/whoami", Host: v.host, Header: h,
		ContentLength: int64(len(v.body)), Body: []byte(v.body), BodyKnown: true}
	sec, _ := strconv.ParseInt(v.timestamp, 10, 64)
	now := time.Unix(sec, 0)
	return req, Config{Now: func() time.Time { return now }}
}

func TestZC2Vectors(t *testing.T) {
	for i, v := range zc2Vectors {
		t.Run(v.name, func(t *testing.T) {
			req, cfg := zc2VectorRequest(i)
			canonical, err := zc2CanonicalRequest(req, v.signedHeaders)
			if err != nil {
				t.Fatal(err)
			}
			if canonical != v.canonical {
				t.Errorf("canonical request\n got %q\nwant %q", canonical, v.canonical)
			}
			if sts := zc2StringToSign(canonical, v.timestamp); sts != v.stringToSign {
				t.Errorf("string to sign\n got %q\nwant %q", sts, v.stringToSign)
			}
			p, err := verify(cfg, req, v.secret)
			checkErr(t, err, nil)
			if p.Scheme != SchemeZC2 || p.AccessKeyID != testID || p.Timestamp.Unix() != cfg.Now().Unix() {
				t.Errorf("parsed %+v", p)
			}
		})
	}
}

// SignZC2 produces the vectors' signatures (for the vectors that sign what
// it signs: content-type and host).
func TestSignZC2(t *testing.T) {
	for i, v := range zc2Vectors[:2] {
		t.Run(v.name, func(t *testing.T) {
			want, cfg := zc2VectorRequest(i)
			r, err := http.NewRequest(http.MethodPost, "https://"+v.host+"/v1/whoami", nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, vs := range v.header {
				r.Header[k] = vs
			}
			if err := SignZC2(r, []byte(v.body), testID, v.secret, cfg.Now()); err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"Authorization", "X-ZC-Timestamp", "X-ZC-Signature-Method"} {
				if got := r.Header.Get(h); got != want.Header.Get(h) {
					t.Errorf("%s = %q, want %q", h, got, want.Header.Get(h))
				}
			}
			_, err = verify(cfg, FromHTTP(r, []byte(v.body)), v.secret)
			checkErr(t, err, nil)
		})
	}
}

func TestSignZC2SendsWhatItSigns(t *testing.T) {
	c := newCapture(t)
	r, err := http.NewRequest(http.MethodPost, c.srv.URL+"/v1/whoami", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := SignZC2(r, []byte(`{"action":"whoami"}`), testID, testSecret, testNow); err != nil {
		t.Fatal(err)
	}
	got := c.send(t, r)
	if ct := got.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	_, err = verify(testConfig(), got, testSecret)
	checkErr(t, err, nil)

	get, _ := http.NewRequest(http.MethodGet, c.srv.URL+"/v1/whoami", nil)
	if SignZC2(get, nil, testID, testSecret, testNow) == nil {
		t.Error("SignZC2 signed a GET")
	}
}

func TestZC2AlteredIsRefused(t *testing.T) {
	base, baseCfg := zc2VectorRequest(0)
	secret := zc2Vectors[0].secret
	cases := []struct {
		name   string
		alter  func(r *Request, cfg *Config)
		secret string
		want   error
	}{
		{"unaltered", func(*Request, *Config) {}, secret, nil},
		// The known weakness: the path and the query are not signed.
		{"path and query altered (not signed by the scheme)", func(r *Request, _ *Config) {
			r.Path, r.RawQuery = "/v1/keys", "teamId=t2"
		}, secret, nil},
		{"4:59 later", func(_ *Request, cfg *Config) {
			now := cfg.Now().Add(5*time.Minute - time.Second)
			cfg.Now = func() time.Time { return now }
		}, secret, nil},

		{"wrong secret", func(*Request, *Config) {}, testSecret, accesskey.ErrInvalidSignature},
		{"body altered", func(r *Request, _ *Config) { r.Body = []byte(`{"action":"whoamI"}`) }, secret, accesskey.ErrInvalidSignature},
		{"body unknown", func(r *Request, _ *Config) { r.Body, r.BodyKnown = nil, false }, secret, accesskey.ErrInvalidSignature},
		{"host altered", func(r *Request, _ *Config) { r.Host = "api.teamkeys.example:443" }, secret, accesskey.ErrInvalidSignature},
		{"content-type altered", func(r *Request, _ *Config) { r.Header.Set("Content-Type", "text/plain") }, secret, accesskey.ErrInvalidSignature},
		{"timestamp one second later", func(r *Request, _ *Config) { r.Header.Set("X-ZC-Timestamp", "1773500967") }, secret, accesskey.ErrInvalidSignature},
		{"method GET", func(r *Request, _ *Config) { r.Method = http.MethodGet }, secret, accesskey.ErrInvalidSignature},
		{"host not signed", func(r *Request, _ *Config) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "content-type;host", "content-type", 1))
		}, secret, accesskey.ErrInvalidSignature},
		{"5:01 later", func(_ *Request, cfg *Config) {
			now := cfg.Now().Add(5*time.Minute + time.Second)
			cfg.Now = func() time.Time { return now }
		}, secret, accesskey.ErrRequestExpired},
		{"5:01 earlier", func(_ *Request, cfg *Config) {
			now := cfg.Now().Add(-5*time.Minute - time.Second)
			cfg.Now = func() time.Time { return now }
		}, secret, accesskey.ErrRequestExpired},
		{"no X-ZC-Signature-Method", func(r *Request, _ *Config) { r.Header.Del("X-ZC-Signature-Method") }, secret, errMalformed},
		{"other X-ZC-Signature-Method", func(r *Request, _ *Config) { r.Header.Set("X-ZC-Signature-Method", "ZC1-HMAC-SHA1") }, secret, errMalformed},
		{"no X-ZC-Timestamp", func(r *Request, _ *Config) { r.Header.Del("X-ZC-Timestamp") }, secret, errMalformed},
		{"no Authorization", func(r *Request, _ *Config) { r.Header.Del("Authorization") }, secret, accesskey.ErrMissingSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, cfg := base.clone(), baseCfg
			tc.alter(&req, &cfg)
			_, err := verify(cfg, req, tc.secret)
			checkErr(t, err, tc.want)
		})
	}
}
