package emulators

import (
	"net/netip"
	"os"
	"slices"
)

// Listener is an emulator this Env started and the sockets it listens on.
//
// DynamoDB Local has no bind-address option: it listens on every
// interface, so anyone who can reach this machine on its port can read and
// write the table (it accepts any credentials). local-kms is served in this
// process on 127.0.0.1 only (kmsserver.go): without it the table's
// ciphertexts are useless to a stranger. The endpoints this package hands
// out are on 127.0.0.1.
type Listener struct {
	Name string // "DynamoDB Local" or "local-kms"
	Pid  int    // local-kms: this process
	Port int
	// Addrs are the addresses it listens on: DynamoDB Local's read from
	// the operating system (Linux: /proc), nil when they can't be read
	// there; local-kms's is its listener's own.
	Addrs []netip.AddrPort
}

// Exposed says whether l may be reachable from other machines: it listens
// on an address that is not loopback (the unspecified address 0.0.0.0 or ::
// included), or its addresses are unknown.
func (l Listener) Exposed() bool {
	if l.Addrs == nil {
		return true
	}
	return slices.ContainsFunc(l.Addrs, func(a netip.AddrPort) bool { return !a.Addr().Unmap().IsLoopback() })
}

// Listeners returns the emulators this Env started (none for an external
// endpoint) and where each listens.
func (e *Env) Listeners() []Listener {
	e.mu.Lock()
	ddb, ddbPort, kms, kmsPort := e.ddb, e.ddbPort, e.kms, e.kmsPort
	e.mu.Unlock()
	var out []Listener
	if ddb != nil && !ddb.exited() {
		l := Listener{Name: ddb.name, Pid: ddb.pid(), Port: ddbPort}
		if addrs, err := listenAddrs(l.Pid); err == nil {
			l.Addrs = addrs
			if l.Addrs == nil {
				l.Addrs = []netip.AddrPort{}
			}
		}
		out = append(out, l)
	}
	if kms != nil && !kms.stopped() {
		l := Listener{Name: "local-kms", Pid: os.Getpid(), Port: kmsPort, Addrs: []netip.AddrPort{}}
		if ap, err := netip.ParseAddrPort(kms.addr().String()); err == nil {
			l.Addrs = append(l.Addrs, ap)
		} else {
			l.Addrs = nil
		}
		out = append(out, l)
	}
	return out
}
