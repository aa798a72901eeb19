package sweep

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Dormant keys (issue 21). A dormant pass reads the registry of teams whose
// policy sets disableUnusedAfterDays (written by the policy's PUT), and for
// each, the team's ByTeam partitions filtered to active keys whose last use
// (or creation) is older than the setting less the seven days' warning;
// each candidate is read (its dormant clock may have restarted at a
// dormant disable an admin undid) and warned, or disabled, in one
// conditional transaction with its record. It runs with the warning pass,
// at most once every WarnInterval.

// DormantStore is what a dormant pass needs of the store.
type DormantStore interface {
	DormantTeams(ctx context.Context) ([]string, error)
	DormantCandidates(ctx context.Context, teamID string, before time.Time) ([]accesskey.Ref, error)
	DormantState(ctx context.Context, ref accesskey.Ref) (accesskey.DormantState, error)
	WarnDormant(ctx context.Context, ref accesskey.Ref, st accesskey.DormantState, audit accesskey.Audit) (bool, error)
	DisableDormant(ctx context.Context, ref accesskey.Ref, st accesskey.DormantState, audit accesskey.Audit) (bool, error)
	Policy(ctx context.Context, teamID string) (accesskey.KeyPolicy, error)
}

// DormantResult is what a dormant pass did.
type DormantResult struct {
	Warned   int `json:"warned"`
	Disabled int `json:"disabled"`
	Failed   int `json:"failed"`
}

// Dormant runs one dormant pass at now, team after team. A team that
// fails is logged and left for the next pass.
func Dormant(ctx context.Context, store DormantStore, now time.Time, log *slog.Logger) (DormantResult, error) {
	var res DormantResult
	teams, err := store.DormantTeams(ctx)
	if err != nil {
		return res, err
	}
	audit := accesskey.Audit{Actor: accesskey.SystemActor(accesskey.DormantSub), At: now}
	for _, team := range teams {
		if ctx.Err() != nil {
			return res, nil
		}
		pol, err := store.Policy(ctx, team)
		if err != nil {
			res.Failed++
			log.Error("dormant keys: team's policy not read", "teamId", team, "error", err.Error())
			continue
		}
		if pol.DisableUnusedAfterDays == nil {
			continue
		}
		days := *pol.DisableUnusedAfterDays
		horizon := time.Duration(days) * day
		if days > accesskey.DormantWarningDays {
			horizon -= accesskey.DormantWarningDays * day
		}
		refs, err := store.DormantCandidates(ctx, team, now.Add(-horizon))
		if err != nil {
			res.Failed++
			log.Error("dormant keys: team's keys not read", "teamId", team, "error", err.Error())
			continue
		}
		for _, ref := range refs {
			st, err := store.DormantState(ctx, ref)
			switch {
			case errors.Is(err, accesskey.ErrNotFound):
				continue
			case err != nil:
				res.Failed++
				log.Error("dormant keys: key not read", "accessKeyId", ref.AccessKeyID, "error", err.Error())
				continue
			case st.Status != accesskey.StatusActive || st.Retired:
				continue
			}
			var wrote bool
			switch accesskey.DormantDue(now, st.Since, days, st.WarnedFor) {
			case accesskey.DormantWarn:
				if wrote, err = store.WarnDormant(ctx, ref, st, audit); wrote {
					res.Warned++
				}
			case accesskey.DormantDisable:
				if wrote, err = store.DisableDormant(ctx, ref, st, audit); wrote {
					res.Disabled++
					log.Info("dormant key disabled", "accessKeyId", ref.AccessKeyID, "teamId", ref.TeamID)
				}
			}
			if err != nil {
				res.Failed++
				log.Error("dormant keys: not written", "accessKeyId", ref.AccessKeyID, "error", err.Error())
			}
		}
	}
	return res, nil
}
