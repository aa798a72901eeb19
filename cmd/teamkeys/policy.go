package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/teamkeys/teamkeys/pkg/client"
)

func (a *App) policyCommand() *cobra.Command {
	return a.group("policy", "Show or set the team's key policy (the longest lifetime of a key)",
		a.policyGetCommand(), a.policySetCommand())
}

func (a *App) policyGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "get",
		Short:             "Show the team's key policy",
		Example:           `  teamkeys policy get -o json`,
		Args:              exactArgs(0, "no arguments"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.wrap(func(cmd *cobra.Command, _ []string) error {
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			p, err := c.GetKeyPolicy(ctx, team)
			if err != nil {
				return err
			}
			return a.printPolicy(p)
		}),
	}
}

func (a *App) policySetCommand() *cobra.Command {
	var yes, none bool
	var days int
	c := &cobra.Command{
		Use:   "set (--max-lifetime-days N | --none)",
		Short: "Set the longest lifetime of the team's keys, or lift it (owner only; asks first)",
		Long: `Set the team's key policy: every key created from now on expires within
--max-lifetime-days days of its creation (one created without an expiry
expires then; one asking for later is refused; keys made before keep their
expiry), or, with --none, lift the limit. Only the team's owner may; asks
first.`,
		Example: `  teamkeys policy set --max-lifetime-days 90 --yes
  teamkeys policy set --none --yes`,
		Args:              exactArgs(0, "no arguments"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.wrap(func(cmd *cobra.Command, _ []string) error {
			set := flagChanged(cmd.Flags(), "max-lifetime-days")
			if set == none {
				return usagef("pass either --max-lifetime-days N or --none")
			}
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			req := client.KeyPolicyRequest{}
			action := fmt.Sprintf("lift team %s's limit on key lifetime", team)
			note := ""
			if set {
				req.MaxLifetimeDays = &days
				action = fmt.Sprintf("set team %s's longest key lifetime to %d days", team, days)
				note = "Keys made from now on expire within it; existing keys keep their expiry."
			}
			if err := a.confirm(yes, action, note); err != nil {
				return err
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			p, err := c.PutKeyPolicy(ctx, team, req)
			if err != nil {
				return err
			}
			return a.printPolicy(p)
		}),
	}
	f := c.Flags()
	f.IntVar(&days, "max-lifetime-days", 0, "every key expires within this many days of its creation (1 to 3650)")
	f.BoolVar(&none, "none", false, "lift the limit")
	f.BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
	c.MarkFlagsMutuallyExclusive("max-lifetime-days", "none")
	return c
}

func (a *App) printPolicy(p *client.KeyPolicy) error {
	if a.cfg.Output == "json" {
		return printJSON(a.Stdout, p)
	}
	limit := "none"
	if p.MaxLifetimeDays != nil {
		limit = num(p.MaxLifetimeDays)
	}
	t := newTable(a.Stdout, "TEAM", "MAX LIFETIME DAYS", "UPDATED", "UPDATED BY")
	t.row(p.TeamId, limit, tableTime(p.UpdatedAt), str(p.UpdatedBy))
	return t.flush()
}
