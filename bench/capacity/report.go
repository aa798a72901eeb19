package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/teamkeys/teamkeys/bench/capacity/meter"
)

// result is one mix's measurements and ceilings.
type result struct {
	name     string
	title    string
	scope    string // what the ceiling is of: one key, one team, the service
	unit     string // what a request is: verifications, creates …
	requests int
	virtual  time.Duration // virtual time the requests took; 0 for real-time mixes
	snap     meter.Snapshot
	ceilings []meter.Ceiling
	extra    []string
	table    string
	elapsed  time.Duration

	lastUsePerKey15 float64 // tail: last-use writes per key per 15 minutes
	kmsFullScale    float64 // tail: KMS calls per verification at full scale
	teams           int     // expiry: teams that created expiring keys
	everyTeam       []meter.Partition
	team            *onboarded // onboard: the team, for rotate and storm
}

func (b *bench) newResult(name, scope, unit string, requests int, virtual time.Duration, snap meter.Snapshot) *result {
	r := &result{name: name, scope: scope, unit: unit, requests: requests, virtual: virtual, snap: snap, table: b.st.Config.Table}
	r.ceilings = meter.Ceilings(snap, requests, b.limits)
	for i := range r.ceilings {
		r.ceilings[i].Where = b.short(r.ceilings[i].Where)
	}
	return r
}

// short drops the table's generated name from a partition's or item's name.
func (b *bench) short(s string) string { return shortName(b.st.Config.Table, s) }

func shortName(table, s string) string {
	s = strings.ReplaceAll(s, table+"/", "")
	return strings.ReplaceAll(s, table+" ", "table ")
}

func (r *result) perRequest(n float64) float64 { return n / float64(r.requests) }

func (r *result) kmsPerRequest() float64 { return r.perRequest(float64(r.snap.Calls("KMS"))) }

func (r *result) lowest() meter.Ceiling { return meter.Lowest(r.ceilings) }

func (r *result) print(l meter.Limits) {
	fmt.Printf("\n## %s: %s\n", r.name, r.title)
	when := fmt.Sprintf("%v real", r.elapsed.Round(time.Second))
	if r.virtual > 0 {
		when = fmt.Sprintf("%v virtual, %s", r.virtual, when)
	}
	fmt.Printf("%d %s (%s)\n\n", r.requests, r.unit, when)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  operation\tcalls\tper request\tfailed\tcapacity reported\t\n")
	ops := make([]string, 0, len(r.snap.Ops))
	for op := range r.snap.Ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	for _, op := range ops {
		o := r.snap.Ops[op]
		fmt.Fprintf(tw, "  %s\t%d\t%.4f\t%d\t%.1f\t\n", op, o.Calls, r.perRequest(float64(o.Calls)), o.Errors, o.Reported)
	}
	tw.Flush()
	for _, write := range []bool{false, true} {
		kind, unit := "reads", "RU"
		if write {
			kind, unit = "writes", "WU"
		}
		total := r.snap.Total(write)
		p, load, ok := r.snap.Busiest(write)
		if !ok {
			fmt.Printf("  %s: none\n", kind)
			continue
		}
		u := load.RU
		if write {
			u = load.WU
		}
		fmt.Printf("  %s: %.1f %s in all (%.3f per request); busiest partition %s: %.1f %s (%.0f%%, %.3f per request)\n",
			kind, total, unit, r.perRequest(total), shortName(r.table, p.String()), u, unit, 100*u/total, r.perRequest(u))
	}
	if item, n := r.snap.HottestTxItem(); n > 0 {
		fmt.Printf("  item in the most transactions: %s, %d (%.3f per request)\n", shortName(r.table, item), n, r.perRequest(float64(n)))
	}
	fmt.Printf("  KMS calls per request: %.4f\n", r.kmsPerRequest())
	for _, e := range r.extra {
		fmt.Printf("  %s\n", e)
	}
	fmt.Printf("  ceilings (%s/s):\n", r.unit)
	tw = tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, c := range r.ceilings {
		fmt.Fprintf(tw, "    %s\t%s\t  %s\n", c.Limit, meter.Rate(c.Rate), c.Where)
	}
	tw.Flush()
	low := r.lowest()
	fmt.Printf("  => %s: %s %s/s, bound by %s (%s)\n", r.scope, meter.Rate(low.Rate), r.unit, low.Limit, low.Where)
	if r.scope != "the service" {
		fmt.Printf("  => the service (every team together, the account's KMS quota): %s %s/s\n", meter.Rate(r.serviceCeiling()), r.unit)
	}
}

// serviceCeiling is what every team together may reach: the KMS quota is
// the account's (a partition of one key or team is not shared).
func (r *result) serviceCeiling() float64 {
	if r.scope == "the service" {
		return r.lowest().Rate
	}
	for _, c := range r.ceilings {
		if strings.HasPrefix(c.Limit, "KMS") {
			return c.Rate
		}
	}
	return r.lowest().Rate
}

// printMarkdown writes the summary table of docs/SCALE.md.
func printMarkdown(w io.Writer, rs []*result) {
	fmt.Fprintln(w, "| Mix | Driven | DynamoDB calls / request | KMS calls / request | Busiest partition (share of its units) | Ceiling | Bound by | Service (all teams) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|")
	for _, r := range rs {
		busiest := "—"
		// The busiest partition of the kind that binds first.
		write := false
		if rp, rl, ok := r.snap.Busiest(false); ok {
			busiest = fmt.Sprintf("%s: %.0f%% of reads", describe(r.table, rp), 100*rl.RU/r.snap.Total(false))
		}
		rc, wc := ceilingOf(r, "RU/s"), ceilingOf(r, "WU/s")
		if wc < rc {
			write = true
		}
		if write {
			if wp, wl, ok := r.snap.Busiest(true); ok {
				busiest = fmt.Sprintf("%s: %.0f%% of writes", describe(r.table, wp), 100*wl.WU/r.snap.Total(true))
			}
		}
		driven := fmt.Sprintf("%d %s", r.requests, r.unit)
		if r.virtual > 0 {
			driven += fmt.Sprintf(" in %v virtual", r.virtual)
		}
		low := r.lowest()
		kms := fmt.Sprintf("%.4f", r.kmsPerRequest())
		if r.name == "tail" {
			kms += fmt.Sprintf(" (full scale %.4f)", r.kmsFullScale)
		}
		fmt.Fprintf(w, "| %s | %s | %.3f | %s | %s | %s %s/s (%s) | %s | %s |\n", r.name, driven,
			r.perRequest(float64(r.snap.Calls("DynamoDB"))), kms, busiest, meter.Rate(low.Rate), r.unit, r.scope, low.Limit,
			serviceRate(r.serviceCeiling()))
	}
}

func ceilingOf(r *result, kind string) float64 {
	for _, c := range r.ceilings {
		if strings.Contains(c.Limit, kind) {
			return c.Rate
		}
	}
	return 0
}

// describe names a partition by its index and key, the key's generated id
// part cut short.
func describe(table string, p meter.Partition) string {
	name := shortName(table, p.String())
	if len(name) > 40 {
		name = name[:37] + "…"
	}
	return "`" + name + "`"
}

// targets returns the targets of issue 18 the results miss.
func targets(rs []*result) []string {
	var missed []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			missed = append(missed, fmt.Sprintf(format, args...))
		}
	}
	for _, r := range rs {
		low := r.lowest()
		switch r.name {
		case "hot":
			check(low.Rate >= 100_000, "one hot key ≥ 100,000 verifications/s: predicted %s/s (bound by %s)", meter.Rate(low.Rate), low.Limit)
		case "tail":
			check(r.kmsFullScale <= 0.01, "long tail ≤ 0.01 KMS calls per verification: %.4f at full scale", r.kmsFullScale)
			check(r.lastUsePerKey15 <= 1, "last use ≤ 1 write per key per 15 minutes: %.2f", r.lastUsePerKey15)
		case "onboard":
			check(low.Rate >= 1000, "one team ≥ 1,000 creates/s: predicted %s/s (bound by %s)", meter.Rate(low.Rate), low.Limit)
		case "rotate":
			check(low.Rate >= 1000, "one team ≥ 1,000 rotations/s: predicted %s/s (bound by %s)", meter.Rate(low.Rate), low.Limit)
		case "storm":
			check(low.Rate >= 4000, "one team ≥ 4,000 audited changes/s: predicted %s/s (bound by %s)", meter.Rate(low.Rate), low.Limit)
		case "expiry":
			check(low.Rate >= 500, "expiry ≥ 500 removals/s: predicted %s/s (bound by %s)", meter.Rate(low.Rate), low.Limit)
			var names []string
			for _, p := range r.everyTeam {
				names = append(names, shortName(r.table, p.String()))
			}
			check(len(r.everyTeam) == 0, "no partition written by every team: %d teams all wrote %s", r.teams, strings.Join(names, ", "))
		}
	}
	return missed
}

func serviceRate(r float64) string {
	if math.IsInf(r, 1) {
		return "no shared limit"
	}
	return meter.Rate(r) + "/s"
}
