//go:build !linux

package emulators

import (
	"errors"
	"net/netip"
)

// listenAddrs is known on Linux only.
func listenAddrs(int) ([]netip.AddrPort, error) {
	return nil, errors.New("listening addresses are read on Linux only")
}
