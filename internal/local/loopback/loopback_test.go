package loopback_test

import (
	"net/http/httptest"
	"testing"

	"github.com/teamkeys/teamkeys/internal/local/loopback"
)

// A request counts as this machine's only when it both comes from a
// loopback peer and names a loopback host.
func TestRequest(t *testing.T) {
	tests := []struct {
		name, host, peer string
		want             bool
	}{
		{"127.0.0.1", "127.0.0.1:3000", "127.0.0.1:50000", true},
		{"localhost", "localhost:3000", "127.0.0.1:50000", true},
		{"LOCALHOST, no port", "LOCALHOST", "[::1]:50000", true},
		{"IPv6 loopback", "[::1]:3000", "[::1]:50000", true},
		{"127.0.0.2", "127.0.0.2:3000", "127.0.0.2:50000", true},
		{"DNS rebinding: another name, loopback peer", "rebind.example:3000", "127.0.0.1:50000", false},
		{"a name that starts like localhost", "localhost.rebind.example:3000", "127.0.0.1:50000", false},
		{"the LAN address", "192.168.1.10:3000", "127.0.0.1:50000", false},
		{"another host, naming 127.0.0.1", "127.0.0.1:3000", "203.0.113.5:40000", false},
		{"a peer without a port", "127.0.0.1:3000", "127.0.0.1", false},
		{"no Host", "", "127.0.0.1:50000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", nil)
			r.Host, r.RemoteAddr = tt.host, tt.peer
			if got := loopback.Request(r); got != tt.want {
				t.Errorf("Host %q from %q: %v, want %v", tt.host, tt.peer, got, tt.want)
			}
		})
	}
}
