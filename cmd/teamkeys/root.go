package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/teamkeys/teamkeys/pkg/client"
	"github.com/teamkeys/teamkeys/pkg/signing"
)

// Exit codes: what a script tests.
const (
	exitOK      = 0 // done
	exitFailure = 1 // the service refused the request (its error code on stderr), or it could not be sent
	exitUsage   = 2 // a bad command line: unknown command or flag, bad value, missing argument, token, team or key
)

// The environment variables a flag falls back to.
const (
	envEndpoint    = "TEAMKEYS_ENDPOINT"
	envToken       = "TEAMKEYS_TOKEN"
	envTeam        = "TEAMKEYS_TEAM"
	envAccessKeyID = "TEAMKEYS_ACCESS_KEY_ID"
	envSecret      = "TEAMKEYS_SECRET_ACCESS_KEY"
	envRegion      = "TEAMKEYS_SIGNING_REGION"
	// envTeamClaim names the token's team claim, as the service's own
	// setting of the same name does.
	envTeamClaim = "TEAMKEYS_CLAIM_TEAM"
)

// defaultTeamClaim is the service's default team claim.
const defaultTeamClaim = "team_id"

func claimName(env string) string {
	if c := strings.TrimSpace(env); c != "" {
		return c
	}
	return defaultTeamClaim
}

// tokenClaim is the string claim name of a JWT's payload, or "". The token
// is not verified here (the service does that); its team only picks the
// path, and a wrong one is refused by the service.
func tokenClaim(token, name string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var claims map[string]any
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	v, _ := claims[name].(string)
	return v
}

// version is set at link time (-ldflags "-X main.version=v1.2.3"); when
// empty, the module version go install recorded is used.
var version = ""

// App is one run of the command line, with everything it touches from
// outside: tests give their own.
type App struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// StdinIsTerminal says whether a confirmation can be asked;
	// StdoutIsTerminal chooses the default output (table, else JSON).
	StdinIsTerminal, StdoutIsTerminal func() bool
	// HTTPClient, if set, sends every request (default: the client's own).
	HTTPClient *http.Client
	Now        func() time.Time

	// defaultEndpoint, if set, replaces client.DefaultEndpoint (tests).
	defaultEndpoint string
	// args is the command line as given, for the replay a failed
	// --output-file prints.
	args []string
	// endpointDefaulted says no flag or variable set the endpoint.
	endpointDefaulted bool

	flags globalFlags
	cfg   config
	// entered is set once a command's own code runs: an error before that
	// is cobra's (an unknown command or flag, a bad argument count), a
	// usage error.
	entered bool
}

// osApp is the App of the process.
func osApp() *App {
	return &App{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		StdinIsTerminal:  func() bool { return term.IsTerminal(int(os.Stdin.Fd())) },
		StdoutIsTerminal: func() bool { return term.IsTerminal(int(os.Stdout.Fd())) },
		Now:              time.Now,
	}
}

// globalFlags are the persistent flags as parsed.
type globalFlags struct {
	endpoint, token, team, accessKeyID, secret, region, output string
	timeout                                                    time.Duration
	insecureHTTP                                               bool
}

// config is the resolved configuration: flag, else environment, else
// default.
type config struct {
	Endpoint    string
	Token       string
	Team        string
	AccessKeyID string
	Secret      string
	Region      string
	Output      string // table, json (or csv, for report)
	Timeout     time.Duration
	// InsecureHTTP allows http:// to a host that is not loopback.
	InsecureHTTP bool
}

// usageError is a bad command line: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// errAborted is a confirmation answered no: nothing was changed.
var errAborted = errors.New("aborted: nothing was changed")

// Run runs the command line args and returns the exit code.
func (a *App) Run(ctx context.Context, args []string) int {
	if a.Now == nil {
		a.Now = time.Now
	}
	if a.Getenv == nil {
		a.Getenv = func(string) string { return "" }
	}
	root := a.rootCommand()
	if args == nil {
		args = []string{}
	}
	a.args = args
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	return a.reportError(cmd, err)
}

// reportError prints err on stderr and returns its exit code.
func (a *App) reportError(cmd *cobra.Command, err error) int {
	var usage *usageError
	var apiErr *client.APIError
	switch {
	case errors.As(err, &usage) || !a.entered:
		fmt.Fprintf(a.Stderr, "error: %s\n", clean(err.Error()))
		path := "teamkeys"
		if cmd != nil {
			path = cmd.CommandPath()
		}
		fmt.Fprintf(a.Stderr, "Run '%s --help' for usage.\n", path)
		return exitUsage
	case errors.Is(err, errAborted):
		fmt.Fprintf(a.Stderr, "%s\n", err)
		return exitUsage
	case errors.As(err, &apiErr):
		fmt.Fprintf(a.Stderr, "error: %s\n", apiErrorLine(apiErr.Code, apiErr.Message, apiErr.RequestID))
		return exitFailure
	default:
		fmt.Fprintf(a.Stderr, "error: %s\n", clean(err.Error()))
		if a.endpointDefaulted && connectionRefused(err) {
			fmt.Fprintf(a.Stderr, "No endpoint is set and no local server answers at the default %s (make run): set %s or pass --endpoint with the API's URL.\n",
				a.cfg.Endpoint, envEndpoint)
		}
		return exitFailure
	}
}

// apiErrorLine is how a refusal reads on stderr: the code first, for
// scripts.
func apiErrorLine(code client.ErrorCode, message, requestID string) string {
	s := clean(string(code)) + ": " + clean(message)
	if requestID != "" {
		s += " (request id " + clean(requestID) + ")"
	}
	return s
}

func (a *App) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "teamkeys",
		Short: "Manage the API access keys of a team's members",
		Long: `teamkeys manages the API access keys of a team's members through the teamkeys
API, and signs requests with an access key.

Configuration comes from flags, then the environment (TEAMKEYS_ENDPOINT,
TEAMKEYS_TOKEN, TEAMKEYS_TEAM, TEAMKEYS_ACCESS_KEY_ID,
TEAMKEYS_SECRET_ACCESS_KEY, TEAMKEYS_SIGNING_REGION), then defaults: the
endpoint defaults to the local server of make run (` + client.DefaultEndpoint + `), and
the team to the token's own (its team_id claim, or TEAMKEYS_CLAIM_TEAM's).
A plain http:// endpoint must be this machine (127.0.0.0/8, ::1, localhost)
unless --insecure-http says otherwise: the token and secrets travel in clear.

Exit codes: 0 done; 1 the service refused the request (its error code on
stderr) or it could not be sent; 2 a bad command line (an unknown command or
flag, a bad value, a missing argument, token, team or key, or a destructive
command without --yes when stdin is not a terminal).`,
		Example: `  export TEAMKEYS_TOKEN=$(make -s token SUB=admin TEAM=t1 ROLE=admin)
  teamkeys keys create alice --description ci --expires-in 90d
  teamkeys keys list -o json
  TEAMKEYS_ACCESS_KEY_ID=TKAK... TEAMKEYS_SECRET_ACCESS_KEY=tksk_... teamkeys whoami`,
		Args:              cobra.NoArgs,
		SilenceUsage:      true,
		SilenceErrors:     true,
		PersistentPreRunE: a.resolve,
		RunE:              a.wrap(func(cmd *cobra.Command, _ []string) error { return cmd.Help() }),
	}
	root.SetIn(a.Stdin)
	root.SetOut(a.Stdout)
	root.SetErr(a.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })

	f := root.PersistentFlags()
	f.StringVar(&a.flags.endpoint, "endpoint", client.DefaultEndpoint, "the API's base URL (env "+envEndpoint+")")
	f.StringVar(&a.flags.token, "token", "", "bearer token of the key-management commands (env "+envToken+")")
	f.StringVar(&a.flags.team, "team", "", "the team (env "+envTeam+"; default: the token's team claim, env "+envTeamClaim+", default team_id)")
	f.StringVar(&a.flags.accessKeyID, "access-key-id", "", "access key id that whoami and sign sign with (env "+envAccessKeyID+")")
	f.StringVar(&a.flags.secret, "secret-access-key", "", "its secret (env "+envSecret+", preferred: a flag lands in shell history)")
	f.StringVar(&a.flags.region, "region", signing.DefaultRegion, "SigV4 signing region (env "+envRegion+")")
	f.StringVarP(&a.flags.output, "output", "o", "", "output format: table or json (default: table on a terminal, json otherwise)")
	f.BoolVar(&a.flags.insecureHTTP, "insecure-http", false, "allow a plain http:// --endpoint on another host than this machine (the token and secrets travel in clear)")
	f.DurationVar(&a.flags.timeout, "timeout", 60*time.Second, "give up on a command after this long, retries included")
	_ = root.RegisterFlagCompletionFunc("output", func(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		return outputsOf(cmd), cobra.ShellCompDirectiveNoFileComp
	})

	root.AddCommand(a.keysCommand(), a.membersCommand(), a.policyCommand(), a.auditCommand(), a.reportCommand(),
		a.whoamiCommand(), a.signCommand(), a.versionCommand())
	return root
}

// wrap marks the command's own code as entered, so that its errors are
// runtime errors (exit 1) unless they are a usageError.
func (a *App) wrap(run func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.entered = true
		return run(cmd, args)
	}
}

// group is a command that only holds others: alone it prints its help,
// with an unknown subcommand it is a usage error.
func (a *App) group(use, short string, subs ...*cobra.Command) *cobra.Command {
	c := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
		RunE:  a.wrap(func(cmd *cobra.Command, _ []string) error { return cmd.Help() }),
	}
	c.AddCommand(subs...)
	return c
}

// outputsAnnotation lists the output formats of a command other than table
// and json.
const outputsAnnotation = "teamkeys-outputs"

func outputsOf(cmd *cobra.Command) []string {
	if o, ok := cmd.Annotations[outputsAnnotation]; ok {
		return strings.Split(o, ",")
	}
	return []string{"table", "json"}
}

// resolve fills a.cfg: each flag given wins, else its environment
// variable, else its default. What a command requires (a token, a team, a
// key) is checked by the command.
func (a *App) resolve(cmd *cobra.Command, _ []string) error {
	pick := func(name, flagValue, env string) string {
		if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
			return flagValue
		}
		if env != "" {
			if v := strings.TrimSpace(a.Getenv(env)); v != "" {
				return v
			}
		}
		return flagValue
	}
	a.cfg = config{
		Endpoint:     pick("endpoint", a.flags.endpoint, envEndpoint),
		InsecureHTTP: a.flags.insecureHTTP,
		Token:        strings.TrimSpace(pick("token", a.flags.token, envToken)),
		Team:         pick("team", a.flags.team, envTeam),
		AccessKeyID:  pick("access-key-id", a.flags.accessKeyID, envAccessKeyID),
		Secret:       pick("secret-access-key", a.flags.secret, envSecret),
		Region:       pick("region", a.flags.region, envRegion),
		Output:       a.flags.output,
		Timeout:      a.flags.timeout,
	}
	if !flagChanged(cmd.Flags(), "endpoint") && strings.TrimSpace(a.Getenv(envEndpoint)) == "" {
		a.endpointDefaulted = true
		if a.defaultEndpoint != "" {
			a.cfg.Endpoint = a.defaultEndpoint
		}
	}
	if flagChanged(cmd.Flags(), "secret-access-key") {
		fmt.Fprintf(a.Stderr, "warning: a secret given on the command line lands in shell history and the process list; prefer %s\n", envSecret)
	}
	if flagChanged(cmd.Flags(), "token") {
		fmt.Fprintf(a.Stderr, "warning: a token given on the command line lands in shell history and the process list; prefer %s\n", envToken)
	}
	if a.cfg.Timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	outputs := outputsOf(cmd)
	if a.cfg.Output == "" {
		a.cfg.Output = outputs[0]
		if _, special := cmd.Annotations[outputsAnnotation]; !special {
			a.cfg.Output = "json"
			if a.StdoutIsTerminal != nil && a.StdoutIsTerminal() {
				a.cfg.Output = "table"
			}
		}
	}
	valid := false
	for _, o := range outputs {
		valid = valid || a.cfg.Output == o
	}
	if !valid {
		return usagef("invalid --output %q: want %s", a.cfg.Output, strings.Join(outputs, " or "))
	}
	return nil
}

// teamClient is the client of a command on a team's keys: it needs a team
// and a token.
// Without --team or TEAMKEYS_TEAM, the team is the token's own (its
// TEAMKEYS_CLAIM_TEAM claim, team_id by default, as the service reads it):
// a caller only ever acts on its own team.
func (a *App) teamClient() (*client.Client, string, error) {
	if a.cfg.Token == "" {
		team := a.cfg.Team
		if team == "" {
			team = "t1"
		}
		return nil, "", usagef("no token: pass --token or set %s (make -s token SUB=admin TEAM=%s ROLE=admin mints one for make run)", envToken, team)
	}
	if a.cfg.Team == "" {
		a.cfg.Team = tokenClaim(a.cfg.Token, claimName(a.Getenv(envTeamClaim)))
	}
	if a.cfg.Team == "" {
		return nil, "", usagef("no team: pass --team or set %s (the token has no %s claim to take it from)", envTeam, claimName(a.Getenv(envTeamClaim)))
	}
	c, err := a.newClient(client.WithToken(a.cfg.Token))
	return c, a.cfg.Team, err
}

// keyClient is the client of a command signed with an access key.
func (a *App) keyClient() (*client.Client, error) {
	if a.cfg.AccessKeyID == "" || a.cfg.Secret == "" {
		return nil, usagef("no access key: set %s and %s (or pass --access-key-id and --secret-access-key)", envAccessKeyID, envSecret)
	}
	return a.newClient(client.WithAccessKey(a.cfg.AccessKeyID, a.cfg.Secret))
}

func (a *App) newClient(opts ...client.Option) (*client.Client, error) {
	opts = append(opts, client.WithSigningRegion(a.cfg.Region), client.WithUserAgent(userAgent()))
	if a.HTTPClient != nil {
		opts = append(opts, client.WithHTTPClient(a.HTTPClient))
	}
	if a.cfg.InsecureHTTP {
		opts = append(opts, client.WithInsecureHTTP())
	}
	c, err := client.New(a.cfg.Endpoint, opts...)
	if errors.Is(err, client.ErrInsecureHTTP) {
		return nil, usagef("refusing plain http:// to %s, which is not this machine: the token and secrets would travel in clear; use https://, or pass --insecure-http", clean(a.cfg.Endpoint))
	}
	if err != nil {
		return nil, usagef("invalid --endpoint %q (or %s): want an http(s) URL such as %s", a.cfg.Endpoint, envEndpoint, client.DefaultEndpoint)
	}
	return c, nil
}

// context is the command's context bounded by --timeout.
func (a *App) context(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, a.cfg.Timeout)
}

func userAgent() string { return "teamkeys-cli/" + cliVersion() }

// cliVersion is the linked version, else the module version go install
// recorded, else "devel".
func cliVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}

// connectionRefused is an error of a connection that could not be made.
func connectionRefused(err error) bool {
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// flagChanged says whether the command line set a flag of cmd.
func flagChanged(flags *pflag.FlagSet, name string) bool {
	f := flags.Lookup(name)
	return f != nil && f.Changed
}
