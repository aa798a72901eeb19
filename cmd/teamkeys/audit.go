package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/teamkeys/teamkeys/pkg/client"
)

// maxAuditPage is the API's largest page.
const maxAuditPage = 100

func (a *App) auditCommand() *cobra.Command {
	var member, key, nextToken string
	var limit int
	var all bool
	c := &cobra.Command{
		Use:   "audit",
		Short: "List the team's audit trail, newest first",
		Long: `List the team's audit trail, newest first: who created, disabled, enabled,
rotated, deleted which key (or changed the key policy), when, from where.
Filter by --member or --key. Up to --limit events (following the API's pages
as needed), or every one with --all. The JSON is the API's
{"auditEvents": [...], "nextToken": ...}: pass a nextToken back with
--next-token to go on where the list stopped.`,
		Example: `  teamkeys audit --member alice --limit 20
  teamkeys audit --key TKAKABCDEFGHIJKLMNOPQRST --all -o json`,
		Args:              exactArgs(0, "no arguments"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.wrap(func(cmd *cobra.Command, _ []string) error {
			if limit < 1 && !all {
				return usagef("invalid --limit %d: want 1 or more (or --all)", limit)
			}
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			params := &client.ListAuditEventsParams{MemberId: optional(member), AccessKeyId: optional(key), NextToken: optional(nextToken)}
			out := &client.AuditEventList{AuditEvents: []client.AuditEvent{}}
			for {
				size := maxAuditPage
				if !all {
					size = min(limit-len(out.AuditEvents), maxAuditPage)
				}
				params.Limit = &size
				page, err := c.ListAuditEvents(ctx, team, params)
				if err != nil {
					return err
				}
				out.AuditEvents = append(out.AuditEvents, page.AuditEvents...)
				out.NextToken = page.NextToken
				if page.NextToken == nil || *page.NextToken == "" || (!all && len(out.AuditEvents) >= limit) {
					break
				}
				params.NextToken = page.NextToken
			}
			if out.NextToken != nil && *out.NextToken == "" {
				out.NextToken = nil
			}
			if a.cfg.Output == "json" {
				return printJSON(a.Stdout, out)
			}
			t := newTable(a.Stdout, "TIME", "ACTION", "MEMBER", "KEY ID", "ACTOR", "SOURCE IP", "CHANGES")
			for _, e := range out.AuditEvents {
				actor := string(e.Actor.Type)
				if e.Actor.Sub != nil {
					actor = *e.Actor.Sub
				}
				t.row(tableSeconds(e.Time), string(e.Action), str(e.MemberId), str(e.AccessKeyId), actor, str(e.Actor.SourceIp), changes(e))
			}
			if err := t.flush(); err != nil {
				return err
			}
			if len(out.AuditEvents) == 0 {
				fmt.Fprintln(a.Stderr, "No audit events.")
			}
			if out.NextToken != nil {
				fmt.Fprintf(a.Stderr, "More events: pass --next-token %s\n", clean(*out.NextToken))
			}
			return nil
		}),
	}
	f := c.Flags()
	f.StringVar(&member, "member", "", "only the events of this member")
	f.StringVar(&key, "key", "", "only the events of this access key id")
	f.IntVar(&limit, "limit", 50, "at most this many events")
	f.BoolVar(&all, "all", false, "every event (no --limit)")
	f.StringVar(&nextToken, "next-token", "", "go on from the nextToken of an earlier list")
	c.MarkFlagsMutuallyExclusive("limit", "all")
	return c
}

// changes is an event's changes, short.
func changes(e client.AuditEvent) string {
	var parts []string
	ch := e.Changes
	switch {
	case ch.StatusBefore != nil && ch.StatusAfter != nil:
		parts = append(parts, string(*ch.StatusBefore)+"->"+string(*ch.StatusAfter))
	case ch.StatusAfter != nil:
		parts = append(parts, string(*ch.StatusAfter))
	case ch.StatusBefore != nil:
		parts = append(parts, string(*ch.StatusBefore)+"->")
	}
	if ch.ExpiresAt != nil {
		parts = append(parts, "expires "+tableTime(ch.ExpiresAt))
	}
	if ch.RotatedFrom != nil {
		parts = append(parts, "rotated from "+*ch.RotatedFrom)
	}
	if ch.MaxLifetimeDays != nil {
		parts = append(parts, "max lifetime "+num(ch.MaxLifetimeDays)+"d")
	} else if e.Action == client.KeyPolicyChanged {
		parts = append(parts, "max lifetime none")
	}
	if e.Leak != nil {
		parts = append(parts, "leak "+strings.TrimSpace(str(e.Leak.Source)+" "+str(e.Leak.Url)))
	}
	return strings.Join(parts, ", ")
}
