// Package routescope reads the authorizer's route table
// (TEAMKEYS_ROUTE_SCOPES, the template parameter RouteScopes): which scope
// each route of the API behind the authorizer needs. It imports no AWS
// package.
//
// The table is a JSON object mapping API Gateway route keys to scopes:
//
//	{"GET /orders/{id}": "orders:read", "POST /orders": "orders:write", "ANY /admin/{proxy+}": "admin"}
//
// A key is a method, one space, and a path pattern. Methods are GET, POST,
// PUT, PATCH, DELETE, HEAD, OPTIONS and ANY (every method), in upper case.
// A pattern starts with "/" and is "/" alone or one or more segments, each
// a literal, "{name}" (exactly one path segment) or, as the last segment
// only, "{name+}" (one or more segments: "/admin/{proxy+}" matches
// "/admin/x" and "/admin/x/y", not "/admin"). Literal segments are
// non-empty, not "." or "..", and made of RFC 3986 path characters other
// than "%" and ";" (letters, digits and -._~!$&'()*+,=:@); names are
// [A-Za-z0-9_-]+ and distinct within a pattern. Literals match exactly,
// case-sensitively. The scope is a concrete scope
// (accesskey.ValidateRequiredScope): no "*".
//
// Two keys that match the same requests (the same method, and the same
// patterns but for the names of their variables) are refused, as is a
// repeated key.
//
// # Which pattern wins
//
// When several patterns match a request, the most specific wins, in this
// total order:
//
//  1. the request's own method over ANY (and, for a HEAD request, a HEAD
//     pattern, then a GET pattern, then ANY: many servers answer HEAD with
//     their GET handler, so a HEAD is never let through more cheaply than
//     the GET it reads);
//  2. more literal segments;
//  3. no greedy segment over a greedy one;
//  4. more segments;
//  5. from the left, the first segment where the two differ in kind: a
//     literal over "{name}" over "{name+}";
//  6. the key that sorts first in byte order (reached only by patterns
//     that cannot match the same path, for determinism's sake).
//
// # How a request's path is read
//
// Required takes the path as the request carried it, percent-encoded (API
// Gateway's rawPath, or a Go request's URL.EscapedPath()), without the
// query. Each segment is percent-decoded before it is compared, so
// "/%6Frders" is "/orders" (a backend that decodes the path must not reach
// a route the table protects under another spelling). One trailing slash
// is ignored ("/orders/" is "/orders"), since many servers treat them the
// same. A path that cannot be read one way only is given the scope "*",
// which only an unrestricted key or a key holding "*" has: one not starting
// with "/", an empty segment ("//"), a "." or ".." segment (encoded or
// not), a "\" or ";" or an encoded "/", "\" or ";" (servers disagree on
// where such a path goes: some read "\" as "/", Java servlet containers
// drop ";" parameters, so "/orders;x/1" can reach "/orders/1"), or a bad
// percent-escape.
package routescope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// ErrInvalidTable wraps every error of Parse; the message names the entry.
var ErrInvalidTable = errors.New("invalid route scope table")

// Ambiguous is the scope Required answers for a path it cannot read one
// way only: "*", granted only by an unrestricted key or a key holding "*".
const Ambiguous = accesskey.ScopeAll

// methods are the methods a pattern may name.
var methods = map[string]bool{
	"GET": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "HEAD": true, "OPTIONS": true, "ANY": true,
}

type segKind uint8

// Kinds of a pattern's segment, in order of specificity.
const (
	literal segKind = iota
	variable
	greedy
)

type segment struct {
	kind segKind
	text string // a literal's text, a variable's name
}

// route is one entry of the table.
type route struct {
	key      string // as written
	method   string
	segs     []segment
	literals int
	greedy   bool
	scope    string
}

// Table is a parsed route table. The zero Table and a nil *Table list no
// route.
type Table struct {
	routes []route // most specific shape first (rules 2 to 6)
}

// Parse reads a table. Empty (or all-space) data is an empty table: no
// route needs a scope. Anything else must be one JSON object whose values
// are strings; every error wraps ErrInvalidTable and names the entry.
func Parse(data []byte) (*Table, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return &Table{}, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("%w: must be a JSON object mapping routes to scopes, like {\"GET /orders/{id}\": \"orders:read\"}", ErrInvalidTable)
	}
	t := &Table{}
	seen := map[string]string{} // method and shape -> key
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: not valid JSON: %v", ErrInvalidTable, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: not valid JSON", ErrInvalidTable)
		}
		var sp *string
		if err := dec.Decode(&sp); err != nil || sp == nil {
			return nil, fmt.Errorf("%w: entry %q: the scope must be a JSON string", ErrInvalidTable, key)
		}
		scope := *sp
		r, why := parseRoute(key)
		if why != "" {
			return nil, fmt.Errorf("%w: entry %q: %s", ErrInvalidTable, key, why)
		}
		if err := accesskey.ValidateRequiredScope(scope); err != nil {
			var ve *accesskey.ValidationError
			errors.As(err, &ve)
			return nil, fmt.Errorf("%w: entry %q: the scope %s", ErrInvalidTable, key, ve.Reason)
		}
		r.scope = scope
		shape := r.method + " " + r.shape()
		if other, dup := seen[shape]; dup {
			if other == key {
				return nil, fmt.Errorf("%w: entry %q is listed twice", ErrInvalidTable, key)
			}
			return nil, fmt.Errorf("%w: entry %q matches the same requests as %q", ErrInvalidTable, key, other)
		}
		seen[shape] = key
		t.routes = append(t.routes, r)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, fmt.Errorf("%w: not valid JSON: %v", ErrInvalidTable, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: must be one JSON object, with nothing after it", ErrInvalidTable)
	}
	sort.Slice(t.routes, func(i, j int) bool { return moreSpecific(&t.routes[i], &t.routes[j]) })
	return t, nil
}

// parseRoute reads a key, or says what is wrong with it.
func parseRoute(key string) (route, string) {
	method, path, ok := strings.Cut(key, " ")
	if !ok {
		return route{}, `must be a method, one space and a path, like "GET /orders/{id}"`
	}
	if !methods[method] {
		return route{}, fmt.Sprintf("unknown method %q: use GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY", method)
	}
	if !strings.HasPrefix(path, "/") {
		return route{}, fmt.Sprintf("the path %q must start with \"/\"", path)
	}
	r := route{key: key, method: method}
	if path == "/" {
		return r, ""
	}
	names := map[string]bool{}
	parts := strings.Split(path[1:], "/")
	for i, p := range parts {
		switch {
		case p == "":
			return route{}, "the path has an empty segment (\"//\", or a trailing \"/\")"
		case strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}"):
			name, plus := strings.CutSuffix(p[1:len(p)-1], "+")
			if !validName(name) {
				return route{}, fmt.Sprintf("the segment %q: a variable is {name} or, last, {name+}, with a name of letters, digits, \"_\" and \"-\"", p)
			}
			if names[name] {
				return route{}, fmt.Sprintf("the variable {%s} is used twice", name)
			}
			names[name] = true
			if plus {
				if i != len(parts)-1 {
					return route{}, fmt.Sprintf("the greedy variable %q must be the last segment", p)
				}
				r.segs = append(r.segs, segment{greedy, name})
				r.greedy = true
				continue
			}
			r.segs = append(r.segs, segment{variable, name})
		default:
			if why := literalProblem(p); why != "" {
				return route{}, fmt.Sprintf("the segment %q %s", p, why)
			}
			r.segs = append(r.segs, segment{literal, p})
			r.literals++
		}
	}
	return r, ""
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// literalProblem says what is wrong with a literal segment of a pattern.
func literalProblem(s string) string {
	if s == "." || s == ".." {
		return "is a dot segment"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
		case strings.IndexByte("-._~!$&'()*+,=:@", c) >= 0:
		case c == '{' || c == '}':
			return "mixes a variable with text: a variable is a whole segment"
		default:
			return fmt.Sprintf("has the character %q: literal segments use letters, digits and -._~!$&'()*+,=:@, unencoded", c)
		}
	}
	return ""
}

// shape is the pattern with its variables' names left out: two patterns of
// one shape match the same paths.
func (r *route) shape() string {
	var b strings.Builder
	for _, s := range r.segs {
		b.WriteByte('/')
		switch s.kind {
		case literal:
			b.WriteString(s.text)
		case variable:
			b.WriteString("{}")
		case greedy:
			b.WriteString("{+}")
		}
	}
	return b.String()
}

// moreSpecific orders shapes by rules 2 to 6 of the package's doc.
func moreSpecific(a, b *route) bool {
	if a.literals != b.literals {
		return a.literals > b.literals
	}
	if a.greedy != b.greedy {
		return !a.greedy
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	for i := range a.segs {
		if a.segs[i].kind != b.segs[i].kind {
			return a.segs[i].kind < b.segs[i].kind
		}
	}
	return a.key < b.key
}

// methodRank is how closely a pattern's method fits a request's (rule 1):
// 0 best; -1 not at all.
func methodRank(pattern, request string) int {
	switch {
	case pattern == request:
		return 0
	case pattern == "GET" && request == "HEAD":
		return 1
	case pattern == "ANY":
		return 2
	}
	return -1
}

// Len is the number of routes the table lists.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.routes)
}

// Required is the scope a request with this method and path needs, and
// whether the table lists its route at all (a route no pattern lists needs
// no scope: "", false). method is compared in upper case (API Gateway
// route keys are upper case; a server that reads "get" as GET must not
// skip GET's scope). path is the percent-encoded path, as the package's
// doc says; a path that cannot be read one way only is listed with the
// scope Ambiguous ("*").
func (t *Table) Required(method, path string) (scope string, listed bool) {
	i, ambiguous := t.lookup(method, path)
	switch {
	case ambiguous:
		return Ambiguous, true
	case i < 0:
		return "", false
	}
	return t.routes[i].scope, true
}

// lookup is the index of the route that wins for method and path (-1:
// none), or ambiguous for a path that cannot be read one way only.
func (t *Table) lookup(method, path string) (best int, ambiguous bool) {
	if t == nil || len(t.routes) == 0 {
		return -1, false
	}
	var buf [16]string
	segs, ok := splitPath(path, buf[:0])
	if !ok {
		return -1, true
	}
	method = upperASCII(method)
	best, bestRank := -1, 3
	for i := range t.routes {
		r := &t.routes[i]
		rank := methodRank(r.method, method)
		if rank < 0 || rank >= bestRank || !r.matches(segs) {
			continue
		}
		best, bestRank = i, rank
		if rank == 0 {
			break
		}
	}
	return best, false
}

// matches reports whether the decoded path segments segs match r.
func (r *route) matches(segs []string) bool {
	if r.greedy {
		if len(segs) < len(r.segs) {
			return false
		}
	} else if len(segs) != len(r.segs) {
		return false
	}
	for i, s := range r.segs {
		switch s.kind {
		case literal:
			if segs[i] != s.text {
				return false
			}
		case greedy:
			return true
		}
	}
	return true
}

// splitPath splits an encoded path into its decoded segments, appended to
// out: none for "/", one trailing slash ignored. ok is false for a path
// that cannot be read one way only (see the package's doc).
func splitPath(path string, out []string) (segs []string, ok bool) {
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	rest := path[1:]
	if rest == "" {
		return out, true
	}
	rest = strings.TrimSuffix(rest, "/")
	for {
		seg, tail, more := strings.Cut(rest, "/")
		if seg == "" || strings.ContainsAny(seg, `\;`) {
			return nil, false
		}
		if strings.IndexByte(seg, '%') >= 0 {
			d, err := url.PathUnescape(seg)
			if err != nil || d == "" || strings.ContainsAny(d, `/\;`) {
				return nil, false
			}
			seg = d
		}
		if seg == "." || seg == ".." {
			return nil, false
		}
		out = append(out, seg)
		if !more {
			return out, true
		}
		rest = tail
	}
}

// upperASCII is s with a-z in upper case; s itself when it has none.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'a' && c <= 'z' {
			return strings.ToUpper(s)
		}
	}
	return s
}
