// SweepExpiredKeys removes expired keys, slot and all, on a schedule
// (template.yaml's SweepSchedule).
package main

import (
	"context"
	"time"

	"github.com/teamkeys/teamkeys/internal/lambdamain"
	"github.com/teamkeys/teamkeys/internal/sweep"
)

func main() {
	env := lambdamain.Init()
	store := env.Store()
	env.Start(func(ctx context.Context) (sweep.Result, error) {
		return sweep.Run(ctx, store, time.Now(), env.Log)
	}, nil)
}
