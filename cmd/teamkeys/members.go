package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/teamkeys/teamkeys/pkg/client"
)

func (a *App) membersCommand() *cobra.Command {
	return a.group("members", "Act on a member of the team", a.membersOffboardCommand())
}

func (a *App) membersOffboardCommand() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:   "offboard MEMBER",
		Short: "Delete every access key of a member (asks first)",
		Long: `Delete every access key of a member, as when they leave the team. The JSON is
the API's {"deleted": [...]}, the ids of the keys deleted; a member with no
keys is not an error.`,
		Example:           `  teamkeys members offboard alice --yes`,
		Args:              exactArgs(1, "MEMBER"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.wrap(func(cmd *cobra.Command, args []string) error {
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			if err := a.confirm(yes, fmt.Sprintf("delete every access key of %s in team %s", args[0], team), "It cannot be undone."); err != nil {
				return err
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			out, err := c.OffboardMember(ctx, team, args[0])
			if err != nil {
				return err
			}
			if out.Deleted == nil {
				out.Deleted = []client.AccessKeyId{}
			}
			fmt.Fprintf(a.Stderr, "Deleted %d access key(s) of %s.\n", len(out.Deleted), clean(args[0]))
			if a.cfg.Output == "json" {
				return printJSON(a.Stdout, out)
			}
			t := newTable(a.Stdout, "DELETED KEY ID")
			for _, id := range out.Deleted {
				t.row(id)
			}
			return t.flush()
		}),
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
	return c
}
