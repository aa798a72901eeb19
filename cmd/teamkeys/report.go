package main

import (
	"github.com/spf13/cobra"
)

func (a *App) reportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "report",
		Short: "Print the team's credential report (CSV unless -o json or -o table)",
		Long: `Print the team's credential report, one row per key: status, created,
expires, last used (when, how, from where), age and days since last use. CSV
by default, as the service writes it (like aws iam get-credential-report);
-o json gives the API's JSON, -o table aligned columns.`,
		Example: `  teamkeys report > report.csv
  teamkeys report -o json | jq '.keys[] | select(.daysSinceLastUse == null)'`,
		Annotations:       map[string]string{outputsAnnotation: "csv,json,table"},
		Args:              exactArgs(0, "no arguments"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.wrap(func(cmd *cobra.Command, _ []string) error {
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			if a.cfg.Output == "csv" {
				csv, err := c.CredentialReportCSV(ctx, team)
				if err != nil {
					return err
				}
				_, err = a.Stdout.Write(csv)
				return err
			}
			r, err := c.CredentialReport(ctx, team)
			if err != nil {
				return err
			}
			if a.cfg.Output == "json" {
				return printJSON(a.Stdout, r)
			}
			t := newTable(a.Stdout, "KEY ID", "MEMBER", "STATUS", "CREATED", "EXPIRES", "LAST USED", "SCHEME", "SOURCE IP", "AGE DAYS", "DAYS SINCE USE", "DESCRIPTION")
			for _, k := range r.Keys {
				scheme := ""
				if k.LastUsedScheme != nil {
					scheme = string(*k.LastUsedScheme)
				}
				t.row(k.AccessKeyId, k.MemberId, string(k.Status), tableTime(&k.CreatedAt), tableTime(k.ExpiresAt), tableTime(k.LastUsedAt),
					scheme, str(k.LastUsedSourceIp), num(&k.AgeDays), num(k.DaysSinceLastUse), k.Description)
			}
			return t.flush()
		}),
	}
}
