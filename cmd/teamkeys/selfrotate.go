package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/teamkeys/teamkeys/pkg/client"
)

// flagSelf is keys rotate's --self: rotate the access key of the
// environment, signed by it (POST /v1/access-keys/self/rotate).
const flagSelf = "self"

// selfOrArgs is keys rotate's positional arguments: none with --self,
// else what args wants.
func selfOrArgs(args cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, in []string) error {
		if self, _ := cmd.Flags().GetBool(flagSelf); self {
			if len(in) != 0 {
				return usagef("%s --self takes no arguments: it rotates the key of %s (got %d argument(s))", cmd.CommandPath(), envAccessKeyID, len(in))
			}
			return nil
		}
		return args(cmd, in)
	}
}

// rotateSelf is keys rotate --self: the key of the environment rotates
// itself, shown with its secret as keys rotate shows a new key.
func (a *App) rotateSelf(cmd *cobra.Command, grace, idempotencyKey, outputFile string, yes bool) error {
	if flagChanged(cmd.Flags(), "description") {
		return usagef("--self keeps the key's description: --description applies to an admin's rotation only")
	}
	in := client.RotateSelfInput{}
	retire := "after the service's default grace period (a day)"
	if flagChanged(cmd.Flags(), "grace-period") {
		d, err := parseDuration(grace)
		if err != nil || d < 0 || d%time.Second != 0 {
			return usagef("invalid --grace-period %q: want a whole number of seconds or more, such as 0, 90s, 24h or 7d", grace)
		}
		seconds := int(d / time.Second)
		in.GracePeriodSeconds = &seconds
		retire = "after " + grace
		if seconds == 0 {
			retire = "at once"
		}
	}
	c, err := a.keyClient()
	if err != nil {
		return err
	}
	if err := a.confirm(yes, fmt.Sprintf("rotate your access key %s (%s)", a.cfg.AccessKeyID, envAccessKeyID),
		"The old key is retired "+retire+"; update what uses it with the new key."); err != nil {
		return err
	}
	return a.showCreated(cmd, outputFile, idempotencyKey, nil, func(ctx context.Context, key string) (*client.CreatedAccessKey, error) {
		in.IdempotencyKey = key
		out, err := c.RotateSelf(ctx, in)
		if err != nil {
			return nil, err
		}
		return &out.Key, nil
	})
}
