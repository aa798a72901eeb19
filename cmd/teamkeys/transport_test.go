package main

import (
	"net"
	"strings"
	"testing"
)

// TestPlainHTTPOnlyToThisMachine: the token goes over http:// only to a
// loopback address, unless --insecure-http says so; the refusal names the
// flag and sends nothing.
func TestPlainHTTPOnlyToThisMachine(t *testing.T) {
	api := newFakeAPI(t, map[string]fakeAnswer{"GET " + keysPath: {200, `{"accessKeys":[],"nextToken":null}`}})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(api.URL, "http://"))
	list := []string{"keys", "list", "alice", "--timeout", "5s"}
	cases := []struct {
		name     string
		endpoint string
		args     []string
		code     int
		stderr   string
	}{
		{"127.0.0.1", api.URL, nil, exitOK, ""},
		{"localhost", "http://localhost:" + port, nil, exitOK, ""},
		{"another host", "http://api.example.com", nil, exitUsage, "refusing plain http:// to http://api.example.com"},
		{"a private address", "http://10.1.2.3:3000", nil, exitUsage, "pass --insecure-http"},
		{"all interfaces", "http://0.0.0.0:" + port, nil, exitUsage, "pass --insecure-http"},
		{"flag on a loopback address", api.URL, []string{"--insecure-http"}, exitOK, ""},
		{"--insecure-http to another host is sent", "http://api.invalid", []string{"--insecure-http"}, exitFailure, "error: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(api.got())
			res := want(t, api.env().with(envEndpoint, c.endpoint).exec(t, append(list, c.args...)...), c.code)
			if c.stderr != "" && !strings.Contains(res.stderr, c.stderr) {
				t.Errorf("stderr lacks %q: %s", c.stderr, res)
			}
			if c.code == exitUsage && len(api.got()) != before {
				t.Errorf("a refused endpoint sent %v", api.got()[before:])
			}
			if c.code == exitUsage && !strings.Contains(res.stderr, "--insecure-http") {
				t.Errorf("the refusal does not name --insecure-http: %s", res)
			}
		})
	}
}

// TestNoEndpointNoServer: with no endpoint set and nothing answering at
// the default, stderr says how to set one; a set endpoint that does not
// answer gets no such advice.
func TestNoEndpointNoServer(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + closed.Addr().String()
	closed.Close()
	hint := "No endpoint is set and no local server answers at the default " + dead
	cases := []struct {
		name string
		r    run
		args []string
		hint bool
	}{
		{"nothing set", run{env: map[string]string{envToken: "tok", envTeam: "t1"}, defaultEndpoint: dead}, nil, true},
		{"variable set", run{env: map[string]string{envToken: "tok", envTeam: "t1", envEndpoint: dead}, defaultEndpoint: dead}, nil, false},
		{"flag set", run{env: map[string]string{envToken: "tok", envTeam: "t1"}, defaultEndpoint: dead}, []string{"--endpoint", dead}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := want(t, c.r.exec(t, append([]string{"keys", "list", "alice", "--timeout", "3s"}, c.args...)...), exitFailure)
			if got := strings.Contains(res.stderr, hint); got != c.hint {
				t.Errorf("advice %v, want %v: %s", got, c.hint, res)
			}
			if c.hint && (!strings.Contains(res.stderr, envEndpoint) || !strings.Contains(res.stderr, "--endpoint")) {
				t.Errorf("the advice names neither %s nor --endpoint: %s", envEndpoint, res)
			}
		})
	}
}

// TestCredentialFlagsWarn: a token or a secret on the command line works
// and is warned about (shell history, the process list); from the
// environment it is not; neither is ever printed.
func TestCredentialFlagsWarn(t *testing.T) {
	const token = "tok-ON-THE-COMMAND-LINE"
	cases := []struct {
		name string
		env  map[string]string
		args []string
		warn string // the variable the warning prefers, or ""
	}{
		{"--token", nil, []string{"--token", token}, envToken},
		{"--token=", nil, []string{"--token=" + token}, envToken},
		{"--secret-access-key", nil, []string{"--secret-access-key", fakeSecret}, envSecret},
		{"token from the environment", map[string]string{envToken: token}, nil, ""},
		{"secret from the environment", map[string]string{envSecret: fakeSecret}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := want(t, run{env: c.env}.exec(t, append([]string{"version"}, c.args...)...), exitOK)
			warned := strings.Contains(res.stderr, "warning:")
			if warned != (c.warn != "") || (c.warn != "" && !strings.Contains(res.stderr, "prefer "+c.warn)) {
				t.Errorf("warned %v, want one preferring %q: %s", warned, c.warn, res)
			}
			if strings.Contains(res.stdout+res.stderr, token) || strings.Contains(res.stdout+res.stderr, fakeSecret) {
				t.Errorf("a credential was printed: %s", res)
			}
		})
	}
}
