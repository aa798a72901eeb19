package emulators

import (
	"net/netip"
	"slices"
)

// Listener is an emulator this Env started and the sockets it listens on.
//
// Neither emulator can be told which address to bind: DynamoDB Local has
// no bind-address option and local-kms listens on ":"+PORT. Both listen on
// every interface, so anyone who can reach this machine on their ports can
// read the table (DynamoDB Local accepts any credentials) and decrypt every
// stored secret (local-kms has no authentication at all). The endpoints this
// package hands out are on 127.0.0.1, but that does not limit who else
// connects.
type Listener struct {
	Name string // "DynamoDB Local" or "local-kms"
	Pid  int
	Port int
	// Addrs are the addresses the process listens on, read from the
	// operating system (Linux: /proc). Nil when they can't be read there.
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
	procs := []struct {
		p    *proc
		port int
	}{{e.ddb, e.ddbPort}, {e.kms, e.kmsPort}}
	e.mu.Unlock()
	var out []Listener
	for _, c := range procs {
		if c.p == nil || c.p.exited() {
			continue
		}
		l := Listener{Name: c.p.name, Pid: c.p.pid(), Port: c.port}
		if addrs, err := listenAddrs(l.Pid); err == nil {
			l.Addrs = addrs
			if l.Addrs == nil {
				l.Addrs = []netip.AddrPort{}
			}
		}
		out = append(out, l)
	}
	return out
}
