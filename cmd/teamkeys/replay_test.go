package main

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/teamkeys/teamkeys/pkg/client"
)

// TestOutputFileNotWrittenPrintsTheReplay: when --output-file cannot be
// written after the key was made, the secret is printed nowhere; stderr
// names the request's Idempotency-Key and a command that, run as printed,
// sends the same request (same key, same body) into another file; the exit
// code is 1.
func TestOutputFileNotWrittenPrintsTheReplay(t *testing.T) {
	type sent struct{ path, idempotencyKey, body string }
	var mu sync.Mutex
	var requests []sent
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		requests = append(requests, sent{r.URL.Path, r.Header.Get("Idempotency-Key"), string(b)})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		_, _ = w.Write([]byte(fakeCreated))
	}))
	t.Cleanup(srv.Close)

	write := writeSecretFile
	t.Cleanup(func() { writeSecretFile = write })
	failing := true
	writeSecretFile = func(s *secretFile, k *client.CreatedAccessKey) error {
		if failing {
			_ = s.f.Close()
			return errors.New("no space left on device")
		}
		return write(s, k)
	}

	dir := t.TempDir()
	cases := []struct {
		name      string
		env       map[string]string
		args      []string
		key       string // the Idempotency-Key given, or "" for the CLI's own
		leftOut   string // a flag the replay must name as left out
		replayArg string // an argument the replay must hold
	}{
		{"create, json", nil, []string{"keys", "create", "alice", "--description", "ci", "--output-file", filepath.Join(dir, "a.json")}, "", "", "--description ci"},
		{"create, csv, --expires-in", nil, []string{"keys", "create", "alice", "--expires-in", "90d", "--output-file=" + filepath.Join(dir, "b.csv")}, "", "", "--expires-at 20"},
		{"create, own key", nil, []string{"keys", "create", "alice", "--idempotency-key", "deploy-7", "--output-file", filepath.Join(dir, "c.json")}, "deploy-7", "", "--idempotency-key deploy-7"},
		{"rotate, --token", map[string]string{envToken: ""}, []string{"keys", "rotate", "alice", fakeKeyID, "--grace-period", "1h", "--yes", "--token", "tok", "--output-file", filepath.Join(dir, "d.json")}, "", "--token", "--grace-period 1h"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			failing = true
			r := run{env: map[string]string{envEndpoint: srv.URL, envToken: "tok", envTeam: "t1"}}
			for k, v := range c.env {
				r = r.with(k, v)
			}
			mu.Lock()
			before := len(requests)
			mu.Unlock()
			res := want(t, r.exec(t, c.args...), exitFailure)
			if strings.Contains(res.stdout+res.stderr, fakeSecret) {
				t.Fatalf("the secret was printed: %s", res)
			}
			mu.Lock()
			first := requests[before]
			mu.Unlock()
			if c.key != "" && first.idempotencyKey != c.key {
				t.Errorf("sent Idempotency-Key %q, want %q", first.idempotencyKey, c.key)
			}
			if first.idempotencyKey == "" || !strings.Contains(res.stderr, "Idempotency-Key is "+first.idempotencyKey) {
				t.Errorf("stderr does not name the Idempotency-Key %q sent: %s", first.idempotencyKey, res)
			}
			_, line, ok := strings.Cut(res.stderr, "\n  teamkeys ")
			line, _, _ = strings.Cut(line, "\n")
			if !ok || !strings.Contains(line, c.replayArg) || strings.Contains(line, "--token") || strings.Contains(line, "--expires-in") {
				t.Fatalf("no replay command holding %q (and no credential, no --expires-in): %s", c.replayArg, res)
			}
			if c.leftOut != "" && !strings.Contains(res.stderr, "("+c.leftOut+" is left out") {
				t.Errorf("stderr does not say %s is left out: %s", c.leftOut, res)
			}
			for _, f := range []string{c.args[len(c.args)-1], strings.TrimPrefix(c.args[len(c.args)-1], "--output-file=")} {
				if _, err := os.Stat(f); err == nil {
					t.Errorf("the unwritten file %s was left behind", f)
				}
			}

			// Run the replay as printed (a token left out comes from the
			// environment): the same request, into a file.
			failing = false
			replayed := want(t, r.with(envToken, "tok").exec(t, strings.Fields(line)...), exitOK)
			mu.Lock()
			again := requests[len(requests)-1]
			mu.Unlock()
			if again != first {
				t.Errorf("the replay sent %+v, the first request %+v", again, first)
			}
			other := strings.Fields(line)
			var path string
			for i, a := range other {
				if a == "--output-file" {
					path = other[i+1]
				}
			}
			b, err := os.ReadFile(path)
			if err != nil || !strings.Contains(string(b), fakeSecret) || strings.Contains(replayed.stdout, fakeSecret) {
				t.Errorf("the replay's file %s holds %q (%v): %s", path, b, err, replayed)
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	for in, out := range map[string]string{
		"alice":       "alice",
		"--x=a/b.csv": "--x=a/b.csv",
		"two words":   "'two words'",
		"it's":        `'it'\''s'`,
		"$HOME":       "'$HOME'",
		"":            "''",
	} {
		if got := shellQuote(in); got != out {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, out)
		}
	}
}
