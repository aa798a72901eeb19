package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
)

// printJSON writes v as the API writes it, indented by two spaces.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes aligned columns, like kubectl get or aws --output table's
// rows: a header of upper-case names, then one line per row.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)}
	t.row(header...)
	return t
}

// row adds a line; an empty cell reads "-".
func (t *table) row(cells ...string) {
	for i, c := range cells {
		c = clean(c)
		if c == "" {
			c = "-"
		}
		if i > 0 {
			fmt.Fprint(t.tw, "\t")
		}
		fmt.Fprint(t.tw, c)
	}
	fmt.Fprint(t.tw, "\n")
}

func (t *table) flush() error { return t.tw.Flush() }

// clean makes text from the service safe to print on a terminal: control
// and format characters (an escape sequence, a bidirectional override, a
// tab that would break the columns) become U+FFFD.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			return '\uFFFD'
		}
		return r
	}, s)
}

// tableTime is a time in a table: UTC, to the minute.
func tableTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04Z")
}

// tableSeconds is a time in a table to the second (the audit trail).
func tableSeconds(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func num(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

// confirm asks, on a terminal, whether to do action ("delete access key
// X of alice in team t1"; note is said after the question) and goes on
// only on yes. With yes it asks nothing; when stdin is not a terminal it
// refuses with a usage error, since a script must say --yes.
func (a *App) confirm(yes bool, action, note string) error {
	if yes {
		return nil
	}
	if a.StdinIsTerminal == nil || !a.StdinIsTerminal() {
		return usagef("refusing to %s without confirmation: stdin is not a terminal; pass --yes", action)
	}
	question := strings.ToUpper(action[:1]) + action[1:] + "?"
	if note != "" {
		question += " " + note
	}
	fmt.Fprintf(a.Stderr, "%s [y/N] ", question)
	answer, err := bufio.NewReader(a.Stdin).ReadString('\n')
	if err != nil && answer == "" {
		fmt.Fprintln(a.Stderr)
		return errAborted
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	return errAborted
}
