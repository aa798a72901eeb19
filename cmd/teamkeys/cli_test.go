package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/pkg/client"
)

// The unit tests run the command line against a fake API: canned answers,
// and a record of what was asked.

const (
	fakeKeyID  = "TKAKAAAAAAAAAAAAAAAAAAAA"
	fakeSecret = "tksk_FAKEsecretFAKEsecretFAKEsecretFAKEsecretFAK000000"
)

var fakeCreated = `{"accessKeyId":"` + fakeKeyID + `","secretAccessKey":"` + fakeSecret + `","status":"Active","teamId":"t1",` +
	`"memberId":"alice","description":"ci","createdAt":"2026-12-02T10:00:00Z","createdBy":"admin"}`

var fakeKey = `{"accessKeyId":"` + fakeKeyID + `","status":"Inactive","teamId":"t1","memberId":"alice","description":"ci",` +
	`"createdAt":"2026-12-02T10:00:00Z","createdBy":"admin"}`

// fakeAPI answers METHOD PATH with a canned status and body.
type fakeAPI struct {
	*httptest.Server
	mu       sync.Mutex
	answers  map[string]fakeAnswer
	requests []string
	headers  []http.Header
	// answerHeaders are more headers of an answer, by the answers' key.
	answerHeaders map[string]map[string]string
}

type fakeAnswer struct {
	status int
	body   string
}

func newFakeAPI(t *testing.T, answers map[string]fakeAnswer) *fakeAPI {
	f := &fakeAPI{answers: answers}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path)
		f.headers = append(f.headers, r.Header.Clone())
		// The answer for the path and its query, else for the path.
		key := r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery
		a, ok := f.answers[key]
		if !ok {
			key = r.Method + " " + r.URL.Path
			a, ok = f.answers[key]
		}
		header := f.answerHeaders[key]
		f.mu.Unlock()
		if !ok {
			a = fakeAnswer{404, `{"error":{"code":"NotFound","message":"no such route","requestId":"r-404"}}`}
		}
		w.Header().Set("Content-Type", "application/json")
		for name, v := range header {
			w.Header().Set(name, v)
		}
		w.WriteHeader(a.status)
		_, _ = w.Write([]byte(a.body))
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.requests...)
}

func (f *fakeAPI) env() run {
	return run{env: map[string]string{envEndpoint: f.URL, envToken: "tok", envTeam: "t1"}}
}

const keysPath = "/v1/teams/t1/members/alice/access-keys"

// TestConfigPrecedence: a flag wins over its environment variable, which
// wins over the default; an empty variable is no variable.
func TestConfigPrecedence(t *testing.T) {
	allEnv := map[string]string{
		envEndpoint: "http://env:1", envToken: "env-token", envTeam: "env-team",
		envAccessKeyID: "TKAKENVENVENVENVENVENVEN", envSecret: "env-secret", envRegion: "env-region",
	}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want config
	}{
		{"defaults", nil, nil,
			config{Endpoint: client.DefaultEndpoint, Region: "us-east-1", Timeout: time.Minute, Output: "table"}},
		{"environment", allEnv, nil,
			config{Endpoint: "http://env:1", Token: "env-token", Team: "env-team", AccessKeyID: "TKAKENVENVENVENVENVENVEN", Secret: "env-secret",
				Region: "env-region", Timeout: time.Minute, Output: "table"}},
		{"flags win", allEnv,
			[]string{"--endpoint", "http://flag:2", "--token", "flag-token", "--team", "flag-team", "--access-key-id", "TKAKFLAGFLAGFLAGFLAGFLAG",
				"--secret-access-key", "flag-secret", "--region", "eu-west-1", "--timeout", "5s", "-o", "json"},
			config{Endpoint: "http://flag:2", Token: "flag-token", Team: "flag-team", AccessKeyID: "TKAKFLAGFLAGFLAGFLAGFLAG", Secret: "flag-secret",
				Region: "eu-west-1", Timeout: 5 * time.Second, Output: "json"}},
		{"a flag set to its default still wins", map[string]string{envRegion: "env-region"}, []string{"--region", "us-east-1"},
			config{Endpoint: client.DefaultEndpoint, Region: "us-east-1", Timeout: time.Minute, Output: "table"}},
		{"empty variables are unset", map[string]string{envEndpoint: "", envToken: "  ", envRegion: ""}, nil,
			config{Endpoint: client.DefaultEndpoint, Region: "us-east-1", Timeout: time.Minute, Output: "table"}},
		{"a token's newline is trimmed", map[string]string{envToken: "tok\n"}, nil,
			config{Endpoint: client.DefaultEndpoint, Token: "tok", Region: "us-east-1", Timeout: time.Minute, Output: "table"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			app, res := run{env: c.env}.start(t, append([]string{"version"}, c.args...)...)
			want(t, res, exitOK)
			if app.cfg != c.want {
				t.Errorf("resolved %+v\nwant     %+v", app.cfg, c.want)
			}
		})
	}
}

// TestSecretFlagWarns: a secret on the command line works, is warned
// about, and is never printed.
func TestSecretFlagWarns(t *testing.T) {
	res := want(t, run{}.exec(t, "version", "--secret-access-key", fakeSecret), exitOK)
	if !strings.Contains(res.stderr, "warning:") || !strings.Contains(res.stderr, envSecret) {
		t.Errorf("no warning on stderr: %s", res)
	}
	if strings.Contains(res.stdout+res.stderr, fakeSecret) {
		t.Errorf("the secret was printed: %s", res)
	}
	res = want(t, run{env: map[string]string{envSecret: fakeSecret}}.exec(t, "version"), exitOK)
	if strings.Contains(res.stderr, "warning") {
		t.Errorf("a secret from the environment warned: %s", res)
	}
}

// TestOutputSelection: table on a terminal, JSON when piped, -o wins;
// report is CSV unless told; version is text unless told.
func TestOutputSelection(t *testing.T) {
	api := newFakeAPI(t, map[string]fakeAnswer{
		"GET " + keysPath + "/" + fakeKeyID:              {200, fakeKey},
		"GET /v1/teams/t1/access-keys/report":            {200, `{"teamId":"t1","generatedAt":"2026-12-02T10:00:00Z","keys":[],"nextToken":null}`},
		"GET /v1/teams/t1/access-keys/report?format=csv": {200, "memberId,accessKeyId\n"},
	})
	get := []string{"keys", "get", "alice", fakeKeyID}
	cases := []struct {
		name   string
		tty    bool
		args   []string
		output string
	}{
		{"terminal", true, get, "table"},
		{"piped", false, get, "json"},
		{"-o json on a terminal", true, append(get, "-o", "json"), "json"},
		{"-o table piped", false, append(get, "--output", "table"), "table"},
		{"report piped", false, []string{"report"}, "csv"},
		{"report on a terminal", true, []string{"report"}, "csv"},
		{"report -o json", true, []string{"report", "-o", "json"}, "json"},
		{"report -o table", false, []string{"report", "-o", "table"}, "table"},
		{"version piped", false, []string{"version"}, "table"},
		{"version -o json", false, []string{"version", "-o", "json"}, "json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := api.env()
			r.stdoutTTY = c.tty
			app, res := r.start(t, c.args...)
			want(t, res, exitOK)
			if app.cfg.Output != c.output {
				t.Errorf("output %q, want %q", app.cfg.Output, c.output)
			}
			switch c.output {
			case "json":
				if !json.Valid([]byte(res.stdout)) {
					t.Errorf("not JSON: %s", res)
				}
			case "table":
				if c.args[0] == "version" {
					if !strings.HasPrefix(res.stdout, "teamkeys ") {
						t.Errorf("not the version line: %s", res)
					}
					break
				}
				if json.Valid([]byte(res.stdout)) || strings.ToUpper(strings.Fields(res.stdout)[0]) != strings.Fields(res.stdout)[0] {
					t.Errorf("not a table: %s", res)
				}
			}
		})
	}
	for _, args := range [][]string{append(get, "-o", "yaml"), append(get, "-o", "csv"), {"report", "-o", "yaml"}} {
		res := want(t, api.env().exec(t, args...), exitUsage)
		if !strings.Contains(res.stderr, "invalid --output") {
			t.Errorf("%v: %s", args, res)
		}
	}
}

// TestExitCodes: 0 done, 1 refused (the error code first on stderr) or not
// sent, 2 a bad command line; usage errors send nothing.
func TestExitCodes(t *testing.T) {
	api := newFakeAPI(t, map[string]fakeAnswer{
		"POST " + keysPath:            {409, `{"error":{"code":"LimitExceeded","message":"alice holds 2 keys","requestId":"r-1"}}`},
		"GET " + keysPath:             {200, `{"accessKeys":[],"nextToken":null}`},
		"GET /v1/teams/t1/key-policy": {500, `<html>oops</html>`},
		"PUT /v1/teams/t1/key-policy": {403, `{"error":{"code":"Forbidden","message":"only the owner","requestId":"r-2"}}`},
	})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadEndpoint := "http://" + closed.Addr().String()
	closed.Close()

	noToken := run{env: map[string]string{envEndpoint: api.URL, envTeam: "t1"}}
	noTeam := run{env: map[string]string{envEndpoint: api.URL, envToken: "tok"}}
	cases := []struct {
		name   string
		r      run
		args   []string
		code   int
		stderr string // a line stderr must hold
	}{
		{"success", api.env(), []string{"keys", "list", "alice"}, exitOK, ""},
		{"help", api.env(), []string{"keys", "--help"}, exitOK, ""},
		{"a group alone shows its help", api.env(), []string{"keys"}, exitOK, ""},
		{"refused at the cap", api.env(), []string{"keys", "create", "alice"}, exitFailure, "error: LimitExceeded: alice holds 2 keys (request id r-1)"},
		{"refused: not the owner", api.env(), []string{"policy", "set", "--none", "--yes"}, exitFailure, "error: Forbidden: only the owner (request id r-2)"},
		{"not the error shape", api.env(), []string{"policy", "get"}, exitFailure, "error: HTTP500: Internal Server Error"},
		{"no server", api.env().with(envEndpoint, deadEndpoint), []string{"keys", "list", "alice", "--timeout", "3s"}, exitFailure, "error: "},
		{"unknown command", api.env(), []string{"kees"}, exitUsage, `error: unknown command "kees" for "teamkeys"`},
		{"unknown subcommand", api.env(), []string{"keys", "lst"}, exitUsage, `error: unknown command "lst" for "teamkeys keys"`},
		{"unknown flag", api.env(), []string{"keys", "list", "--bogus"}, exitUsage, "error: unknown flag: --bogus"},
		{"bad flag value", api.env(), []string{"audit", "--limit", "many"}, exitUsage, "error: invalid argument"},
		{"missing argument", api.env(), []string{"keys", "get", "alice"}, exitUsage, "error: teamkeys keys get wants MEMBER ACCESS_KEY_ID"},
		{"too many arguments", api.env(), []string{"keys", "list", "alice", "bob"}, exitUsage, "error: teamkeys keys list takes at most"},
		{"no token", noToken, []string{"keys", "list"}, exitUsage, "error: no token: pass --token or set TEAMKEYS_TOKEN"},
		{"no team", noTeam, []string{"keys", "list"}, exitUsage, "error: no team: pass --team or set TEAMKEYS_TEAM"},
		{"no access key", api.env(), []string{"whoami"}, exitUsage, "error: no access key: set TEAMKEYS_ACCESS_KEY_ID"},
		{"bad endpoint", api.env().with(envEndpoint, "ftp://x"), []string{"keys", "list"}, exitUsage, "error: invalid --endpoint"},
		{"bad --expires-in", api.env(), []string{"keys", "create", "alice", "--expires-in", "soon"}, exitUsage, "error: invalid --expires-in"},
		{"bad --expires-at", api.env(), []string{"keys", "create", "alice", "--expires-at", "tomorrow"}, exitUsage, "error: invalid --expires-at"},
		{"two expiries", api.env(), []string{"keys", "create", "alice", "--expires-at", "2027-01-01", "--expires-in", "1d"}, exitUsage, "error: if any flags in the group"},
		{"bad --grace-period", api.env(), []string{"keys", "rotate", "alice", fakeKeyID, "--grace-period", "-1h", "--yes"}, exitUsage, "error: invalid --grace-period"},
		{"policy set without a value", api.env(), []string{"policy", "set", "--yes"}, exitUsage, "error: pass either --max-lifetime-days N or --none"},
		{"bad --timeout", api.env(), []string{"keys", "list", "--timeout", "0s"}, exitUsage, "error: --timeout must be positive"},
		{"bad --scheme", api.env(), []string{"whoami", "--scheme", "md5"}, exitUsage, `error: invalid --scheme "md5"`},
		{"zc2 is POST only", api.env().with(envAccessKeyID, fakeKeyID, envSecret, fakeSecret), []string{"sign", "--scheme", "zc2", "/v1/whoami"}, exitUsage, "error: --scheme zc2 signs POST requests only"},
		{"sign: not a path", api.env().with(envAccessKeyID, fakeKeyID, envSecret, fakeSecret), []string{"sign", "whoami"}, exitUsage, "error: invalid target"},
		{"bad -H", api.env().with(envAccessKeyID, fakeKeyID, envSecret, fakeSecret), []string{"sign", "-H", "NoColon", "/v1/whoami"}, exitUsage, "error: invalid -H"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(api.got())
			res := want(t, c.r.exec(t, c.args...), c.code)
			if c.stderr != "" && !strings.Contains(res.stderr, c.stderr) {
				t.Errorf("stderr lacks %q: %s", c.stderr, res)
			}
			if c.code == exitUsage {
				if !strings.Contains(res.stderr, "--help' for usage.") {
					t.Errorf("a usage error without the pointer to --help: %s", res)
				}
				if n := len(api.got()); n != before {
					t.Errorf("a usage error sent %v", api.got()[before:])
				}
			}
			if c.code == exitFailure && strings.Contains(res.stderr, "Usage:") {
				t.Errorf("a refusal printed the usage: %s", res)
			}
		})
	}
}

// TestConfirmation: a destructive command asks on a terminal and goes on
// only on yes; off a terminal it wants --yes (exit 2); nothing is sent
// unless confirmed.
func TestConfirmation(t *testing.T) {
	api := newFakeAPI(t, map[string]fakeAnswer{
		"POST " + keysPath + "/" + fakeKeyID + "/disable": {200, fakeKey},
	})
	disable := []string{"keys", "disable", "alice", fakeKeyID}
	cases := []struct {
		name  string
		tty   bool
		stdin string
		args  []string
		code  int
		sent  bool
	}{
		{"yes", true, "y\n", disable, exitOK, true},
		{"YES", true, "YES\n", disable, exitOK, true},
		{"no", true, "n\n", disable, exitUsage, false},
		{"just enter", true, "\n", disable, exitUsage, false},
		{"end of input", true, "", disable, exitUsage, false},
		{"not a terminal", false, "y\n", disable, exitUsage, false},
		{"not a terminal, --yes", false, "", append(disable, "--yes"), exitOK, true},
		{"a terminal, -y", true, "", append(disable, "-y"), exitOK, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(api.got())
			r := api.env()
			r.stdinTTY, r.stdin = c.tty, c.stdin
			res := want(t, r.exec(t, c.args...), c.code)
			if sent := len(api.got()) > before; sent != c.sent {
				t.Errorf("sent %v, want %v: %s", sent, c.sent, res)
			}
			asked := strings.Contains(res.stderr, "Disable access key "+fakeKeyID+" of alice in team t1? [y/N]")
			if wantAsk := c.tty && !strings.Contains(strings.Join(c.args, " "), "-y"); asked != wantAsk {
				t.Errorf("asked %v, want %v: %s", asked, wantAsk, res)
			}
			if !c.tty && c.code == exitUsage && !strings.Contains(res.stderr, "pass --yes") {
				t.Errorf("the refusal does not say to pass --yes: %s", res)
			}
			if c.code == exitUsage && c.tty && !strings.Contains(res.stderr, "aborted: nothing was changed") {
				t.Errorf("a no does not say it aborted: %s", res)
			}
		})
	}
	// Every destructive command wants --yes off a terminal; enable, which
	// undoes one, does not.
	for _, args := range [][]string{
		{"keys", "delete", "alice", fakeKeyID},
		{"keys", "rotate", "alice", fakeKeyID},
		{"members", "offboard", "alice"},
		{"policy", "set", "--max-lifetime-days", "90"},
		{"policy", "set", "--none"},
	} {
		before := len(api.got())
		res := want(t, api.env().exec(t, args...), exitUsage)
		if !strings.Contains(res.stderr, "pass --yes") || len(api.got()) != before {
			t.Errorf("%v off a terminal without --yes: %s (sent %v)", args, res, api.got()[before:])
		}
	}
}

// TestOutputFile: --output-file writes the key with its secret to a new
// file of mode 0600 (JSON, or AWS's CSV for .csv), stdout shows the key
// without the secret, stderr never shows it; an existing file is refused
// before any key is made; a refused request leaves no file.
func TestOutputFile(t *testing.T) {
	api := newFakeAPI(t, map[string]fakeAnswer{
		"POST " + keysPath:                          {201, fakeCreated},
		"POST /v1/teams/t1/members/bob/access-keys": {409, `{"error":{"code":"LimitExceeded","message":"bob holds 2 keys","requestId":"r-3"}}`},
	})
	dir := t.TempDir()
	for _, c := range []struct{ name, want string }{
		{"key.json", ""},
		{"key.csv", "Access key ID,Secret access key\n" + fakeKeyID + "," + fakeSecret + "\n"},
	} {
		for _, output := range []string{"json", "table"} {
			path := filepath.Join(dir, output+"-"+c.name)
			res := want(t, api.env().exec(t, "keys", "create", "alice", "--output-file", path, "-o", output), exitOK)
			if strings.Contains(res.stdout+res.stderr, fakeSecret) {
				t.Errorf("the secret was printed: %s", res)
			}
			if !strings.Contains(res.stdout, fakeKeyID) || !strings.Contains(res.stderr, "written to "+path+" (mode 0600)") {
				t.Errorf("stdout lacks the key or stderr the file: %s", res)
			}
			if output == "json" {
				var shown map[string]any
				if err := json.Unmarshal([]byte(res.stdout), &shown); err != nil || shown["accessKeyId"] != fakeKeyID || shown["secretAccessKey"] != nil {
					t.Errorf("stdout is not the key without its secret (%v): %s", err, res.stdout)
				}
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", path, info.Mode().Perm())
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if c.want != "" {
				if string(b) != c.want {
					t.Errorf("%s holds %q, want %q", path, b, c.want)
				}
				continue
			}
			var saved client.CreatedAccessKey
			if err := json.Unmarshal(b, &saved); err != nil || saved.SecretAccessKey != fakeSecret || saved.AccessKeyId != fakeKeyID {
				t.Errorf("%s holds %s (%v)", path, b, err)
			}
		}
	}

	// An existing file: refused before anything is sent, and left alone.
	existing := filepath.Join(dir, "existing.json")
	if err := os.WriteFile(existing, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := len(api.got())
	res := want(t, api.env().exec(t, "keys", "create", "alice", "--output-file", existing), exitUsage)
	if !strings.Contains(res.stderr, "refusing to overwrite") || len(api.got()) != before {
		t.Errorf("an existing file: %s (sent %v)", res, api.got()[before:])
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}

	// A refused request leaves no file behind.
	refused := filepath.Join(dir, "refused.json")
	want(t, api.env().exec(t, "keys", "create", "bob", "--output-file", refused), exitFailure)
	if _, err := os.Stat(refused); !os.IsNotExist(err) {
		t.Errorf("a refused create left %s (%v)", refused, err)
	}

	// Without a file: the secret once on stdout, the notice on stderr.
	res = want(t, api.env().exec(t, "keys", "create", "alice", "-o", "json"), exitOK)
	if strings.Count(res.stdout, fakeSecret) != 1 || strings.Contains(res.stderr, fakeSecret) || !strings.Contains(res.stderr, secretNotice) {
		t.Errorf("create without a file: %s", res)
	}
}

// TestRequestsCarryWhatTheFlagsSay: the request bodies and headers of
// create and rotate.
func TestRequestsCarryWhatTheFlagsSay(t *testing.T) {
	var bodies []map[string]any
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		_ = json.NewDecoder(r.Body).Decode(&b)
		if r.Header.Get("Idempotency-Key") != "" {
			b["idempotencyKey"] = r.Header.Get("Idempotency-Key")
		}
		b["ua"] = r.Header.Get("User-Agent")
		mu.Lock()
		bodies = append(bodies, b)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_, _ = w.Write([]byte(fakeCreated))
	}))
	t.Cleanup(srv.Close)
	r := run{env: map[string]string{envEndpoint: srv.URL, envToken: "tok", envTeam: "t1"}}
	now := time.Now()
	want(t, r.exec(t, "keys", "create", "alice", "--description", "ci", "--expires-in", "90d", "--idempotency-key", "k-1"), exitOK)
	want(t, r.exec(t, "keys", "create", "alice", "--expires-at", "2027-01-01"), exitOK)
	want(t, r.exec(t, "keys", "rotate", "alice", fakeKeyID, "--grace-period", "1h", "--yes"), exitOK)
	want(t, r.exec(t, "keys", "rotate", "alice", fakeKeyID, "--grace-period", "0", "--description", "", "--yes"), exitOK)
	if len(bodies) != 4 {
		t.Fatalf("%d requests", len(bodies))
	}
	exp, err := time.Parse(time.RFC3339, bodies[0]["expiresAt"].(string))
	if err != nil || exp.Sub(now.Add(90*24*time.Hour)).Abs() > time.Minute || bodies[0]["description"] != "ci" || bodies[0]["idempotencyKey"] != "k-1" {
		t.Errorf("create 1: %v (%v)", bodies[0], err)
	}
	if bodies[1]["expiresAt"] != "2027-01-01T00:00:00Z" || bodies[1]["description"] != nil || bodies[1]["idempotencyKey"] == "" {
		t.Errorf("create 2: %v", bodies[1])
	}
	if bodies[2]["gracePeriodSeconds"] != float64(3600) || bodies[2]["description"] != nil {
		t.Errorf("rotate 1: %v", bodies[2])
	}
	if bodies[3]["gracePeriodSeconds"] != float64(0) || bodies[3]["description"] != "" {
		t.Errorf("rotate 2: %v", bodies[3])
	}
	if ua, _ := bodies[0]["ua"].(string); !strings.HasPrefix(ua, "teamkeys-cli/") {
		t.Errorf("User-Agent %q", ua)
	}
}

// TestCleanKeepsEscapesOffTheTerminal: text from the service can't move
// the cursor or reorder a line.
func TestCleanKeepsEscapesOffTheTerminal(t *testing.T) {
	for in, out := range map[string]string{
		"ci deploys":          "ci deploys",
		"\x1b[2Jgone":         "\uFFFD[2Jgone",
		"a\tb\nc":             "a\uFFFDb\uFFFDc",
		"abc\u202edcba":       "abc\uFFFDdcba",
		"naïve ключ 鍵":        "naïve ключ 鍵",
		"line\u2028separator": "line\uFFFDseparator",
	} {
		if got := clean(in); got != out {
			t.Errorf("clean(%q) = %q, want %q", in, got, out)
		}
	}
}

// TestHelpEverywhere: every command has --help, a short description and
// an example or a long description; completion scripts are generated for
// every shell.
func TestHelpEverywhere(t *testing.T) {
	root := (&App{}).rootCommand()
	for _, c := range root.Commands() {
		cmds := append(c.Commands(), c)
		for _, sub := range cmds {
			path := strings.Fields(sub.CommandPath())[1:]
			res := want(t, run{}.exec(t, append(path, "--help")...), exitOK)
			if !strings.Contains(res.stdout, "Usage:") {
				t.Errorf("%v --help: %s", path, res)
			}
			if sub.Short == "" {
				t.Errorf("%s has no short description", sub.CommandPath())
			}
			if !sub.HasSubCommands() && sub.Name() != "version" && sub.Example == "" && sub.Long == "" {
				t.Errorf("%s has neither an example nor a long description", sub.CommandPath())
			}
		}
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		res := want(t, run{}.exec(t, "completion", shell), exitOK)
		if !strings.Contains(res.stdout, "teamkeys") || len(res.stdout) < 500 {
			t.Errorf("completion %s: %s", shell, res.stdout[:min(len(res.stdout), 200)])
		}
	}
}

// TestDocsDocumentTheCLI: the CLI reference (docs/CLI.md, linked from the
// README) names every command, every environment variable and every exit
// code.
func TestDocsDocumentTheCLI(t *testing.T) {
	b, err := os.ReadFile("../../docs/CLI.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## CLI\n")
	if !ok {
		t.Fatal("docs/CLI.md has no ## CLI section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	root := (&App{}).rootCommand()
	for _, group := range root.Commands() {
		for _, c := range append(group.Commands(), group) {
			if !strings.Contains(section, c.Name()) {
				t.Errorf("docs/CLI.md's CLI section does not name %q", c.CommandPath())
			}
		}
		for _, f := range []string{"--description", "--output-file", "--grace-period", "--yes", "--max-lifetime-days", "--scheme"} {
			if !strings.Contains(section, f) {
				t.Errorf("docs/CLI.md's CLI section does not name %s", f)
			}
		}
	}
	for _, want := range []string{envEndpoint, envToken, envTeam, envAccessKeyID, envSecret, envRegion, "**0**", "**1**", "**2**", "completion"} {
		if !strings.Contains(section, want) {
			t.Errorf("docs/CLI.md's CLI section lacks %q", want)
		}
	}
}
