package lambdarie

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// TryInvoke sends ev as one invocation and returns the emulator's status
// and body, whatever they are: for a function whose init must fail.
func (f *Function) TryInvoke(ev any) (int, []byte) {
	f.t.Helper()
	payload, err := json.Marshal(ev)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	invocationID := fmt.Sprintf("%s-invocation-%d-%d", f.Name, len(f.invocations)+1, time.Now().UnixNano())
	f.invocations = append(f.invocations, invocationID)
	a, err := Invoke(context.Background(), f.addr, invocationID, payload)
	if err != nil {
		f.t.Fatalf("%s: %v", f.Name, err)
	}
	return a.Status, a.Body
}
