// teamkeys-local runs the teamkeys API on a laptop, with no AWS account:
//
//	teamkeys-local serve   start DynamoDB Local and local-kms (unless
//	                       AWS_ENDPOINT_URL_DYNAMODB / AWS_ENDPOINT_URL_KMS
//	                       point elsewhere) and serve the API
//	teamkeys-local token   mint a local bearer token
//	teamkeys-local check   check every member's cap and slot counter in a table
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/authorizer"
	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/local/emulators"
	"github.com/teamkeys/teamkeys/internal/local/jwtissuer"
	"github.com/teamkeys/teamkeys/internal/local/publisher"
	"github.com/teamkeys/teamkeys/internal/local/server"
	"github.com/teamkeys/teamkeys/internal/local/upstream"
)

const usage = `usage:
  teamkeys-local serve
  teamkeys-local token -sub alice -team t1 -role admin [-ttl 12h]
  teamkeys-local check    (TEAMKEYS_TABLE; AWS_ENDPOINT_URL_DYNAMODB or real AWS credentials)

environment: TEAMKEYS_ADDR (default 127.0.0.1:3000), TEAMKEYS_TABLE (teamkeys),
TEAMKEYS_SWEEP_INTERVAL (how often expired keys are removed; default 1m, 0: never),
TEAMKEYS_MEMBER_EVENT_SOURCE (the source of TeamMemberRemoved events; console.teamkeys),
TEAMKEYS_EVENTS_SINK (where the audit records' events go: - for stdout, an
http(s):// URL, or a file, one JSON event a line; empty or off: nowhere),
TEAMKEYS_EVENTS_CHECKPOINT (the publisher's place in the stream; default
<file sink>.checkpoint, none for stdout or a URL),
TEAMKEYS_UPSTREAM_URL (an http:// URL: requests under /api/ are verified by
the authorizer and forwarded there with X-Teamkeys-* headers),
TEAMKEYS_ROUTE_SCOPES (the authorizer's route table, JSON; invalid: exit 1),
TEAMKEYS_KMS_KEY_ID (alias/teamkeys), TEAMKEYS_LOCAL_JWT_SECRET (default: serve
generates one per run and keeps it in $TEAMKEYS_CACHE/local-jwt-secret, mode
0600, while it runs; token reads it there), AWS_REGION,
AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS, TEAMKEYS_CACHE (default
<module root>/.cache)
`

func main() {
	args := os.Args[1:]
	command := "serve"
	if len(args) > 0 {
		command, args = args[0], args[1:]
	}
	var err error
	switch command {
	case "serve":
		err = serve()
	case "token":
		err = token(args)
	case "check":
		err = check()
	default:
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "teamkeys-local:", err)
		os.Exit(1)
	}
}

func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	sub := fs.String("sub", "", "the caller's subject (member id)")
	team := fs.String("team", "", "the caller's team id")
	role := fs.String("role", "admin", "owner, admin or member")
	ttl := fs.Duration("ttl", 12*time.Hour, "how long the token is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sub == "" || *team == "" {
		return errors.New("token: -sub and -team are required (make token SUB=alice TEAM=t1 ROLE=admin)")
	}
	secret, err := tokenSecret()
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	issuer, err := jwtissuer.New(secret)
	if err != nil {
		return fmt.Errorf("token: %w", err)
	}
	tok, err := issuer.Mint(accesskey.Caller{Subject: *sub, TeamID: *team, Role: accesskey.Role(*role)}, config.FromEnv().Claims, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

func serve() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := config.FromEnv()
	log := cfg.Logger()
	// As on Lambda: the standard log package writes JSON lines through slog.
	slog.SetDefault(log)
	// The route table and the upstream are checked before anything
	// starts: a bad one exits at once, naming the entry.
	if _, err := authorizer.Routes(cfg.RouteScopes); err != nil {
		return err
	}
	upstreamURL := strings.TrimSpace(os.Getenv("TEAMKEYS_UPSTREAM_URL"))
	if upstreamURL != "" {
		if _, err := upstream.ParseURL(upstreamURL); err != nil {
			return err
		}
	}
	secret, secretFile, err := serveSecret()
	if err != nil {
		return err
	}
	addr := os.Getenv("TEAMKEYS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:3000"
	}

	fmt.Fprintln(os.Stderr, "starting DynamoDB Local and local-kms (unless AWS_ENDPOINT_URL_* are set)...")
	env, err := emulators.Start(ctx, emulators.Options{Logger: log})
	if err != nil {
		return err
	}
	defer env.Stop()
	env.Export()

	awsCfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		return err
	}
	if strings.HasPrefix(cfg.KMSKeyID, "alias/") {
		if _, err := emulators.EnsureKMSAlias(ctx, kms.NewFromConfig(awsCfg), cfg.KMSKeyID); err != nil {
			return err
		}
	}
	sweepEvery, err := sweepInterval()
	if err != nil {
		return err
	}
	var background sync.WaitGroup
	// Stopped before serve returns (and before the emulators stop): the
	// sweep and the events publisher finish what they are doing.
	defer func() { stop(); background.Wait() }()
	handler, err := server.New(ctx, server.Options{Config: cfg, AWS: awsCfg, JWTSecret: secret, Log: log, SweepInterval: sweepEvery,
		MemberEventSource: strings.TrimSpace(os.Getenv("TEAMKEYS_MEMBER_EVENT_SOURCE")),
		Events:            publisher.Options{Sink: os.Getenv("TEAMKEYS_EVENTS_SINK"), Checkpoint: strings.TrimSpace(os.Getenv("TEAMKEYS_EVENTS_CHECKPOINT"))},
		Background:        &background, UpstreamURL: upstreamURL})
	if err != nil {
		return err
	}
	listener, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if secretFile != "" {
		// Written once the port is ours, removed at exit: `teamkeys-local
		// token` (make token) mints with it while this server runs.
		if err := jwtissuer.WriteSecretFile(secretFile, secret); err != nil {
			listener.Close()
			return err
		}
		defer func() {
			if err := jwtissuer.RemoveSecretFile(secretFile, secret); err != nil {
				fmt.Fprintln(os.Stderr, "teamkeys-local:", err)
			}
		}()
	}
	httpServer := server.NewHTTPServer(handler, log)
	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(listener) }()

	issuer, _ := jwtissuer.New(secret)
	adminToken, err := issuer.Mint(accesskey.Caller{Subject: "admin", TeamID: "t1", Role: accesskey.RoleAdmin}, cfg.Claims, 12*time.Hour)
	if err != nil {
		return err
	}
	printBanner(os.Stderr, bannerInfo{
		Addr:       listener.Addr().String(),
		DynamoDB:   env.DynamoDBEndpoint,
		KMS:        env.KMSEndpoint,
		AdminToken: adminToken,
		SecretFile: secretFile,
		Listeners:  env.Listeners(),
	})

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(os.Stderr, "stopping...")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return httpServer.Shutdown(shutdownCtx)
}

// check runs dynamostore.Check on TEAMKEYS_TABLE: against the DynamoDB at
// AWS_ENDPOINT_URL_DYNAMODB when it is set (dummy credentials unless the
// environment has some), else against AWS with the credentials in the
// environment. It prints the report and exits 1 on a violation. It Scans the
// whole table: an operator's tool, not something the service does.
func check() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := config.FromEnv()
	load := awsclient.Load
	if strings.TrimSpace(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB")) != "" || strings.TrimSpace(os.Getenv("AWS_ENDPOINT_URL")) != "" {
		load = awsclient.LoadLocal
	}
	awsCfg, err := load(ctx)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	retention := cfg.AuditRetentionDays
	if retention == 0 {
		retention = accesskey.DefaultAuditDays
	}
	report, err := dynamostore.CheckWithRetention(ctx, dynamodb.NewFromConfig(awsCfg), cfg.Table, retention)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	fmt.Print(report)
	if !report.OK() {
		os.Exit(1)
	}
	return nil
}

// sweepInterval is TEAMKEYS_SWEEP_INTERVAL, a Go duration (default 1m; 0
// turns the expiry sweep off).
func sweepInterval() (time.Duration, error) {
	v := strings.TrimSpace(os.Getenv("TEAMKEYS_SWEEP_INTERVAL"))
	if v == "" {
		return time.Minute, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("TEAMKEYS_SWEEP_INTERVAL=%q: want a Go duration such as 30s or 1m (0 turns the sweep off)", v)
	}
	return d, nil
}
