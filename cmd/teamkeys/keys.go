package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/teamkeys/teamkeys/pkg/client"
)

const secretNotice = "The secret access key is shown only now; it cannot be retrieved later. Store it safely."

func (a *App) keysCommand() *cobra.Command {
	return a.group("keys", "Create, list, get, disable, enable, delete and rotate access keys",
		a.keysCreateCommand(), a.keysListCommand(), a.keysGetCommand(),
		a.keysStatusCommand("disable"), a.keysStatusCommand("enable"),
		a.keysDeleteCommand(), a.keysRotateCommand(), a.keysUpdateCommand())
}

func (a *App) keysCreateCommand() *cobra.Command {
	var description, expiresAt, expiresIn, idempotencyKey, outputFile string
	var rf restrictFlags
	c := &cobra.Command{
		Use:   "create MEMBER",
		Short: "Create an access key for a member; its secret is shown only this once",
		Long: `Create an active access key for a member of the team. The answer holds the
secret access key, which the service never shows again: it goes to stdout
only (or, with --output-file, only to that file), never to stderr or a log.

A member holds at most two keys: a third is refused with LimitExceeded
(exit 1). The request carries an Idempotency-Key (--idempotency-key, or a
random one), so the client's retries can't create a second key.

--allow-cidr (repeatable) limits the networks the key may sign from and
--scope (repeatable) what it grants behind the authorizer; without them the
key signs from anywhere and has the team's default scopes, if its policy
sets any, else every scope (--all-scopes asks for every scope whatever the
policy says). See docs/RESTRICTING.md.`,
		Example: `  teamkeys keys create alice --description ci --expires-in 90d
  teamkeys keys create alice --expires-at 2027-01-01T00:00:00Z -o json
  teamkeys keys create alice --output-file alice.json   # mode 0600; stdout shows the key without its secret
  teamkeys keys create alice --allow-cidr 203.0.113.0/24 --allow-cidr 2001:db8::/48 --scope orders:read`,
		Args:              exactArgs(1, "MEMBER"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.wrap(func(cmd *cobra.Command, args []string) error {
			req := client.GenerateAccessKeyRequest{}
			if flagChanged(cmd.Flags(), "description") {
				req.Description = &description
			}
			exp, err := a.expiry(expiresAt, expiresIn)
			if err != nil {
				return err
			}
			req.ExpiresAt = exp
			r, _, err := rf.restrictions(cmd.Flags())
			if err != nil {
				return err
			}
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			return a.showCreated(cmd, outputFile, idempotencyKey, exp, func(ctx context.Context, key string) (*client.CreatedAccessKey, error) {
				return c.GenerateAccessKeyRestricted(ctx, team, args[0], req, r, &client.GenerateAccessKeyParams{IdempotencyKey: &key})
			})
		}),
	}
	f := c.Flags()
	f.StringVar(&description, "description", "", "what the key is for (free text)")
	f.StringVar(&expiresAt, "expires-at", "", "when the key stops working: RFC 3339 (2027-01-01T00:00:00Z) or a date (2027-01-01, midnight UTC)")
	f.StringVar(&expiresIn, "expires-in", "", "how long the key works: 90d, 12h, 1h30m")
	f.StringVar(&idempotencyKey, "idempotency-key", "", "makes a repeated command answer the same key and secret instead of a second key (default: a random one)")
	f.StringVar(&outputFile, "output-file", "", "write the key with its secret to this new file (mode 0600; never overwritten): AWS's two-column CSV if the name ends in .csv, else JSON")
	c.MarkFlagsMutuallyExclusive("expires-at", "expires-in")
	rf.add(c, "absent: any source, and the team's default scopes or every scope")
	return c
}

func (a *App) keysListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list [MEMBER]",
		Short: "List a member's access keys, or the whole team's",
		Long: `List a member's access keys, or, with no member, every key of the team
(every page, merged: the JSON is the API's {"accessKeys": [...], "nextToken": null}).
Secrets are never listed.`,
		Example: `  teamkeys keys list
  teamkeys keys list alice -o json`,
		Aliases:           []string{"ls"},
		Args:              maxArgs(1, "[MEMBER]"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.wrap(func(cmd *cobra.Command, args []string) error {
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			list := &client.AccessKeyList{AccessKeys: []client.AccessKey{}}
			if len(args) == 1 {
				if list, err = c.ListMemberAccessKeys(ctx, team, args[0]); err != nil {
					return err
				}
				if list.AccessKeys == nil {
					list.AccessKeys = []client.AccessKey{}
				}
			} else {
				for k, err := range c.TeamAccessKeys(ctx, team) {
					if err != nil {
						return err
					}
					list.AccessKeys = append(list.AccessKeys, k)
				}
			}
			if a.cfg.Output == "json" {
				return printJSON(a.Stdout, list)
			}
			if len(list.AccessKeys) == 0 {
				fmt.Fprintln(a.Stderr, "No access keys.")
			}
			return a.printKeys(list.AccessKeys...)
		}),
	}
}

func (a *App) keysGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "get MEMBER ACCESS_KEY_ID",
		Short:             "Show one access key (never its secret)",
		Example:           `  teamkeys keys get alice TKAKABCDEFGHIJKLMNOPQRST -o json`,
		Args:              exactArgs(2, "MEMBER ACCESS_KEY_ID"),
		ValidArgsFunction: a.completeKeyIDs,
		RunE: a.wrap(func(cmd *cobra.Command, args []string) error {
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			key, err := c.GetAccessKey(ctx, team, args[0], args[1])
			if err != nil {
				return err
			}
			return a.printKey(key)
		}),
	}
}

// keysStatusCommand is disable or enable; disabling asks first.
func (a *App) keysStatusCommand(verb string) *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:               verb + " MEMBER ACCESS_KEY_ID",
		Args:              exactArgs(2, "MEMBER ACCESS_KEY_ID"),
		ValidArgsFunction: a.completeKeyIDs,
		RunE: a.wrap(func(cmd *cobra.Command, args []string) error {
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			call := c.EnableAccessKey
			if verb == "disable" {
				if err := a.confirm(yes, fmt.Sprintf("disable access key %s of %s in team %s", args[1], args[0], team), ""); err != nil {
					return err
				}
				call = c.DisableAccessKey
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			key, err := call(ctx, team, args[0], args[1])
			if err != nil {
				return err
			}
			return a.printKey(key)
		}),
	}
	if verb == "disable" {
		c.Short = "Make an access key inactive (asks first; enable undoes it)"
		c.Example = `  teamkeys keys disable alice TKAKABCDEFGHIJKLMNOPQRST --yes`
		c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
	} else {
		c.Short = "Make an inactive access key active again (never one a leak report disabled: rotate or delete that one)"
		c.Example = `  teamkeys keys enable alice TKAKABCDEFGHIJKLMNOPQRST`
	}
	return c
}

func (a *App) keysDeleteCommand() *cobra.Command {
	var yes bool
	c := &cobra.Command{
		Use:               "delete MEMBER ACCESS_KEY_ID",
		Short:             "Delete an access key for good (asks first)",
		Example:           `  teamkeys keys delete alice TKAKABCDEFGHIJKLMNOPQRST --yes`,
		Aliases:           []string{"rm"},
		Args:              exactArgs(2, "MEMBER ACCESS_KEY_ID"),
		ValidArgsFunction: a.completeKeyIDs,
		RunE: a.wrap(func(cmd *cobra.Command, args []string) error {
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			if err := a.confirm(yes, fmt.Sprintf("delete access key %s of %s in team %s", args[1], args[0], team), "It cannot be undone."); err != nil {
				return err
			}
			ctx, cancel := a.context(cmd)
			defer cancel()
			if err := c.DeleteAccessKey(ctx, team, args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(a.Stderr, "Deleted access key %s of %s.\n", args[1], clean(args[0]))
			return nil
		}),
	}
	c.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
	return c
}

func (a *App) keysRotateCommand() *cobra.Command {
	var yes bool
	var description, grace, idempotencyKey, outputFile string
	var rf restrictFlags
	c := &cobra.Command{
		Use:   "rotate MEMBER ACCESS_KEY_ID",
		Short: "Replace an access key: a new key (secret shown once), the old one retired after a grace period",
		Long: `Create the replacement of an access key, shown with its secret this once (as
keys create shows it), and retire the old key after the grace period: the
service's default is a day; 0 deletes the old key at once (so a member at the
cap can always rotate). Asks first.

The new key copies the old key's source networks and scopes unless a flag
sets them: --allow-cidr and --scope (repeatable) replace them, --any-source
and --all-scopes lift them, --no-scopes grants none.`,
		Example: `  teamkeys keys rotate alice TKAKABCDEFGHIJKLMNOPQRST --grace-period 1h --yes
  teamkeys keys rotate alice TKAKABCDEFGHIJKLMNOPQRST --grace-period 0 --output-file new.csv
  teamkeys keys rotate alice TKAKABCDEFGHIJKLMNOPQRST --allow-cidr 198.51.100.0/24 --all-scopes --yes`,
		Args:              selfOrArgs(exactArgs(2, "MEMBER ACCESS_KEY_ID")),
		ValidArgsFunction: a.completeKeyIDs,
		RunE: a.wrap(func(cmd *cobra.Command, args []string) error {
			if self, _ := cmd.Flags().GetBool(flagSelf); self {
				return a.rotateSelf(cmd, grace, idempotencyKey, outputFile, yes)
			}
			req := client.RotateAccessKeyRequest{}
			if flagChanged(cmd.Flags(), "description") {
				req.Description = &description
			}
			r, _, err := rf.restrictions(cmd.Flags())
			if err != nil {
				return err
			}
			retire := "after the service's default grace period (a day)"
			if flagChanged(cmd.Flags(), "grace-period") {
				d, err := parseDuration(grace)
				if err != nil || d < 0 || d%time.Second != 0 {
					return usagef("invalid --grace-period %q: want a whole number of seconds or more, such as 0, 90s, 24h or 7d", grace)
				}
				seconds := int(d / time.Second)
				req.GracePeriodSeconds = &seconds
				retire = "after " + grace
				if seconds == 0 {
					retire = "at once"
				}
			}
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			if err := a.confirm(yes, fmt.Sprintf("rotate access key %s of %s in team %s", args[1], args[0], team), "The old key is retired "+retire+"."); err != nil {
				return err
			}
			return a.showCreated(cmd, outputFile, idempotencyKey, nil, func(ctx context.Context, key string) (*client.CreatedAccessKey, error) {
				return c.RotateAccessKeyRestricted(ctx, team, args[0], args[1], req, r, &client.RotateAccessKeyParams{IdempotencyKey: &key})
			})
		}),
	}
	f := c.Flags()
	f.StringVar(&grace, "grace-period", "", "how long the old key keeps working: 0 (deleted at once), 90s, 24h, 7d (default: the service's, a day)")
	f.StringVar(&description, "description", "", "the new key's description (default: the old key's)")
	f.StringVar(&idempotencyKey, "idempotency-key", "", "makes a repeated command answer the same new key instead of rotating again (default: a random one)")
	f.StringVar(&outputFile, "output-file", "", "write the new key with its secret to this new file (mode 0600; never overwritten): CSV if the name ends in .csv, else JSON")
	f.BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation (required when stdin is not a terminal)")
	rf.add(c, "absent: the old key's")
	f.Bool(flagSelf, false, "rotate the access key you sign with (TEAMKEYS_ACCESS_KEY_ID, TEAMKEYS_SECRET_ACCESS_KEY), without a token, when the team's key policy allows it")
	return c
}

// expiry is --expires-at or --expires-in as the request's expiresAt.
func (a *App) expiry(at, in string) (*time.Time, error) {
	switch {
	case at != "":
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, at); err != nil {
				return nil, usagef("invalid --expires-at %q: want RFC 3339 (2027-01-01T00:00:00Z) or a date (2027-01-01)", at)
			}
		}
		t = t.UTC()
		return &t, nil
	case in != "":
		d, err := parseDuration(in)
		if err != nil || d <= 0 {
			return nil, usagef("invalid --expires-in %q: want a positive duration such as 90d, 12h or 1h30m", in)
		}
		t := a.Now().Add(d).UTC().Truncate(time.Second)
		return &t, nil
	}
	return nil, nil
}

// parseDuration is time.ParseDuration, plus whole days: "90d".
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100*365 {
			return 0, fmt.Errorf("invalid number of days %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// secretFile is the --output-file of a created key: made before the
// request, so that a name already taken refuses the command before a key
// exists.
type secretFile struct {
	path string
	f    *os.File
	// idempotencyKey and expiresAt are the request's, for the replay.
	idempotencyKey string
	expiresAt      *time.Time
}

// openSecretFile creates path, mode 0600, refusing one that exists; no
// path is no file.
func openSecretFile(path string) (*secretFile, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil, usagef("--output-file %s exists: refusing to overwrite it", path)
	}
	if err != nil {
		return nil, err
	}
	return &secretFile{path: path, f: f}, nil
}

// discard removes the file of a request that failed.
func (s *secretFile) discard() {
	if s != nil {
		_ = s.f.Close()
		_ = os.Remove(s.path)
	}
}

// writeSecretFile is (*secretFile).write; tests make it fail.
var writeSecretFile = (*secretFile).write

// write puts key, with its secret, in the file: CSV with AWS's header for a
// .csv name, else the API's JSON.
func (s *secretFile) write(key *client.CreatedAccessKey) error {
	var err error
	if strings.EqualFold(filepath.Ext(s.path), ".csv") {
		_, err = fmt.Fprintf(s.f, "Access key ID,Secret access key\n%s,%s\n", key.AccessKeyId, key.SecretAccessKey)
	} else {
		err = printJSON(s.f, key)
	}
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// showCreated makes a key with its secret (create, rotate): the
// --output-file first, so that a taken name refuses before a key exists,
// then the request with idempotencyKey (a random one when empty), then
// printCreated. expiresAt is the expiry create sent (nil for none, and for
// rotate), which the replay of a file not written repeats.
func (a *App) showCreated(cmd *cobra.Command, outputFile, idempotencyKey string, expiresAt *time.Time,
	request func(ctx context.Context, idempotencyKey string) (*client.CreatedAccessKey, error)) error {
	file, err := openSecretFile(outputFile)
	if err != nil {
		return err
	}
	if idempotencyKey == "" {
		idempotencyKey = client.NewIdempotencyKey()
	}
	ctx, cancel := a.context(cmd)
	defer cancel()
	key, err := request(ctx, idempotencyKey)
	if err != nil {
		file.discard()
		return err
	}
	if file != nil {
		file.idempotencyKey, file.expiresAt = idempotencyKey, expiresAt
	}
	return a.printCreated(key, file)
}

// printCreated shows a created or rotated key: with its secret on stdout,
// or, when file is set, the secret in the file and the key without it on
// stdout. The notice goes to stderr; the secret never does.
func (a *App) printCreated(key *client.CreatedAccessKey, file *secretFile) error {
	if file != nil {
		if err := writeSecretFile(file, key); err != nil {
			_ = os.Remove(file.path)
			// The key exists now, but the user chose not to see its secret
			// here: say how to have the same answer again, into another file.
			return a.replayAdvice(file, key, err)
		}
		fmt.Fprintf(a.Stderr, "The secret access key was written to %s (mode 0600) and is not shown; it cannot be retrieved later.\n", file.path)
		return a.printCreatedKey(a.Stdout, key, false)
	}
	fmt.Fprintln(a.Stderr, secretNotice)
	return a.printCreatedKey(a.Stdout, key, true)
}

func (a *App) printCreatedKey(w io.Writer, key *client.CreatedAccessKey, withSecret bool) error {
	if a.cfg.Output == "json" {
		if withSecret {
			return printJSON(w, key)
		}
		return printJSON(w, withoutSecret(key))
	}
	header := []string{"KEY ID", "MEMBER", "STATUS", "CREATED", "EXPIRES", "ROTATED FROM", "ALLOWED CIDRS", "SCOPES", "DESCRIPTION"}
	row := []string{key.AccessKeyId, key.MemberId, string(key.Status), tableTime(&key.CreatedAt), tableTime(key.ExpiresAt), str(key.RotatedFrom),
		listCell(key.AllowedCidrs), listCell(key.Scopes), key.Description}
	if withSecret {
		header = append(header, "SECRET ACCESS KEY")
		row = append(row, key.SecretAccessKey)
	}
	t := newTable(w, header...)
	t.row(row...)
	return t.flush()
}

// withoutSecret is a created key as every other answer shows a key.
func withoutSecret(k *client.CreatedAccessKey) client.AccessKey {
	return client.AccessKey{
		AccessKeyId: k.AccessKeyId, CreatedAt: k.CreatedAt, CreatedBy: k.CreatedBy, Description: k.Description,
		ExpiresAt: k.ExpiresAt, MemberId: k.MemberId, RotatedFrom: k.RotatedFrom, Status: client.AccessKeyStatus(k.Status), TeamId: k.TeamId,
		AllowedCidrs: k.AllowedCidrs, Scopes: k.Scopes,
	}
}

func (a *App) printKey(key *client.AccessKey) error {
	if a.cfg.Output == "json" {
		return printJSON(a.Stdout, key)
	}
	return a.printKeys(*key)
}

func (a *App) printKeys(keys ...client.AccessKey) error {
	t := newTable(a.Stdout, "KEY ID", "MEMBER", "STATUS", "CREATED", "EXPIRES", "LAST USED", "ALLOWED CIDRS", "SCOPES", "DESCRIPTION")
	var leaks []string
	for _, k := range keys {
		t.row(k.AccessKeyId, k.MemberId, statusCell(string(k.Status), k.LeakedAt, k.LeakUrl), tableTime(&k.CreatedAt), expiresCell(k.ExpiresAt, a.Now()), tableTime(k.LastUsedAt),
			listCell(k.AllowedCidrs), listCell(k.Scopes), k.Description)
		if line := leakLine(k.AccessKeyId, k.LeakedAt, k.LeakUrl); line != "" {
			leaks = append(leaks, line)
		}
	}
	if err := t.flush(); err != nil {
		return err
	}
	for _, line := range leaks {
		if _, err := fmt.Fprintln(a.Stdout, line); err != nil {
			return err
		}
	}
	return nil
}

// statusCell is a key's status in a table: "(leaked)" after it when a leak
// report disabled it.
func statusCell(status string, leakedAt *time.Time, leakURL *string) string {
	if leakedAt != nil || leakURL != nil && *leakURL != "" {
		return status + " (leaked)"
	}
	return status
}

// leakLine says, under a table, when and where a leaked key was reported
// and what to do; empty for a key never reported.
func leakLine(id string, leakedAt *time.Time, leakURL *string) string {
	if leakedAt == nil && (leakURL == nil || *leakURL == "") {
		return ""
	}
	line := id + " was reported leaked"
	if leakedAt != nil {
		line += " at " + tableSeconds(*leakedAt)
	}
	if leakURL != nil && *leakURL != "" {
		line += " (" + clean(*leakURL) + ")"
	}
	return line + ": it cannot be enabled again; rotate or delete it."
}

// completeKeyIDs completes the ACCESS_KEY_ID after a MEMBER with the
// member's keys, when a team and a token are configured.
func (a *App) completeKeyIDs(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) != 1 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	if err := a.resolve(cmd, args); err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	c, team, err := a.teamClient()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	ctx, cancel := a.context(cmd)
	defer cancel()
	list, err := c.ListMemberAccessKeys(ctx, team, args[0])
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var ids []string
	for _, k := range list.AccessKeys {
		ids = append(ids, k.AccessKeyId+"\t"+string(k.Status)+" "+clean(k.Description))
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}

// exactArgs and maxArgs are cobra's, saying what is expected.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s wants %s (got %d argument(s))", cmd.CommandPath(), names, len(args))
		}
		return nil
	}
}

func maxArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usagef("%s takes at most %s (got %d arguments)", cmd.CommandPath(), names, len(args))
		}
		return nil
	}
}

// replayAdvice reports an --output-file not written after the key was
// made: the secret is not printed; stderr names the Idempotency-Key the
// request carried and the command that answers the same key and secret
// again (the service replays it for 24 hours) into another file.
func (a *App) replayAdvice(file *secretFile, key *client.CreatedAccessKey, err error) error {
	fmt.Fprintf(a.Stderr, "error: could not write %s: %v\n", file.path, err)
	fmt.Fprintf(a.Stderr, "Access key %s was made; its secret is not shown. The request's Idempotency-Key is %s:\n", clean(key.AccessKeyId), file.idempotencyKey)
	fmt.Fprintln(a.Stderr, "within 24 hours, this command answers the same key and secret again, into another file:")
	add := []string{"--idempotency-key", file.idempotencyKey, "--output-file", otherFile(file.path)}
	if file.expiresAt != nil {
		// --expires-in counts from now: the replay must send the same time.
		add = append(add, "--expires-at", file.expiresAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(a.Stderr, "  %s\n", replayCommand(a.args, add...))
	for _, f := range []string{"--token", "--secret-access-key"} {
		if argsHold(a.args, f) {
			fmt.Fprintf(a.Stderr, "(%s is left out of it: give it as before, or better in %s.)\n", f, map[string]string{"--token": envToken, "--secret-access-key": envSecret}[f])
		}
	}
	return fmt.Errorf("--output-file %s not written; the secret was not printed", file.path)
}

// replayDropped are the flags the replay leaves out: what it replaces, and
// credentials, which are never printed.
var replayDropped = []string{"--output-file", "--idempotency-key", "--expires-in", "--token", "--secret-access-key"}

// replayCommand is the command line args without replayDropped, plus add,
// quoted for a POSIX shell.
func replayCommand(args []string, add ...string) string {
	out := []string{"teamkeys"}
	for i := 0; i < len(args); i++ {
		name, _, hasValue := strings.Cut(args[i], "=")
		if slices.Contains(replayDropped, name) {
			if !hasValue {
				i++
			}
			continue
		}
		out = append(out, shellQuote(args[i]))
	}
	for _, s := range add {
		out = append(out, shellQuote(s))
	}
	return strings.Join(out, " ")
}

// argsHold says whether args set flag.
func argsHold(args []string, flag string) bool {
	for _, a := range args {
		if name, _, _ := strings.Cut(a, "="); name == flag {
			return true
		}
	}
	return false
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(clean(s), "'", `'\''`) + "'"
}

// otherFile is a name next to path for the replay: key.json, key-2.json.
func otherFile(path string) string {
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-2" + ext
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
