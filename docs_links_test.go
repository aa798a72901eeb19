package teamkeys_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// readmeMaxLines keeps the README a front door: the reference lives in docs/.
const readmeMaxLines = 300

// TestDocsLinks: every relative link in the README, docs/*.md and
// events/README.md reaches a file that exists and, with a #fragment, a
// heading of that file (GitHub's anchors), and the README stays under
// readmeMaxLines lines.
func TestDocsLinks(t *testing.T) {
	files, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	files = append([]string{"README.md", "events/README.md"}, files...)
	if len(files) < 8 {
		t.Fatalf("found only %v: the docs pages are missing", files)
	}
	links := 0
	for _, f := range files {
		n, problems, err := checkLinks(f)
		if err != nil {
			t.Fatal(err)
		}
		links += n
		for _, p := range problems {
			t.Errorf("%s", p)
		}
	}
	if links < 50 {
		t.Errorf("checked only %d relative links: is the link parser still finding them?", links)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(readme), "\n"); n >= readmeMaxLines {
		t.Errorf("README.md has %d lines, want under %d: move reference material to docs/ and link it", n, readmeMaxLines)
	}
}

// TestDocsExamples: the commands the README and docs/ show still work as
// far as a test can tell without running them: every make target they name
// (in a code span or a code block) is one of the Makefile's, and every
// events/*.json file they name exists.
func TestDocsExamples(t *testing.T) {
	makefile, err := os.ReadFile("Makefile")
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`).FindAllStringSubmatch(string(makefile), -1) {
		targets[m[1]] = true
	}
	docs, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	makeRe := regexp.MustCompile("\\bmake((?:\\s+[^\\s|;&)`]+)+)")
	eventRe := regexp.MustCompile(`\bevents/[A-Za-z0-9_-]+\.json\b`)
	named := 0
	for _, f := range append([]string{"README.md", "events/README.md"}, docs...) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, code := range codeOf(string(raw)) {
			for _, m := range makeRe.FindAllStringSubmatch(code, -1) {
				// The first word that is neither a flag nor a VAR=value.
				for _, w := range strings.Fields(m[1]) {
					if strings.HasPrefix(w, "-") || strings.Contains(w, "=") {
						continue
					}
					named++
					if !targets[w] {
						t.Errorf("%s: make %s: the Makefile has no such target", f, w)
					}
					break
				}
			}
			for _, e := range eventRe.FindAllString(code, -1) {
				if _, err := os.Stat(e); err != nil {
					t.Errorf("%s names %s: %v", f, e, err)
				}
			}
		}
	}
	if named < 20 {
		t.Errorf("found only %d make commands in the docs: is codeOf still finding the code?", named)
	}
}

// codeOf is a Markdown text's code: each fenced block's lines and each
// code span.
func codeOf(text string) []string {
	var out []string
	fence := ""
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")):
			fence = trimmed[:3]
		case fence != "" && strings.HasPrefix(trimmed, fence):
			fence = ""
		case fence != "":
			out = append(out, line)
		default:
			out = append(out, codeSpanRe.FindAllString(line, -1)...)
		}
	}
	return out
}

// TestCheckLinks holds the checker itself to what it must find.
func TestCheckLinks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("docs/OTHER.md", "# Other\n\n## Upgrading to the bus (`MemberEventPublisherArns`)\n\n## IAM: what, and who\n\n## Dup\n\n## Dup\n\n```sh\n# not a heading\n```\n")
	write("image.png", "png")
	for _, tc := range []struct {
		name, body string
		links      int
		problems   []string
	}{
		{"good links", "# Top\n\n## A section\n\n[self](#a-section), [top](#top), [other](docs/OTHER.md), " +
			"[bus](docs/OTHER.md#upgrading-to-the-bus-membereventpublisherarns), ![img](image.png),\n" +
			"[iam](docs/OTHER.md#iam-what-and-who), [dup](docs/OTHER.md#dup-1), [web](https://example.com/x#y)\n", 7, nil},
		{"a missing file", "[gone](docs/GONE.md)\n", 1, []string{"docs/GONE.md"}},
		{"a missing anchor", "[x](docs/OTHER.md#upgrading)\n", 1, []string{"#upgrading"}},
		{"a missing anchor in the same file", "# Top\n\n[x](#deploy)\n", 1, []string{"#deploy"}},
		{"a duplicate past its count", "[x](docs/OTHER.md#dup-2)\n", 1, []string{"#dup-2"}},
		{"a link split over two lines", "[the\nother](docs/OTHER.md#nowhere)\n", 1, []string{"#nowhere"}},
		{"a heading inside a fence is no anchor", "[x](docs/OTHER.md#not-a-heading)\n", 1, []string{"#not-a-heading"}},
		{"links in code are not links", "```\n[x](nowhere.md)\n```\n`[y](nowhere.md)`\n", 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, problems, err := checkLinks(write("README.md", tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.links {
				t.Errorf("checked %d links, want %d", n, tc.links)
			}
			if len(problems) != len(tc.problems) {
				t.Fatalf("problems %q, want %d naming %q", problems, len(tc.problems), tc.problems)
			}
			for i, want := range tc.problems {
				if !strings.Contains(problems[i], want) {
					t.Errorf("problem %q does not name %q", problems[i], want)
				}
			}
		})
	}
}

func TestGitHubSlug(t *testing.T) {
	for heading, want := range map[string]string{
		"Deploy": "deploy",
		"IAM: what each function may do, and who may invoke them":                                           "iam-what-each-function-may-do-and-who-may-invoke-them",
		"Upgrading to sharded teams (policy copies, audit shards, audit indexes, expiry shards, key pairs)": "upgrading-to-sharded-teams-policy-copies-audit-shards-audit-indexes-expiry-shards-key-pairs",
		"Upgrading to the member-event bus (`MemberEventPublisherArns`)":                                    "upgrading-to-the-member-event-bus-membereventpublisherarns",
		"The ZC2-HMAC-SHA256 scheme":                             "the-zc2-hmac-sha256-scheme",
		"Checkov: the skipped checks":                            "checkov-the-skipped-checks",
		"A [linked](x.md) *heading*_x":                           "a-linked-heading_x",
		"Throttling, logs and alarms":                            "throttling-logs-and-alarms",
		"Two  spaces":                                            "two--spaces",
		"Ünïcode letters × stay":                                 "ünïcode-letters--stay",
		"`make run` and `make test`":                             "make-run-and-make-test",
		"What a stack delete keeps, and deploying onto it again": "what-a-stack-delete-keeps-and-deploying-onto-it-again",
	} {
		if got := githubSlug(heading); got != want {
			t.Errorf("githubSlug(%q) = %q, want %q", heading, got, want)
		}
	}
}

var (
	headingRe    = regexp.MustCompile(`^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$`)
	linkTargetRe = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	inlineLinkRe = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	codeSpanRe   = regexp.MustCompile("`+[^`]*`+")
	schemeRe     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
)

// githubSlug is the anchor GitHub gives a heading: its text (a link's text,
// not its target) in lower case, every character but letters, marks,
// numbers, '-', '_' and spaces dropped, each space a '-'.
func githubSlug(heading string) string {
	text := strings.ToLower(inlineLinkRe.ReplaceAllString(heading, "$1"))
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// markdownLines are a Markdown file's lines, those inside fenced code blocks
// (the fences included) blanked so that the others keep their numbers.
func markdownLines(text string) []string {
	var out []string
	fence := ""
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimLeft(line, " ")
		if fence == "" && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~")) {
			fence = trimmed[:3]
			out = append(out, "")
			continue
		}
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) {
				fence = ""
			}
			out = append(out, "")
			continue
		}
		out = append(out, line)
	}
	return out
}

// anchors are the heading anchors of a Markdown file, duplicates numbered
// -1, -2, … as GitHub numbers them.
func anchors(text string) map[string]bool {
	seen := map[string]int{}
	out := map[string]bool{}
	for _, line := range markdownLines(text) {
		m := headingRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		slug := githubSlug(m[2])
		if n := seen[slug]; n > 0 {
			out[fmt.Sprintf("%s-%d", slug, n)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

// checkLinks reads one Markdown file and reports each relative link whose
// file does not exist or whose #fragment is no heading of that file. It
// returns how many relative links it checked.
func checkLinks(file string) (int, []string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return 0, nil, err
	}
	checked := 0
	var problems []string
	cache := map[string]map[string]bool{}
	anchorsOf := func(path string) (map[string]bool, error) {
		if a, ok := cache[path]; ok {
			return a, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		cache[path] = anchors(string(b))
		return cache[path], nil
	}
	for i, line := range markdownLines(string(raw)) {
		for _, m := range linkTargetRe.FindAllStringSubmatch(codeSpanRe.ReplaceAllString(line, ""), -1) {
			target := m[1]
			if schemeRe.MatchString(target) {
				continue
			}
			checked++
			path, fragment, _ := strings.Cut(target, "#")
			resolved := file
			if path != "" {
				resolved = filepath.Join(filepath.Dir(file), filepath.FromSlash(path))
				if _, err := os.Stat(resolved); err != nil {
					problems = append(problems, fmt.Sprintf("%s:%d: link to %s: no such file", file, i+1, target))
					continue
				}
			}
			if fragment == "" {
				continue
			}
			if !strings.HasSuffix(resolved, ".md") {
				problems = append(problems, fmt.Sprintf("%s:%d: link to %s: a #fragment of a file that is not Markdown", file, i+1, target))
				continue
			}
			a, err := anchorsOf(resolved)
			if err != nil {
				return 0, nil, err
			}
			if !a[fragment] {
				problems = append(problems, fmt.Sprintf("%s:%d: link to %s: %s has no heading #%s", file, i+1, target, resolved, fragment))
			}
		}
	}
	return checked, problems, nil
}
