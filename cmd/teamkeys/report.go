package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/teamkeys/teamkeys/pkg/client"
)

func (a *App) reportCommand() *cobra.Command {
	var outputFile string
	c := &cobra.Command{
		Use:   "report",
		Short: "Print the team's credential report (CSV unless -o json or -o table)",
		Long: `Print the team's credential report, one row per key: status, created,
expires, last used (when, how, from where), age and days since last use. CSV
by default, as the service writes it (like aws iam get-credential-report);
-o json gives the API's JSON (every page's keys in one report), -o table
aligned columns.

The service answers the report a page at a time (each under 5 MB); the
command follows every page (CSV: the header row once) and says how far it
is on stderr ("report: 3 pages, 2,500 keys"). --timeout bounds each page.
A page that fails fails the command (exit 1): with --output-file nothing is
written (the report goes to a temporary file, renamed when whole); on
stdout what came before the failure has been printed, so check the exit
status.`,
		Example: `  teamkeys report --output-file report.csv
  teamkeys report -o json | jq '.keys[] | select(.daysSinceLastUse == null)'`,
		Annotations:       map[string]string{outputsAnnotation: "csv,json,table"},
		Args:              exactArgs(0, "no arguments"),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.wrap(func(cmd *cobra.Command, _ []string) error {
			c, team, err := a.teamClient()
			if err != nil {
				return err
			}
			out, err := newReportOutput(a.Stdout, outputFile)
			if err != nil {
				return err
			}
			defer out.discard()
			w := bufio.NewWriter(out.w)
			progress := &reportProgress{w: a.Stderr}
			switch a.cfg.Output {
			case "csv":
				err = a.reportCSV(cmd, c, team, w, progress)
			case "json":
				err = a.reportJSON(cmd, c, team, w, progress)
			default:
				err = a.reportTable(cmd, c, team, w, progress)
			}
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				return err
			}
			progress.done()
			return out.commit()
		}),
	}
	c.Flags().StringVar(&outputFile, "output-file", "", "write the report to this file (replaced only once the whole report is read)")
	return c
}

// reportCSV writes every CSV page, the header row once.
func (a *App) reportCSV(cmd *cobra.Command, c *client.Client, team string, w io.Writer, progress *reportProgress) error {
	var header []byte
	token := ""
	for {
		ctx, cancel := a.context(cmd)
		page, err := c.CredentialReportCSVPage(ctx, team, token)
		cancel()
		if err != nil {
			return err
		}
		rest, err := client.SplitCSVHeader(page.CSV, header)
		if err != nil {
			return err
		}
		if header == nil {
			header = page.CSV[:len(page.CSV)-len(rest)]
			if _, err := w.Write(header); err != nil {
				return err
			}
		}
		rows, err := csv.NewReader(strings.NewReader(string(rest))).ReadAll()
		if err != nil {
			return fmt.Errorf("report page %d: %w", progress.pages+1, err)
		}
		if _, err := w.Write(rest); err != nil {
			return err
		}
		progress.page(len(rows))
		if page.NextToken == "" {
			return nil
		}
		token = page.NextToken
	}
}

// pages calls each with every JSON page of the report, in order.
func (a *App) pages(cmd *cobra.Command, c *client.Client, team string, progress *reportProgress, each func(*client.CredentialReport) error) error {
	params := &client.CredentialReportParams{}
	for {
		ctx, cancel := a.context(cmd)
		page, err := c.CredentialReportPage(ctx, team, params)
		cancel()
		if err != nil {
			return err
		}
		if err := each(page); err != nil {
			return err
		}
		progress.page(len(page.Keys))
		if page.NextToken == nil || *page.NextToken == "" {
			return nil
		}
		params.NextToken = page.NextToken
	}
}

// reportJSON writes the report as printJSON would write the whole report
// (every page's keys, nextToken null), a page at a time.
func (a *App) reportJSON(cmd *cobra.Command, c *client.Client, team string, w io.Writer, progress *reportProgress) error {
	var first *client.CredentialReport
	n := 0
	err := a.pages(cmd, c, team, progress, func(page *client.CredentialReport) error {
		if first == nil {
			first = page
			if _, err := fmt.Fprintf(w, "{\n  \"generatedAt\": %q,\n  \"keys\": [", page.GeneratedAt.Format(time.RFC3339)); err != nil {
				return err
			}
		}
		for _, k := range page.Keys {
			b, err := marshalIndent(k)
			if err != nil {
				return err
			}
			sep := ","
			if n == 0 {
				sep = ""
			}
			n++
			if _, err := fmt.Fprintf(w, "%s\n    %s", sep, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if n > 0 {
		_, err = io.WriteString(w, "\n  ")
	}
	if err == nil {
		team, _ := json.Marshal(first.TeamId)
		_, err = fmt.Fprintf(w, "],\n  \"nextToken\": null,\n  \"teamId\": %s\n}\n", team)
	}
	return err
}

// marshalIndent is v as printJSON writes it, at the depth of a key in the
// report's keys.
func marshalIndent(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetIndent("    ", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}

func (a *App) reportTable(cmd *cobra.Command, c *client.Client, team string, w io.Writer, progress *reportProgress) error {
	t := newTable(w, "KEY ID", "MEMBER", "STATUS", "CREATED", "EXPIRES", "LAST USED", "SCHEME", "SOURCE IP", "AGE DAYS", "DAYS SINCE USE", "DESCRIPTION")
	err := a.pages(cmd, c, team, progress, func(page *client.CredentialReport) error {
		for _, k := range page.Keys {
			scheme := ""
			if k.LastUsedScheme != nil {
				scheme = string(*k.LastUsedScheme)
			}
			t.row(k.AccessKeyId, k.MemberId, statusCell(string(k.Status), k.LeakedAt, k.LeakUrl), tableTime(&k.CreatedAt), tableTime(k.ExpiresAt), tableTime(k.LastUsedAt),
				scheme, str(k.LastUsedSourceIp), num(&k.AgeDays), num(k.DaysSinceLastUse), k.Description)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return t.flush()
}

// reportProgress says on stderr how many pages and keys have come.
type reportProgress struct {
	w            io.Writer
	pages, keys  int
	printedPages int
}

func (p *reportProgress) page(keys int) {
	p.pages++
	p.keys += keys
	if p.pages > 1 {
		// A one-page report says nothing until done; a longer one says
		// each page.
		p.print()
	}
}

func (p *reportProgress) print() {
	p.printedPages = p.pages
	unit := "pages"
	if p.pages == 1 {
		unit = "page"
	}
	fmt.Fprintf(p.w, "report: %d %s, %s keys\n", p.pages, unit, thousands(p.keys))
}

// done says the total, once, unless the last page did.
func (p *reportProgress) done() {
	if p.printedPages != p.pages {
		p.print()
	}
}

// thousands writes n with a comma between each group of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// reportOutput is where the report goes: stdout, or a temporary file next
// to --output-file, renamed to it only when the whole report is in.
type reportOutput struct {
	w    io.Writer
	f    *os.File
	path string
}

func newReportOutput(stdout io.Writer, path string) (*reportOutput, error) {
	if path == "" {
		return &reportOutput{w: stdout}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return nil, err
	}
	return &reportOutput{w: f, f: f, path: path}, nil
}

// commit puts the whole report in place.
func (o *reportOutput) commit() error {
	if o.f == nil {
		return nil
	}
	err := o.f.Sync()
	if cerr := o.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(o.f.Name(), o.path)
	}
	if err != nil {
		_ = os.Remove(o.f.Name())
	}
	o.f = nil
	return err
}

// discard removes the temporary file of a report that failed.
func (o *reportOutput) discard() {
	if o.f != nil {
		_ = o.f.Close()
		_ = os.Remove(o.f.Name())
	}
}
