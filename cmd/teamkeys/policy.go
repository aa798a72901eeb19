package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func (a *App) policyCommand() *cobra.Command {
	return a.group("policy", "Show or set the team's key policy (the longest lifetime of a key, the team's networks, default scopes)",
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
			p, err := c.KeyPolicyJSON(ctx, team, nil)
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
	var cidrs, defaultScopes []string
	var warningDays []int
	var unusedDays int
	var selfRotation bool
	c := &cobra.Command{
		Use:   "set (--max-lifetime-days N | --none) [--allow-cidr CIDR]... [--default-scope S]... [--expiry-warning-days D,...] [--disable-unused-after-days N] [--allow-self-rotation]",
		Short: "Set the longest lifetime of the team's keys, or lift it (owner only; asks first)",
		Long: `Set the team's key policy: every key created from now on expires within
--max-lifetime-days days of its creation (one created without an expiry
expires then; one asking for later is refused; keys made before keep their
expiry), or, with --none, lift the limit. Only the team's owner may; asks
first.

The policy is set as a whole: --allow-cidr (repeatable) sets the team's
networks (every key created or rotated from then on, and every update of a
key's networks, must name networks inside them; keys that exist keep
working, and the answer counts those outside as keysOutsidePolicy), and
--default-scope (repeatable) the scopes of a new key that asks for none.
Left out, each is none. See docs/RESTRICTING.md.

--expiry-warning-days (1 to 5 distinct days, each 1 to 365; left out: the
default 30,7,1) are when an active key gets an AccessKeyExpiring record
before it expires; --disable-unused-after-days N (1 to 3650; left out: off)
has the service disable keys unused that long, with an AccessKeyDormant
warning seven days before; --allow-self-rotation lets a key rotate itself
(teamkeys keys rotate --self; left out: not allowed).`,
		Example: `  teamkeys policy set --max-lifetime-days 90 --yes
  teamkeys policy set --none --yes
  teamkeys policy set --max-lifetime-days 90 --allow-cidr 203.0.113.0/24 --default-scope orders:read --yes`,
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
			// A hand-written body: the policy's network and default-scope
			// fields may be newer than client.KeyPolicyRequest.
			req := map[string]any{"maxLifetimeDays": nil}
			action := fmt.Sprintf("lift team %s's limit on key lifetime", team)
			note := ""
			if set {
				req["maxLifetimeDays"] = days
				action = fmt.Sprintf("set team %s's longest key lifetime to %d days", team, days)
				note = "Keys made from now on expire within it; existing keys keep their expiry."
			}
			if flagChanged(cmd.Flags(), "allow-cidr") {
				if req["allowedCidrs"], err = nonEmpty("--allow-cidr", cidrs); err != nil {
					return err
				}
				action += ", its networks to " + strings.Join(cidrs, ",")
				note += " Keys created, rotated or updated from now on must sign from inside them; existing keys keep working."
			} else {
				action += ", with no network limit"
			}
			if flagChanged(cmd.Flags(), "default-scope") {
				if req["defaultScopes"], err = nonEmpty("--default-scope", defaultScopes); err != nil {
					return err
				}
				action += ", its default scopes to " + strings.Join(defaultScopes, ",")
			} else {
				action += ", with no default scopes"
			}
			if flagChanged(cmd.Flags(), "expiry-warning-days") {
				req["expiryWarningDays"] = warningDays
				action += fmt.Sprintf(", expiry warnings at %v days", warningDays)
			}
			if flagChanged(cmd.Flags(), "disable-unused-after-days") {
				req["disableUnusedAfterDays"] = unusedDays
				action += fmt.Sprintf(", keys unused for %d days disabled", unusedDays)
			}
			if selfRotation {
				req["allowSelfRotation"] = true
				action += ", keys may rotate themselves"
			}
			note = strings.TrimSpace(note)
			if err := a.confirm(yes, action, note); err != nil {
				return err
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			p, err := c.KeyPolicyJSON(ctx, team, req)
			if err != nil {
				return err
			}
			return a.printPolicy(p)
		}),
	}
	f := c.Flags()
	f.IntVar(&days, "max-lifetime-days", 0, "every key expires within this many days of its creation (1 to 3650)")
	f.BoolVar(&none, "none", false, "lift the limit")
	f.StringSliceVar(&cidrs, "allow-cidr", nil, "a network of the team: keys must sign from inside the team's networks (repeatable, or a comma list; absent: none)")
	f.StringSliceVar(&defaultScopes, "default-scope", nil, "a scope given to a new key whose request names none (repeatable, or a comma list; absent: none)")
	f.IntSliceVar(&warningDays, "expiry-warning-days", nil, "days before expiry at which a key's AccessKeyExpiring record is written (a comma list; absent: 30,7,1)")
	f.IntVar(&unusedDays, "disable-unused-after-days", 0, "disable keys unused this many days (1 to 3650; absent: off)")
	f.BoolVar(&selfRotation, "allow-self-rotation", false, "let a key rotate itself (POST /v1/access-keys/self/rotate; absent: not allowed)")
	f.BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
	c.MarkFlagsMutuallyExclusive("max-lifetime-days", "none")
	return c
}

// policyView is the policy's answer, with the fields that may be newer
// than client.KeyPolicy.
type policyView struct {
	TeamId            string    `json:"teamId"`
	MaxLifetimeDays   *int      `json:"maxLifetimeDays"`
	AllowedCidrs      *[]string `json:"allowedCidrs"`
	DefaultScopes     *[]string `json:"defaultScopes"`
	KeysOutsidePolicy *int      `json:"keysOutsidePolicy"`
	// False when keysOutsidePolicy is a lower bound.
	KeysOutsidePolicyComplete *bool      `json:"keysOutsidePolicyComplete"`
	ExpiryWarningDays         []int      `json:"expiryWarningDays"`
	DisableUnusedAfterDays    *int       `json:"disableUnusedAfterDays"`
	AllowSelfRotation         bool       `json:"allowSelfRotation"`
	UpdatedAt                 *time.Time `json:"updatedAt"`
	UpdatedBy                 *string    `json:"updatedBy"`
}

// printPolicy shows the policy's answer: its JSON as the service wrote it,
// or a table.
func (a *App) printPolicy(raw json.RawMessage) error {
	if a.cfg.Output == "json" {
		return printJSON(a.Stdout, raw)
	}
	var p policyView
	if err := json.Unmarshal(raw, &p); err != nil {
		return fmt.Errorf("decoding the key policy: %w", err)
	}
	limit := "none"
	if p.MaxLifetimeDays != nil {
		limit = num(p.MaxLifetimeDays)
	}
	defaults := "none"
	if p.DefaultScopes != nil {
		defaults = listCell(p.DefaultScopes)
	}
	outside := num(p.KeysOutsidePolicy)
	if p.KeysOutsidePolicyComplete != nil && !*p.KeysOutsidePolicyComplete {
		outside += "+" // a lower bound: the count stopped at its bound
	}
	unused := "off"
	if p.DisableUnusedAfterDays != nil {
		unused = num(p.DisableUnusedAfterDays)
	}
	warnings := make([]string, len(p.ExpiryWarningDays))
	for i, d := range p.ExpiryWarningDays {
		warnings[i] = strconv.Itoa(d)
	}
	selfRotation := "no"
	if p.AllowSelfRotation {
		selfRotation = "yes"
	}
	t := newTable(a.Stdout, "TEAM", "MAX LIFETIME DAYS", "ALLOWED CIDRS", "DEFAULT SCOPES", "KEYS OUTSIDE POLICY",
		"EXPIRY WARNING DAYS", "DISABLE UNUSED AFTER DAYS", "SELF ROTATION", "UPDATED", "UPDATED BY")
	t.row(p.TeamId, limit, listCell(p.AllowedCidrs), defaults, outside,
		strings.Join(warnings, ","), unused, selfRotation, tableTime(p.UpdatedAt), str(p.UpdatedBy))
	return t.flush()
}
