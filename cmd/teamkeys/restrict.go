package main

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/teamkeys/teamkeys/pkg/client"
)

// restrictFlags are a key's restriction flags, the same on keys create,
// rotate and update:
//
//	--allow-cidr CIDR  (repeatable, or a comma list) the networks the key may sign from
//	--any-source       allowedCidrs null: any source address
//	--scope S          (repeatable, or a comma list) what the key grants
//	--all-scopes       scopes null: unrestricted (create: instead of the team's default scopes)
//	--no-scopes        scopes []: a key that grants nothing behind the authorizer
//
// Absent, a field is not sent: create gives any source and the team's
// default scopes (else unrestricted), rotate copies the old key's, update
// leaves it as it is.
type restrictFlags struct {
	cidrs, scopes                  []string
	anySource, allScopes, noScopes bool
}

func (r *restrictFlags) add(c *cobra.Command, absent string) {
	f := c.Flags()
	f.StringSliceVar(&r.cidrs, "allow-cidr", nil, "a network the key may sign from: an IPv4 or IPv6 prefix or address (repeatable, or a comma list; "+absent+")")
	f.BoolVar(&r.anySource, "any-source", false, "the key may sign from any source address (allowedCidrs null)")
	f.StringSliceVar(&r.scopes, "scope", nil, "a scope the key grants behind the authorizer, such as orders:read or orders:* (repeatable, or a comma list; "+absent+")")
	f.BoolVar(&r.allScopes, "all-scopes", false, "the key grants every scope (scopes null; on create, instead of the team's default scopes)")
	f.BoolVar(&r.noScopes, "no-scopes", false, "the key grants no scope at all (scopes [])")
	c.MarkFlagsMutuallyExclusive("allow-cidr", "any-source")
	c.MarkFlagsMutuallyExclusive("scope", "all-scopes", "no-scopes")
}

// restrictions are the flags as the request's fields; set says whether
// any flag was given.
func (r *restrictFlags) restrictions(f *pflag.FlagSet) (out client.Restrictions, set bool, err error) {
	switch {
	case flagChanged(f, "allow-cidr"):
		cidrs, err := nonEmpty("--allow-cidr", r.cidrs)
		if err != nil {
			return out, false, err
		}
		out.AllowedCidrs, set = client.Restrict(cidrs...), true
	case r.anySource:
		out.AllowedCidrs, set = client.Lift(), true
	}
	switch {
	case flagChanged(f, "scope"):
		scopes, err := nonEmpty("--scope", r.scopes)
		if err != nil {
			return out, false, err
		}
		out.Scopes, set = client.Restrict(scopes...), true
	case r.allScopes:
		out.Scopes, set = client.Lift(), true
	case r.noScopes:
		out.Scopes, set = client.Restrict(), true
	}
	return out, set, nil
}

// nonEmpty is a list flag's values trimmed, refusing an empty one (say
// --no-scopes for no scope; a key usable from no network is refused).
func nonEmpty(flag string, values []string) ([]string, error) {
	out := make([]string, 0, len(values))
	for _, v := range values {
		v = strings.TrimSpace(v)
		if v == "" {
			return nil, usagef("empty %s value", flag)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, usagef("empty %s value", flag)
	}
	return out, nil
}

// listCell is a restriction in a table: "any" when unrestricted (null),
// "none" for an empty list, else the entries comma-joined.
func listCell(list *[]string) string {
	switch {
	case list == nil:
		return "any"
	case len(*list) == 0:
		return "none"
	}
	return strings.Join(*list, ",")
}

func (a *App) keysUpdateCommand() *cobra.Command {
	var description string
	var rf restrictFlags
	c := &cobra.Command{
		Use:   "update MEMBER ACCESS_KEY_ID [--description D] [--allow-cidr CIDR... | --any-source] [--scope S... | --all-scopes | --no-scopes]",
		Short: "Change an access key's description, source networks or scopes (the key and its secret stay)",
		Long: `Change what an existing key may do, in place (PATCH): its description,
the networks it may sign from (--allow-cidr, repeatable; --any-source lifts
the restriction) and the scopes it grants behind the authorizer (--scope,
repeatable; --all-scopes lifts the restriction; --no-scopes grants none). A
field whose flags are absent is left as it is; a list given replaces the
key's list. The service stores the entries in canonical form and answers
the key as it now is. See docs/RESTRICTING.md.`,
		Example: `  teamkeys keys update alice TKAKABCDEFGHIJKLMNOPQRST --allow-cidr 203.0.113.0/24 --allow-cidr 2001:db8::/48
  teamkeys keys update alice TKAKABCDEFGHIJKLMNOPQRST --scope orders:read --scope 'invoices:*'
  teamkeys keys update alice TKAKABCDEFGHIJKLMNOPQRST --any-source --all-scopes --description "no limits"`,
		Args:              exactArgs(2, "MEMBER ACCESS_KEY_ID"),
		ValidArgsFunction: a.completeKeyIDs,
		RunE: a.wrap(func(cmd *cobra.Command, args []string) error {
			r, set, err := rf.restrictions(cmd.Flags())
			if err != nil {
				return err
			}
			u := client.AccessKeyUpdate{AllowedCidrs: r.AllowedCidrs, Scopes: r.Scopes}
			if flagChanged(cmd.Flags(), "description") {
				u.Description, set = &description, true
			}
			if !set {
				return usagef("nothing to change: pass --description, --allow-cidr, --any-source, --scope, --all-scopes or --no-scopes")
			}
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			key, err := c.UpdateAccessKey(ctx, team, args[0], args[1], u)
			if err != nil {
				return err
			}
			return a.printKey(key)
		}),
	}
	c.Flags().StringVar(&description, "description", "", "the key's new description (\"\" clears it)")
	rf.add(c, "absent: left as it is")
	return c
}
