package routescope

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// fuzzRichTable is used whenever the fuzzed table does not parse.
const fuzzRichTable = `{"ANY /{proxy+}": "any:all", "GET /{proxy+}": "get:all", "ANY /orders/{id}": "any:order",
	"GET /orders/{id}": "orders:read", "GET /orders/mine": "orders:mine", "GET /orders/{id}/items": "items:read",
	"GET /orders/{id}/{proxy+}": "orders:deep", "GET /a/{x}/c": "a:x:c", "GET /a/b/{y}": "a:b:y",
	"HEAD /orders/{id}": "orders:head", "GET /": "root", "POST /orders": "orders:write", "ANY /admin/{proxy+}": "admin"}`

// fuzzDecoded is the path's decoded form, "/"-joined, read the long way;
// ok false when the path cannot be read one way only.
func fuzzDecoded(path string) (string, bool) {
	if !strings.HasPrefix(path, "/") {
		return "", false
	}
	if path == "/" {
		return "/", true
	}
	var segs []string
	for _, s := range strings.Split(strings.TrimSuffix(path[1:], "/"), "/") {
		d, err := url.PathUnescape(s)
		if err != nil || d == "" || d == "." || d == ".." || strings.ContainsAny(d, `/\;`) || strings.ContainsAny(s, `\;`) {
			return "", false
		}
		segs = append(segs, d)
	}
	return "/" + strings.Join(segs, "/"), true
}

// fuzzPatternRe is a pattern as a regular expression over a decoded path.
func fuzzPatternRe(key string) *regexp.Regexp {
	_, path, _ := strings.Cut(key, " ")
	if path == "/" {
		return regexp.MustCompile(`^/$`)
	}
	var b strings.Builder
	b.WriteString("(?s)^")
	for _, s := range strings.Split(path[1:], "/") {
		b.WriteString("/")
		switch {
		case strings.HasSuffix(s, "+}"):
			b.WriteString(`.+`)
		case strings.HasPrefix(s, "{"):
			b.WriteString(`[^/]+`)
		default:
			b.WriteString(regexp.QuoteMeta(s))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// fuzzRank is the documented order as a tuple, smaller is more specific.
func fuzzRank(r *route, method string) []int {
	m := 9
	switch {
	case r.method == method:
		m = 0
	case r.method == "GET" && method == "HEAD":
		m = 1
	case r.method == "ANY":
		m = 2
	}
	greedy := 0
	if strings.HasSuffix(r.key, "+}") {
		greedy = 1
	}
	rank := []int{m, -strings.Count(r.shape(), "/") + strings.Count(r.shape(), "{"), greedy, -len(r.segs)}
	for _, s := range r.segs {
		rank = append(rank, int(s.kind))
	}
	return rank
}

func lessRank(a, b []int) bool {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// FuzzRouteMatch: Parse never panics and refuses with ErrInvalidTable;
// Required never panics; an ambiguous answer only for a path that cannot be
// read one way only; a route answered really matches (method and a regular
// expression of its pattern over the decoded path), no route matching is
// more specific by the documented order, and "not listed" means no route
// matches at all.
func FuzzRouteMatch(f *testing.F) {
	f.Add(issueTable, "GET", "/orders/42")
	f.Add(issueTable, "DELETE", "/admin/a/b")
	f.Add(issueTable, "GET", "/admin")
	f.Add("", "HEAD", "/orders/mine")
	f.Add("", "GET", "/a/b/c")
	f.Add("", "POST", "/orders/")
	f.Add("", "get", "/%6Frders/1")
	f.Add("", "GET", "/orders/%2e%2e/admin")
	f.Add("", "GET", "//x")
	f.Add(`{"GET /{a}/{b}/{c}": "x", "GET /x/{proxy+}": "y"}`, "GET", "/x/y/z")
	f.Add(`{"GET /o/{id}": "a", "GET /o/{key}": "b"}`, "GET", "/o/1")
	f.Add(`{"GET /x": null}`, "GET", "/x")
	f.Fuzz(func(t *testing.T, table, method, path string) {
		tab, err := Parse([]byte(table))
		if err != nil {
			if !errors.Is(err, ErrInvalidTable) {
				t.Fatalf("Parse(%q) = %v, not an ErrInvalidTable", table, err)
			}
			tab = mustParse(t, fuzzRichTable)
		}
		scope, listed := tab.Required(method, path)
		i, ambiguous := tab.lookup(method, path)
		decoded, readable := fuzzDecoded(path)
		if tab.Len() == 0 {
			if scope != "" || listed {
				t.Fatalf("an empty table answers %q, %v", scope, listed)
			}
			return
		}
		if ambiguous != !readable || ambiguous && (scope != Ambiguous || !listed) {
			t.Fatalf("Required(%q, %q) = %q, %v (ambiguous %v); the path reads one way only: %v", method, path, scope, listed, ambiguous, readable)
		}
		if ambiguous {
			return
		}
		m := strings.ToUpper(method)
		if i >= 0 {
			if r := &tab.routes[i]; !listed || scope != r.scope || fuzzRank(r, m)[0] > 2 || !fuzzPatternRe(r.key).MatchString(decoded) {
				t.Fatalf("Required(%q, %q) = %q, %v from %q, which does not match %q", method, path, scope, listed, r.key, decoded)
			}
		} else if listed || scope != "" {
			t.Fatalf("Required(%q, %q) = %q, %v with no route", method, path, scope, listed)
		}
		for j := range tab.routes {
			r := &tab.routes[j]
			if j == i || fuzzRank(r, m)[0] > 2 || !fuzzPatternRe(r.key).MatchString(decoded) {
				continue
			}
			if i < 0 {
				t.Fatalf("Required(%q, %q) lists nothing, but %q matches %q", method, path, r.key, decoded)
			}
			if w := &tab.routes[i]; lessRank(fuzzRank(r, m), fuzzRank(w, m)) {
				t.Fatalf("Required(%q, %q) chose %q, but %q is more specific", method, path, w.key, r.key)
			}
		}
	})
}
