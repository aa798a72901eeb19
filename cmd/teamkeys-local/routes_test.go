package main

import (
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesAnInvalidRouteTable: serve exits non-zero at once,
// before starting anything, naming the route table's bad entry; likewise
// for an upstream URL that is not http://.
func TestServeRefusesAnInvalidRouteTable(t *testing.T) {
	tests := []struct{ name, env, want string }{
		{"unknown method", `TEAMKEYS_ROUTE_SCOPES={"GET /orders": "orders:read", "FETCH /orders": "orders:read"}`, "FETCH /orders"},
		{"bad pattern", `TEAMKEYS_ROUTE_SCOPES={"GET orders/{id}": "orders:read"}`, "GET orders/{id}"},
		{"wildcard scope", `TEAMKEYS_ROUTE_SCOPES={"GET /orders": "orders:*"}`, "orders:*"},
		{"upstream not http", "TEAMKEYS_UPSTREAM_URL=ftp://example.com/", "TEAMKEYS_UPSTREAM_URL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := command(t, []string{"TEAMKEYS_CACHE=" + t.TempDir(), "TEAMKEYS_ADDR=127.0.0.1:0", tc.env}, "serve")
			cmd.WaitDelay = 30 * time.Second
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("serve: %v, want a non-zero exit\n%s", err, out)
			}
			if !strings.Contains(string(out), tc.want) || strings.Contains(string(out), "starting DynamoDB Local") {
				t.Fatalf("serve said:\n%s\nwant the entry %q named, before anything starts", out, tc.want)
			}
		})
	}
}
