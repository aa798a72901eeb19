// Command capacity is the capacity meter (`make capacity`): it drives
// workload mixes through the real handlers on DynamoDB Local and local-kms
// it starts, records every SDK call with bench/capacity/meter (operation,
// partitions of the table and of each index, units, transactions, KMS
// calls), and predicts each mix's ceiling under DynamoDB's, KMS's and
// Lambda's limits, which the emulators do not enforce.
//
// The mixes:
//
//	hot      one key verified by -hot-envs verifier instances (Lambda
//	         environments) at -hot-rate verifications/s of virtual time
//	tail     the long tail: -tail-keys keys of -tail-teams teams verified at
//	         random by -tail-envs environments, at 10,000/s scaled by
//	         keys/200,000 (so each environment sees each key as often as at
//	         full scale: the cache hit rates are the full-scale ones)
//	onboard  -onboard members of one team given a key each (GenerateKey)
//	rotate   -rotate of them rotated (RotateKey)
//	storm    -storm changes in that team: disables, then enables; and
//	         -storm-policies key policy changes, measured apart
//	expiry   -expiry-keys expiring keys in -expiry-teams teams (each
//	         team's first create shows which partitions every team
//	         writes), then removed by the expiry sweep
//
// Verifications go through verifier.Verify with a fake clock (Options.Now),
// requests signed at the clock's time: a mix's time-based caches behave as
// at its virtual rate. The handlers of the HTTP API (internal/local/server,
// through internal/testing/teststack) run on the real clock; their only
// cache (the generate's policy cache, one minute) is warm within a mix
// either way. A ceiling is the driven rate × the limit / the measured load
// (linear; conservative for cached paths, whose load grows slower than the
// rate). docs/SCALE.md explains each limit.
//
// With -assert the run fails (exit 1) listing every target of issue 18 it
// misses; without, it only prints.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/bench/capacity/meter"
	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/local/emulators"
	"github.com/teamkeys/teamkeys/internal/local/server"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
)

type options struct {
	hotEnvs, hotN                 int
	hotRate                       float64
	tailKeys, tailTeams, tailEnvs int
	tailWarm, tailSeconds         float64
	onboard, rotate, storm        int
	stormPolicies                 int
	expiryKeys, expiryTeams       int
	workers                       int
	callLatency                   time.Duration
	kmsQuota                      float64
	assert                        bool
	mixes                         string
}

func main() {
	var o options
	flag.IntVar(&o.hotEnvs, "hot-envs", 10, "hot: verifier instances (Lambda environments); a cached read costs each one read in the short window: raise -hot-n with it")
	flag.IntVar(&o.hotN, "hot-n", 5000, "hot: verifications driven")
	flag.Float64Var(&o.hotRate, "hot-rate", 100000, "hot: virtual verifications per second")
	flag.IntVar(&o.tailKeys, "tail-keys", 100, "tail: keys (the issue's 200,000 scaled down; the rate scales with them, so the cache hit rates depend on -tail-envs alone)")
	flag.IntVar(&o.tailTeams, "tail-teams", 1, "tail: teams the keys belong to")
	flag.IntVar(&o.tailEnvs, "tail-envs", 100, "tail: verifier instances (Lambda environments)")
	flag.Float64Var(&o.tailWarm, "tail-warm", 300, "tail: virtual seconds of warm-up (caches fill), not counted")
	flag.Float64Var(&o.tailSeconds, "tail-seconds", 300, "tail: virtual seconds counted")
	flag.IntVar(&o.onboard, "onboard", 1000, "onboard: members of one team given a key each")
	flag.IntVar(&o.rotate, "rotate", 500, "rotate: keys of that team rotated (at most -onboard)")
	flag.IntVar(&o.storm, "storm", 1000, "storm: status changes in that team (disables, then enables, of the keys not rotated)")
	flag.IntVar(&o.stormPolicies, "storm-policies", 20, "storm: key policy changes in that team, measured apart")
	flag.IntVar(&o.expiryKeys, "expiry-keys", 1000, "expiry: expiring keys, removed by the sweep")
	flag.IntVar(&o.expiryTeams, "expiry-teams", 20, "expiry: teams they belong to")
	flag.IntVar(&o.workers, "workers", 4, "concurrent clients driving a mix")
	flag.DurationVar(&o.callLatency, "call-latency", 15*time.Millisecond, "assumed AWS latency of one DynamoDB call, for work done one call after another (the sweep)")
	flag.Float64Var(&o.kmsQuota, "kms-quota", 10000, "KMS symmetric requests per second of the region")
	flag.BoolVar(&o.assert, "assert", false, "fail listing every target of issue 18 missed")
	flag.StringVar(&o.mixes, "mixes", "hot,tail,onboard,rotate,storm,expiry", "mixes to run, comma-separated (rotate and storm need onboard)")
	flag.Parse()
	if o.rotate > o.onboard || o.storm > 0 && o.rotate >= o.onboard || o.hotEnvs < 1 || o.tailEnvs < 1 || o.workers < 1 ||
		o.tailKeys < 2 || o.tailTeams < 1 || o.expiryTeams < 1 || o.hotRate <= 0 || o.tailSeconds <= 0 {
		fmt.Fprintln(os.Stderr, "bench/capacity: bad flags: -rotate must be below -onboard (the storm uses the keys not rotated), counts positive")
		os.Exit(2)
	}
	missed, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/capacity:", err)
		os.Exit(1)
	}
	if o.assert && len(missed) > 0 {
		fmt.Fprintf(os.Stderr, "\nbench/capacity: %d target(s) of issue 18 missed:\n", len(missed))
		for _, m := range missed {
			fmt.Fprintln(os.Stderr, "  -", m)
		}
		os.Exit(1)
	}
}

// bench is what every mix runs on.
type bench struct {
	o      options
	st     *teststack.Stack
	m      *meter.Meter
	aws    aws.Config
	ddb    *dynamodb.Client // metered, for the verifiers and the sweep
	kms    *kms.Client      // metered
	quiet  *slog.Logger
	limits meter.Limits
	team   *onboarded // the onboard mix's team, for rotate and storm
	// retried counts the API requests retried after a 503.
	retried atomic.Int64
}

func run(o options) (missed []string, err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	began := time.Now()
	quiet := slog.New(slog.DiscardHandler)

	fmt.Println("starting DynamoDB Local and local-kms …")
	env, err := emulators.Start(ctx, emulators.Options{})
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := env.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	env.Export()
	awsCfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		return nil, err
	}
	m := meter.New(dynamodb.NewFromConfig(awsCfg))
	st, err := teststack.Start(ctx, teststack.Options{Table: teststack.TableName("capacity"), Log: quiet,
		Server: func(s *server.Options) {
			s.DynamoDBOptions = append(s.DynamoDBOptions, m.DynamoDB)
			s.KMSOptions = append(s.KMSOptions, m.KMS)
		}})
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := st.Close(); serr != nil && err == nil {
			err = serr
		}
	}()
	limits := meter.DefaultLimits
	limits.KMSRequests = o.kmsQuota
	b := &bench{o: o, st: st, m: m, aws: awsCfg, quiet: quiet, limits: limits,
		ddb: dynamodb.NewFromConfig(awsCfg, m.DynamoDB), kms: kms.NewFromConfig(awsCfg, m.KMS)}
	fmt.Printf("table %s; GOMAXPROCS %d; limits: %s RU/s and %s WU/s per partition, %g transactions/s per item, KMS %s/s, Lambda response %d MB\n",
		st.Config.Table, runtime.GOMAXPROCS(0), meter.Rate(limits.PartitionRU), meter.Rate(limits.PartitionWU),
		limits.ItemTransactions, meter.Rate(limits.KMSRequests), int(limits.ResponseBytes)>>20)

	want := map[string]bool{}
	for _, name := range strings.Split(o.mixes, ",") {
		want[strings.TrimSpace(name)] = true
	}
	var results []*result
	mixes := []struct {
		name string
		run  func(context.Context) (*result, error)
	}{
		{"hot", b.hot}, {"tail", b.tail}, {"onboard", b.onboarding}, {"rotate", b.rotations}, {"storm", b.changeStorm}, {"expiry", b.expiry},
	}
	var team *onboarded
	for _, mix := range mixes {
		if !want[mix.name] {
			continue
		}
		if (mix.name == "rotate" || mix.name == "storm") && team == nil {
			return nil, fmt.Errorf("mix %s needs the onboard mix", mix.name)
		}
		t0 := time.Now()
		r, err := mix.run(ctx)
		if err != nil {
			return nil, fmt.Errorf("mix %s: %w", mix.name, err)
		}
		if r.team != nil {
			team = r.team
		}
		b.team = team
		r.elapsed = time.Since(t0)
		if n := b.retried.Swap(0); n > 0 {
			r.extra = append(r.extra, fmt.Sprintf("%d API requests answered 503 and were retried (their calls are counted)", n))
		}
		r.print(limits)
		results = append(results, r)
	}
	fmt.Printf("\n## Summary (markdown, for docs/SCALE.md)\n\n")
	printMarkdown(os.Stdout, results)
	missed = targets(results)
	fmt.Printf("\nTargets of issue 18 (make capacity-check asserts them):\n")
	if len(missed) == 0 {
		fmt.Println("  every target met")
	}
	for _, m := range missed {
		fmt.Println("  MISSED:", m)
	}
	fmt.Printf("\nran in %v\n", time.Since(began).Round(time.Second))
	return missed, nil
}
