package leak

import (
	"context"
	"log/slog"
	"time"
)

// NewCache is the cache URLKeys build, with a fake fetcher, clock and log.
func NewCache(fetch func(context.Context) ([]byte, error), now func() time.Time, log *slog.Logger) Keys {
	c := newCache(fetch, RefetchInterval)
	c.now, c.log = now, func() *slog.Logger { return log }
	return c
}
