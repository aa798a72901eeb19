// Package loopback tells a request made on this machine, to this machine,
// from any other: what the local server's unauthenticated conveniences
// (the console's sign-in, the EventBridge stand-in) answer only. Both
// checks are needed: the peer stops another host that reaches the port,
// the Host header stops a page in the developer's own browser that reaches
// 127.0.0.1 through a DNS name it controls (DNS rebinding), whose requests
// come from loopback but name the attacker's host.
package loopback

import (
	"net"
	"net/http"
	"strings"
)

// Request reports whether r both names this machine (Host) and comes from
// it (the TCP peer).
func Request(r *http.Request) bool {
	return Host(r.Host) && Peer(r.RemoteAddr)
}

// Host reports whether a Host header names this machine: localhost or a
// loopback address, with or without a port.
func Host(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

// Peer reports whether a request's RemoteAddr (host:port) is a loopback
// address.
func Peer(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
