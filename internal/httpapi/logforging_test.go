package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/httpapi"
)

// An event that cannot become an http.Request answers 400 in the error
// shape, and nothing of it reaches stdout (the log stream) but the
// handler's own JSON lines: aws-lambda-go-api-proxy prints such a request's
// decoded path raw with fmt.Printf, so a "%0A" in the path would write a
// forged log line.
func TestUnreadableEventsWriteNoRawLine(t *testing.T) {
	forged := "\n{\"level\":\"INFO\",\"msg\":\"request\",\"status\":200,\"forged\":true}\n"
	cases := []struct{ name, path, method string }{
		{"newline in the path", "/v1/teams/t1/access-keys" + forged, "GET"},
		{"control byte in the path", "/v1/teams/t1\x7f/access-keys", "GET"},
		{"method that is not a token", "/v1/teams/t1/access-keys", "GET /x HTTP/1.1" + forged},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			invoke := httpapi.LambdaHandler(httpapi.NewAll(httpapi.AllDeps{
				Common: httpapi.Common{Log: slog.New(slog.NewJSONHandler(&logs, nil))},
				Store:  &fakeStore{}, Sealer: &fakeSealer{}, PageTokens: fakeTokens{}, Verifier: &fakeVerifier{},
			}), slog.New(slog.NewJSONHandler(&logs, nil)))
			ev := request{method: tc.method, path: "/"}.event()
			ev.RawPath = tc.path
			ev.RequestContext.HTTP.Path = tc.path
			ev.RequestContext.HTTP.Method = tc.method

			stdout := captureStdout(t, func() {
				resp, err := invoke(context.Background(), ev)
				if err != nil {
					t.Fatal(err)
				}
				assertError(t, resp, http.StatusBadRequest, "ValidationError", ev.RequestContext.RequestID)
			})
			if stdout != "" {
				t.Fatalf("stdout got %q", stdout)
			}
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				if !json.Valid([]byte(line)) {
					t.Fatalf("a log line that is not the handler's own: %q", line)
				}
			}
		})
	}
}

// captureStdout runs f with os.Stdout going to a pipe and returns what was
// written.
func captureStdout(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { os.Stdout = saved }()
	f()
	os.Stdout = saved
	w.Close()
	return <-done
}
