package signature

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// curl signs with its own SigV4 code; older releases (7.88.1 on Debian 12)
// sign the path and query verbatim, newer ones per the spec. Either must
// verify.
func TestCurlSigV4(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	if help, err := exec.Command(curl, "--help", "all").Output(); err != nil || !bytes.Contains(help, []byte("--aws-sigv4")) {
		t.Skip("this curl has no --aws-sigv4")
	}
	if v, err := exec.Command(curl, "--version").Output(); err == nil {
		t.Logf("%s", bytes.SplitN(v, []byte("\n"), 2)[0])
	}
	c := newCapture(t)
	// curl signs with the real clock.
	cfg := Config{Region: DefaultRegion, Now: time.Now}
	send := func(t *testing.T, args ...string) Request {
		t.Helper()
		all := append([]string{"-q", "--silent", "--show-error", "--fail", "--max-time", "10", "--noproxy", "*",
			"--aws-sigv4", "aws:amz:us-east-1:teamkeys", "--user", testID + ":" + testSecret}, args...)
		out, err := exec.Command(curl, all...).CombinedOutput()
		if err != nil {
			t.Fatalf("curl %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		select {
		case r := <-c.got:
			return r
		default:
			t.Fatal("the server saw no request")
			return Request{}
		}
	}
	u := c.srv.URL
	cases := []struct {
		name   string
		args   []string
		alter  func(r *Request)
		secret string
		want   error
	}{
		{"GET", []string{u + "/v1/whoami"}, nil, testSecret, nil},
		{"GET with an unsorted query and a valueless name", []string{u + "/v1/keys?status=Active&b=2&a=1&flag"}, nil, testSecret, nil},
		{"GET with an escaped path", []string{u + "/v1/keys/a%20b/%C3%A9"}, nil, testSecret, nil},
		{"GET with a unicode path", []string{u + "/v1/members/é"}, nil, testSecret, nil},
		{"POST JSON", []string{"-H", "Content-Type: application/json", "-d", `{"action":"whoami"}`, u + "/v1/whoami"}, nil, testSecret, nil},
		{"POST JSON with another signed header", []string{"-H", "Content-Type: application/json", "-H", "X-Request-Id:   r   42 ",
			"-d", `{"a":1}`, u + "/v1/whoami"}, nil, testSecret, nil},

		{"wrong secret", []string{u + "/v1/whoami"}, nil, otherSecret, accesskey.ErrInvalidSignature},
		{"POST body altered", []string{"-H", "Content-Type: application/json", "-d", `{"action":"whoami"}`, u + "/v1/whoami"},
			func(r *Request) { r.Body = []byte(`{"action":"whoamI"}`) }, testSecret, accesskey.ErrInvalidSignature},
		{"GET path altered", []string{u + "/v1/keys/a%20b"},
			func(r *Request) { r.Path = "/v1/keys/a%20c" }, testSecret, accesskey.ErrInvalidSignature},
		{"GET query altered", []string{u + "/v1/keys?status=Active&b=2"},
			func(r *Request) { r.RawQuery = "status=Inactive&b=2" }, testSecret, accesskey.ErrInvalidSignature},
		{"signed header altered", []string{"-H", "X-Request-Id: r42", u + "/v1/whoami"},
			func(r *Request) { r.Header.Set("X-Request-Id", "r43") }, testSecret, accesskey.ErrInvalidSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := send(t, tc.args...)
			if tc.alter != nil {
				tc.alter(&req)
			}
			_, err := verify(cfg, req, tc.secret)
			checkErr(t, err, tc.want)
		})
	}
}
