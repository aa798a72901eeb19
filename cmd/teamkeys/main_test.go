package main

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/testing/testenv"
)

// The end-to-end tests run the command line in process, through its root
// command, against a local API on the real DynamoDB Local and local-kms
// that TestMain starts; TestGoInstall builds and runs the real binary.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// result is one run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return "exit " + strconv.Itoa(r.code) + "\nstdout:\n" + r.stdout + "\nstderr:\n" + r.stderr
}

// run is a run of the command line.
type run struct {
	env   map[string]string
	stdin string
	// tty makes stdin a terminal (so the command may ask) and stdout one
	// (so table is the default output).
	stdinTTY, stdoutTTY bool
	// defaultEndpoint replaces client.DefaultEndpoint when set.
	defaultEndpoint string
}

func (r run) exec(t *testing.T, args ...string) result {
	t.Helper()
	_, res := r.start(t, args...)
	return res
}

// start is exec that also returns the App, to read what it resolved.
func (r run) start(t *testing.T, args ...string) (*App, result) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	app := &App{
		Stdin: strings.NewReader(r.stdin), Stdout: &stdout, Stderr: &stderr,
		Getenv:           func(k string) string { return r.env[k] },
		StdinIsTerminal:  func() bool { return r.stdinTTY },
		StdoutIsTerminal: func() bool { return r.stdoutTTY },
		Now:              time.Now,
		defaultEndpoint:  r.defaultEndpoint,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := app.Run(ctx, args)
	return app, result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// with is r with more environment.
func (r run) with(kv ...string) run {
	env := map[string]string{}
	for k, v := range r.env {
		env[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	r.env = env
	return r
}

// want fails the test unless res exited with code.
func want(t *testing.T, res result, code int) result {
	t.Helper()
	if res.code != code {
		t.Fatalf("want exit %d, got %s", code, res)
	}
	return res
}

// tableRows reads a table's lines into maps from column name to cell,
// finding the columns where the header's names start (tabwriter aligns
// every cell under its name).
func tableRows(t *testing.T, out string) []map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatalf("no table in %q", out)
	}
	header := lines[0]
	type col struct {
		name  string
		start int
	}
	var cols []col
	for i := 0; i < len(header); {
		if header[i] == ' ' {
			i++
			continue
		}
		// A name runs until two spaces (names hold single spaces).
		end := strings.Index(header[i:], "  ")
		if end < 0 {
			end = len(header) - i
		}
		cols = append(cols, col{name: header[i : i+end], start: i})
		i += end
	}
	var rows []map[string]string
	for _, line := range lines[1:] {
		row := map[string]string{}
		runes := []rune(line)
		for j, c := range cols {
			end := len(runes)
			if j+1 < len(cols) {
				end = min(cols[j+1].start, len(runes))
			}
			if c.start > len(runes) {
				t.Fatalf("table line %q is shorter than its header %q", line, header)
			}
			row[c.name] = strings.TrimSpace(string(runes[c.start:end]))
		}
		rows = append(rows, row)
	}
	return rows
}
