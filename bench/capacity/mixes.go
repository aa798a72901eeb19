package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/teamkeys/teamkeys/bench/capacity/meter"
	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// onboarded is the team the onboard mix made, for rotate and storm.
type onboarded struct {
	team string
	keys []teststack.CreatedKey
}

// fullTail is the long tail: 10,000 verifications/s over 200,000
// keys of one team.
const (
	fullTailRate = 10_000
	fullTailKeys = 200_000
)

func (b *bench) hot(ctx context.Context) (*result, error) {
	o := b.o
	key, err := b.create(ctx, "hot", "m1", nil)
	if err != nil {
		return nil, err
	}
	clk := newClock()
	envs := make([]*verifier.Verifier, o.hotEnvs)
	for i := range envs {
		envs[i] = b.newEnvironment(clk.Now)
		// Each environment warm: its first verification (a Decrypt) is
		// not counted.
		if err := b.verifyOnce(ctx, envs[i], key, clk.Now()); err != nil {
			return nil, err
		}
		envs[i].Wait()
	}
	b.m.Take()
	// Ten virtual seconds later (past any cache of the key item of ≤ 1 s,
	// within the secret cache's 5 minutes), n verifications at the rate.
	start := 10 * time.Second
	err = b.verifications(ctx, clk, envs, []teststack.CreatedKey{key}, o.hotN, start, o.hotRate,
		func(i int) (int, int) { return i % len(envs), 0 })
	if err != nil {
		return nil, err
	}
	virtual := time.Duration(float64(o.hotN) / o.hotRate * float64(time.Second))
	r := b.newResult("hot", "one key", "verifications", o.hotN, virtual, b.m.Take())
	r.title = fmt.Sprintf("one hot key: %d verifications over %d environments at %s/s (virtual)", o.hotN, o.hotEnvs, meter.Rate(o.hotRate))
	return r, nil
}

func (b *bench) tail(ctx context.Context) (*result, error) {
	o := b.o
	var keys []teststack.CreatedKey
	for t := range o.tailTeams {
		ks, err := b.createMany(ctx, fmt.Sprintf("tail%d", t), o.tailKeys/o.tailTeams, accesskey.MaxKeysPerMember, nil)
		if err != nil {
			return nil, err
		}
		keys = append(keys, ks...)
	}
	b.m.Take()
	// The rate scaled with the keys: each environment sees each key as
	// often as at full scale.
	rate := fullTailRate * float64(len(keys)) / fullTailKeys
	clk := newClock()
	envs := make([]*verifier.Verifier, o.tailEnvs)
	for i := range envs {
		envs[i] = b.newEnvironment(clk.Now)
	}
	rng := rand.New(rand.NewPCG(18, 1))
	n := int(rate * (o.tailWarm + o.tailSeconds))
	picks := make([][2]int, n)
	for i := range picks {
		picks[i] = [2]int{rng.IntN(len(envs)), rng.IntN(len(keys))}
	}
	warm := int(rate * o.tailWarm)
	fmt.Printf("\n(tail: %d keys, %s verifications/s virtual; %d warm-up verifications over %gs, then %d counted over %gs)\n",
		len(keys), meter.Rate(rate), warm, o.tailWarm, n-warm, o.tailSeconds)
	if err := b.verifications(ctx, clk, envs, keys, warm, 0, rate, func(i int) (int, int) { return picks[i][0], picks[i][1] }); err != nil {
		return nil, err
	}
	b.m.Take()
	start := time.Duration(o.tailWarm * float64(time.Second))
	if err := b.verifications(ctx, clk, envs, keys, n-warm, start, rate, func(i int) (int, int) {
		return picks[warm+i][0], picks[warm+i][1]
	}); err != nil {
		return nil, err
	}
	virtual := time.Duration(o.tailSeconds * float64(time.Second))
	r := b.newResult("tail", "one team", "verifications", n-warm, virtual, b.m.Take())
	r.title = fmt.Sprintf("long tail: %d keys of %d team(s), %d environments, %s verifications/s virtual (the issue's 10,000/s over 200,000 keys, scaled by %g)",
		len(keys), o.tailTeams, o.tailEnvs, meter.Rate(rate), float64(len(keys))/fullTailKeys)
	// Every write of a verification is a last-use write, on the key item.
	writes := 0
	for p, l := range r.snap.Partitions {
		if p.Index == "" {
			writes += l.Writes - l.Checks
		}
	}
	r.lastUsePerKey15 = float64(writes) / float64(len(keys)) * (15 * 60 / o.tailSeconds)
	r.extra = append(r.extra, fmt.Sprintf("last-use writes: %d over %d keys in %gs virtual = %.2f per key per 15 minutes",
		writes, len(keys), o.tailSeconds, r.lastUsePerKey15))
	// KMS at full scale: a call for one key (its context names the key)
	// happens as often per verification as here; a shared one (a team's
	// key, cached per environment) as often per second as here, since the
	// environments are as many: per verification it is divided by the full
	// rate, not by the scaled one.
	ids := map[string]bool{}
	for _, k := range keys {
		ids[k.AccessKeyID] = true
	}
	perKey, shared := 0, 0
	for _, c := range r.snap.KMS {
		if c.Names(ids) {
			perKey++
		} else {
			shared++
		}
	}
	r.kmsFullScale = float64(perKey)/float64(r.requests) + float64(shared)/o.tailSeconds/float64(o.tailTeams)/fullTailRate
	r.extra = append(r.extra, fmt.Sprintf("KMS calls: %d for one key (context names it), %d shared (a team's); at full scale (10,000/s, 100 environments, one team) %.4f per verification",
		perKey, shared, r.kmsFullScale))
	for i, c := range r.ceilings {
		if strings.HasPrefix(c.Limit, "KMS") {
			r.ceilings[i].Rate = b.limits.KMSRequests / r.kmsFullScale
			r.ceilings[i].Where = "the region's quota, at full scale"
		}
	}
	// At full scale the per-request load on a team's partitions is the
	// same; a key item's own partition is read K/200,000 as often.
	r.extra = append(r.extra, fmt.Sprintf("full scale: the per-request costs above hold at 10,000/s over 200,000 keys; a key's own partition sees %gx fewer reads than here",
		fullTailKeys/float64(len(keys))))
	return r, nil
}

func (b *bench) onboarding(ctx context.Context) (*result, error) {
	o := b.o
	b.m.Take()
	keys, err := b.createMany(ctx, "onboard", o.onboard, 1, nil)
	if err != nil {
		return nil, err
	}
	r := b.newResult("onboard", "one team", "creates", o.onboard, 0, b.m.Take())
	r.title = fmt.Sprintf("bulk onboarding: %d members of one team given a key each (GenerateKey)", o.onboard)
	r.team = &onboarded{team: "onboard", keys: keys}
	// The credential report of that team, whole, in one response.
	for _, accept := range []string{"text/csv", "application/json"} {
		body, err := b.call(ctx, "onboard", http.MethodGet, "/v1/teams/onboard/access-keys/report", nil, map[string]string{"Accept": accept})
		if err != nil {
			return nil, err
		}
		per := float64(len(body)) / float64(len(keys))
		r.extra = append(r.extra, fmt.Sprintf("credential report (%s): %d bytes for %d keys = %.0f bytes a key: one %d MB Lambda response holds %s keys",
			accept, len(body), len(keys), per, int(b.limits.ResponseBytes)>>20, meter.Rate(math.Floor(b.limits.ResponseBytes/per))))
	}
	b.m.Take()
	return r, nil
}

func (b *bench) rotations(ctx context.Context) (*result, error) {
	keys := b.team.keys[:b.o.rotate]
	b.m.Take()
	err := b.parallel(ctx, len(keys), func(i int) error {
		_, err := b.call(ctx, b.team.team, http.MethodPost, keyPath(keys[i])+"/rotate", nil, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	r := b.newResult("rotate", "one team", "rotations", len(keys), 0, b.m.Take())
	r.title = fmt.Sprintf("rotations: %d keys of one team rotated (RotateKey)", len(keys))
	return r, nil
}

func (b *bench) changeStorm(ctx context.Context) (*result, error) {
	keys := b.team.keys[b.o.rotate:]
	statuses := min(b.o.storm/2, len(keys))
	b.m.Take()
	for _, action := range []string{"disable", "enable"} {
		err := b.parallel(ctx, statuses, func(i int) error {
			_, err := b.call(ctx, b.team.team, http.MethodPost, keyPath(keys[i])+"/"+action, nil, nil)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	n := 2 * statuses
	r := b.newResult("storm", "one team", "changes", n, 0, b.m.Take())
	r.title = fmt.Sprintf("change storm in one team: %d disables, then %d enables", statuses, statuses)
	// Key policy changes, apart: an owner's rare act, whose every change
	// writes the one policy item of the team.
	err := b.parallel(ctx, b.o.stormPolicies, func(i int) error {
		days := any(nil)
		if i%2 == 0 {
			days = 365
		}
		_, err := b.call(ctx, b.team.team, http.MethodPut, "/v1/teams/"+b.team.team+"/key-policy", map[string]any{"maxLifetimeDays": days}, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	if p := b.o.stormPolicies; p > 0 {
		snap := b.m.Take()
		low := meter.Lowest(meter.Ceilings(snap, p, b.limits))
		r.extra = append(r.extra, fmt.Sprintf("key policy changes: %d, %.2f DynamoDB calls each; their own ceiling %s/s for one team, bound by %s (%s)",
			p, float64(snap.Calls("DynamoDB"))/float64(p), meter.Rate(low.Rate), low.Limit, b.short(low.Where)))
	}
	return r, nil
}

func (b *bench) expiry(ctx context.Context) (*result, error) {
	o := b.o
	expires := time.Now().Add(time.Minute)
	per := max(1, o.expiryKeys/o.expiryTeams)
	var teams []string
	b.m.Take()
	for t := range o.expiryTeams {
		team := fmt.Sprintf("exp%03d", t)
		teams = append(teams, team)
		// The team's first create alone is labelled: a partition that every
		// team's first create writes is one that every team writes (one
		// create per team, so that a layout spreading the teams' writes by
		// a hash over a few partitions is not reported for it).
		b.m.SetScope(team)
		if _, err := b.create(ctx, team, "first", &expires); err != nil {
			return nil, err
		}
		b.m.SetScope("")
		if _, err := b.createMany(ctx, team, per-1, accesskey.MaxKeysPerMember, &expires); err != nil {
			return nil, err
		}
	}
	created := b.m.Take()
	everyTeam := created.WrittenInEveryScope(teams)

	removed := 0
	for removed < per*len(teams) {
		n, err := b.sweepOnce(ctx, time.Now().Add(time.Hour))
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		removed += n
	}
	if removed != per*len(teams) {
		return nil, fmt.Errorf("the sweep removed %d of %d expired keys", removed, per*len(teams))
	}
	r := b.newResult("expiry", "the service", "removals", removed, 0, b.m.Take())
	r.title = fmt.Sprintf("expiry: %d keys of %d teams expired at once, removed by the sweep", removed, len(teams))
	r.teams = len(teams)
	r.everyTeam = everyTeam
	// The sweep is one scheduled function: its work in sequence, at AWS's
	// latency, bounds it too.
	calls := r.snap.Calls("DynamoDB")
	peak := max(1, r.snap.PeakInFlight)
	perRemoval := float64(calls) / float64(removed)
	rate := float64(peak) / (perRemoval * b.o.callLatency.Seconds())
	r.ceilings = append(r.ceilings, meter.Ceiling{
		Limit: fmt.Sprintf("calls in sequence at %v each", b.o.callLatency),
		Where: fmt.Sprintf("%.2f calls a removal, at most %d in flight", perRemoval, peak),
		Rate:  rate,
	})
	if len(everyTeam) == 0 {
		r.extra = append(r.extra, fmt.Sprintf("no partition was written by the first expiring key of every one of the %d teams", len(teams)))
	}
	for _, p := range everyTeam {
		r.extra = append(r.extra, fmt.Sprintf("written by the first expiring key of every one of the %d teams: %s (%d writes by the %d creates)",
			len(teams), b.short(p.String()), created.Partitions[p].Writes, per*len(teams)))
	}
	return r, nil
}
