package main

import (
	"github.com/spf13/cobra"

	"github.com/teamkeys/teamkeys/pkg/client"
)

func (a *App) whoamiCommand() *cobra.Command {
	var scheme string
	c := &cobra.Command{
		Use:   "whoami",
		Short: "Name the access key you sign with, its team and its member",
		Long: `Send GET /v1/whoami signed with the access key of TEAMKEYS_ACCESS_KEY_ID and
TEAMKEYS_SECRET_ACCESS_KEY (SigV4), or POST /v1/whoami with --scheme zc2, and
show what the service verified: the key, its team and its member, and the
key's restrictions (allowed source networks and scopes; "any": none). Needs no
token and no team.`,
		Example: `  TEAMKEYS_ACCESS_KEY_ID=TKAK... TEAMKEYS_SECRET_ACCESS_KEY=tksk_... teamkeys whoami
  teamkeys whoami --scheme zc2 -o json`,
		Args:              exactArgs(0, "no arguments"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.wrap(func(cmd *cobra.Command, _ []string) error {
			zc2, err := parseScheme(scheme)
			if err != nil {
				return err
			}
			c, err := a.keyClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			var who *client.WhoAmI
			if zc2 {
				who, err = c.WhoAmIPost(ctx, nil, true)
			} else {
				who, err = c.WhoAmIGet(ctx)
			}
			if err != nil {
				return err
			}
			if a.cfg.Output == "json" {
				return printJSON(a.Stdout, who)
			}
			t := newTable(a.Stdout, "KEY ID", "TEAM", "MEMBER", "SCHEME", "ALLOWED CIDRS", "SCOPES")
			t.row(who.AccessKeyId, who.TeamId, who.MemberId, string(who.Scheme), listCell(who.AllowedCidrs), listCell(who.Scopes))
			return t.flush()
		}),
	}
	c.Flags().StringVar(&scheme, "scheme", "sigv4", "signature scheme: sigv4 (AWS Signature Version 4) or zc2 (ZC2-HMAC-SHA256, POST)")
	_ = c.RegisterFlagCompletionFunc("scheme", cobra.FixedCompletions([]string{"sigv4", "zc2"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// parseScheme says whether --scheme is zc2.
func parseScheme(s string) (zc2 bool, err error) {
	switch s {
	case "sigv4", "SigV4", "AWS4-HMAC-SHA256":
		return false, nil
	case "zc2", "ZC2", "ZC2-HMAC-SHA256":
		return true, nil
	}
	return false, usagef("invalid --scheme %q: want sigv4 or zc2", s)
}
