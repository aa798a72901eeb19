// Package othersigners signs requests with SigV4 signers other than the Go
// SDK's, so that tests hold the verifier to what other clients send. Each
// signer is the real library, installed pinned by `make tools`.
package othersigners

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

//go:embed botocore_sign.py
var botocoreScript string

// Botocore signs r (whose body is body) with Python's botocore SigV4Auth for
// service "teamkeys" in region, at the current time, and sets the headers
// it signs with (X-Amz-Date, Authorization). botocore signs every header
// already on r but User-Agent, Expect and X-Amzn-Trace-Id, and the body's
// hash without sending an x-amz-content-sha256 header.
func Botocore(t testing.TB, r *http.Request, body []byte, accessKeyID, secret, region string) {
	t.Helper()
	headers := map[string]string{}
	for name, values := range r.Header {
		if len(values) != 1 {
			t.Fatalf("othersigners: header %s has %d values; botocore takes one", name, len(values))
		}
		headers[name] = values[0]
	}
	in, err := json.Marshal(map[string]any{
		"method": r.Method, "url": r.URL.String(), "headers": headers, "body": string(body),
		"id": accessKeyID, "secret": secret, "region": region, "service": "teamkeys",
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python(t), "-c", botocoreScript)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	done := make(chan struct{})
	var out []byte
	go func() { out, err = cmd.Output(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("othersigners: waited 60 s for botocore to sign")
	}
	if err != nil {
		t.Fatalf("othersigners: botocore: %v\n%s", err, stderr.String())
	}
	var signed map[string]string
	if err := json.Unmarshal(out, &signed); err != nil {
		t.Fatalf("othersigners: botocore wrote %q: %v", out, err)
	}
	for name, value := range signed {
		if name == "Content-Length" {
			continue // the transport sends the body's own
		}
		r.Header.Set(name, value)
	}
	r.Body = http.NoBody
	if len(body) > 0 {
		r.Body = readCloser{bytes.NewReader(body)}
		r.ContentLength = int64(len(body))
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// python is the Python of .cache/venv-signers, which `make tools` installs.
func python(t testing.TB) string {
	t.Helper()
	cache := os.Getenv("TEAMKEYS_CACHE")
	if cache == "" {
		_, file, _, _ := runtime.Caller(0)
		cache = filepath.Join(filepath.Dir(file), "..", "..", "..", ".cache")
	}
	p := filepath.Join(cache, "venv-signers", "bin", "python")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("othersigners: %s is missing: run `make tools` (it installs botocore, pinned, into .cache/venv-signers)", p)
	}
	return p
}
