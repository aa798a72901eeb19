// Package sdkcalls counts the AWS SDK operations a piece of code makes, for
// the tests and benchmarks that hold it to its call budget.
package sdkcalls

import (
	"context"
	"sync"

	"github.com/aws/smithy-go/middleware"
)

// Counter counts operations by "Service.Operation", once per call: the
// SDK's retries of one call are not counted again.
type Counter struct {
	mu    sync.Mutex
	calls map[string]int
}

// New returns an empty Counter.
func New() *Counter { return &Counter{calls: map[string]int{}} }

// APIOption is the middleware to append to a client's APIOptions.
func (c *Counter) APIOption(service string) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("sdkcalls.Counter",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				c.mu.Lock()
				c.calls[service+"."+middleware.GetOperationName(ctx)]++
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
	}
}

// Take returns the calls counted since the last Take, and starts afresh.
func (c *Counter) Take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.calls
	c.calls = map[string]int{}
	return out
}
