//go:build teamkeys_faults

package httpapi

import "net/http"

// FaultHeader names the fault a request asks a teamkeys_faults build to
// inject. Production binaries are built without the tag and contain neither
// this file nor the header name.
const FaultHeader = "x-teamkeys-fault"

// FaultPanic makes the handler chain panic, after the request id, the access
// log and the panic recovery are in place, as a bug in a handler would.
const FaultPanic = "panic"

func init() {
	faultHook = func(r *http.Request) {
		if r.Header.Get(FaultHeader) == FaultPanic {
			panic("teamkeys_faults: injected panic")
		}
	}
}
