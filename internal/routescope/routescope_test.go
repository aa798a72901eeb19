package routescope

import (
	"errors"
	"strings"
	"testing"
)

// issueTable is the issue's example table.
const issueTable = `{"GET /orders/{id}": "orders:read", "POST /orders": "orders:write", "ANY /admin/{proxy+}": "admin"}`

func mustParse(t testing.TB, s string) *Table {
	t.Helper()
	tab, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%s): %v", s, err)
	}
	return tab
}

type req struct {
	method, path string
	scope        string // "" with listed false
	listed       bool
}

func checkRequired(t *testing.T, tab *Table, cases []req) {
	t.Helper()
	for _, c := range cases {
		scope, listed := tab.Required(c.method, c.path)
		if scope != c.scope || listed != c.listed {
			t.Errorf("Required(%q, %q) = %q, %v; want %q, %v", c.method, c.path, scope, listed, c.scope, c.listed)
		}
	}
}

func TestRequiredIssueExample(t *testing.T) {
	checkRequired(t, mustParse(t, issueTable), []req{
		{"GET", "/orders/42", "orders:read", true},
		{"GET", "/orders/a-b.c", "orders:read", true},
		{"GET", "/orders/42/", "orders:read", true},    // one trailing slash ignored
		{"GET", "/orders/%34%32", "orders:read", true}, // decoded: /orders/42
		{"GET", "/%6Frders/42", "orders:read", true},   // another spelling of /orders
		{"HEAD", "/orders/42", "orders:read", true},    // HEAD reads what GET reads
		{"get", "/orders/42", "orders:read", true},     // methods compared in upper case
		{"GET", "/orders", "", false},                  // {id} is one segment, not none
		{"GET", "/orders/42/items", "", false},         // nor two
		{"GET", "/Orders/42", "", false},               // literals are case-sensitive
		{"PUT", "/orders/42", "", false},               // other methods are not listed
		{"DELETE", "/orders/42", "", false},            //
		{"POST", "/orders", "orders:write", true},      //
		{"POST", "/orders/", "orders:write", true},     //
		{"GET", "/orders", "", false},                  //
		{"POST", "/orders/42", "", false},              //
		{"POST", "/ordersx", "", false},                //
		{"GET", "/admin/users", "admin", true},         // ANY: every method
		{"DELETE", "/admin/users/7", "admin", true},    // {proxy+}: the rest of the path
		{"PROPFIND", "/admin/x", "admin", true},        // even methods no pattern names
		{"OPTIONS", "/admin/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q", "admin", true},
		{"GET", "/admin", "", false},                        // {proxy+} is one or more segments
		{"GET", "/admin/", "", false},                       //
		{"GET", "/administrator/x", "", false},              //
		{"GET", "/", "", false},                             //
		{"GET", "/health", "", false},                       //
		{"GET", "/x/admin/users", "", false},                //
		{"GET", "/admin/%2e%2e/orders/1", Ambiguous, true},  // dot segments: read one way only
		{"GET", "/orders/../admin/x", Ambiguous, true},      //
		{"GET", "/orders/./42", Ambiguous, true},            //
		{"GET", "/orders//42", Ambiguous, true},             // empty segment
		{"GET", "//orders/42", Ambiguous, true},             //
		{"GET", "/orders/42//", Ambiguous, true},            // two trailing slashes
		{"GET", "/orders%2F42", Ambiguous, true},            // encoded slash
		{"GET", "/orders/4%2f2", Ambiguous, true},           //
		{"GET", "/orders/4%5C2", Ambiguous, true},           // encoded backslash
		{"GET", `/orders\42`, Ambiguous, true},              // backslash
		{"GET", "/orders;x=1/42", Ambiguous, true},          // ";" parameters, which some servers drop
		{"GET", "/orders/42;jsessionid=x", Ambiguous, true}, //
		{"GET", "/orders%3Bx/42", Ambiguous, true},          //
		{"GET", "/orders/%zz", Ambiguous, true},             // bad escape
		{"GET", "/orders/%4", Ambiguous, true},              //
		{"GET", "orders/42", Ambiguous, true},               // no leading slash
		{"GET", "", Ambiguous, true},                        //
		{"GET", "/orders/%20", "orders:read", true},         // an encoded space is a segment
		{"GET", "/orders/a+b", "orders:read", true},         // "+" is itself in a path
		{"GET", "/orders/caf%C3%A9", "orders:read", true},   //
		{"GET", "/orders/42?x=1", "orders:read", true},      // a query left on is part of the segment (callers pass the path alone)
	})
}

func TestRequiredMostSpecificWins(t *testing.T) {
	tab := mustParse(t, `{
		"ANY /{proxy+}": "any:all",
		"GET /{proxy+}": "get:all",
		"ANY /orders/{id}": "any:order",
		"GET /orders/{id}": "orders:read",
		"GET /orders/mine": "orders:mine",
		"GET /orders/{id}/items": "items:read",
		"GET /orders/{id}/{proxy+}": "orders:deep",
		"GET /orders/{id}/items/{item}": "item:read",
		"GET /a/{x}/c": "a:x:c",
		"GET /a/b/{y}": "a:b:y",
		"HEAD /orders/{id}": "orders:head",
		"GET /": "root",
		"DELETE /orders/{id}": "orders:delete"
	}`)
	checkRequired(t, tab, []req{
		{"GET", "/orders/mine", "orders:mine", true},      // more literal segments
		{"GET", "/orders/42", "orders:read", true},        // exact method over ANY
		{"PUT", "/orders/42", "any:order", true},          // ANY when no exact method
		{"DELETE", "/orders/42", "orders:delete", true},   //
		{"HEAD", "/orders/42", "orders:head", true},       // HEAD pattern over GET
		{"HEAD", "/orders/mine", "orders:head", true},     // the method first: HEAD over a GET with more literals
		{"HEAD", "/orders/42/items", "items:read", true},  // a GET pattern serves HEAD, over ANY
		{"HEAD", "/x", "get:all", true},                   //
		{"GET", "/orders/42/items", "items:read", true},   // no greedy over greedy
		{"GET", "/orders/42/items/7", "item:read", true},  // more literals over greedy
		{"GET", "/orders/42/x/y", "orders:deep", true},    //
		{"GET", "/orders/42/x", "orders:deep", true},      //
		{"GET", "/a/b/c", "a:b:y", true},                  // same counts: the leftmost literal wins
		{"GET", "/a/z/c", "a:x:c", true},                  //
		{"GET", "/anything", "get:all", true},             // exact method, even with fewer literals
		{"POST", "/orders/42/items", "any:all", true},     //
		{"POST", "/orders", "any:all", true},              //
		{"GET", "/", "root", true},                        // "/" is its own pattern; {proxy+} needs a segment
		{"POST", "/", "", false},                          //
		{"GET", "/orders/42/items/", "items:read", true},  //
		{"GET", "/orders/mine/items", "items:read", true}, // "mine" is a value of {id} here
		{"PATCH", "/a/b/c", "any:all", true},              //
	})
	// The order does not depend on the order of the entries.
	reversed := mustParse(t, `{"GET /a/b/{y}": "a:b:y", "GET /a/{x}/c": "a:x:c", "GET /orders/{id}": "orders:read", "GET /orders/mine": "orders:mine", "ANY /{proxy+}": "any:all", "GET /{proxy+}": "get:all"}`)
	checkRequired(t, reversed, []req{
		{"GET", "/a/b/c", "a:b:y", true},
		{"GET", "/orders/mine", "orders:mine", true},
		{"POST", "/orders/mine", "any:all", true},
	})
}

func TestRequiredEmptyTable(t *testing.T) {
	for _, s := range []string{"", "  \n", "{}", " { } "} {
		tab := mustParse(t, s)
		if tab.Len() != 0 {
			t.Errorf("Parse(%q) lists %d routes", s, tab.Len())
		}
		checkRequired(t, tab, []req{{"GET", "/orders/1", "", false}, {"GET", "//x/../", "", false}})
	}
	var nilTable *Table
	checkRequired(t, nilTable, []req{{"GET", "/orders/1", "", false}})
	if nilTable.Len() != 0 {
		t.Error("a nil table lists routes")
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		table, want string
	}{
		{`null`, "must be a JSON object"},
		{`[]`, "must be a JSON object"},
		{`"GET /x"`, "must be a JSON object"},
		{`42`, "must be a JSON object"},
		{`{`, "not valid JSON"},
		{`{"GET /x": "x"`, "not valid JSON"},
		{`{"GET /x": "x",}`, "not valid JSON"},
		{`{"GET /x": "x"} {}`, "nothing after it"},
		{`{"GET /x": "x"} x`, "nothing after it"},
		{`{"GET /x": 1}`, `entry "GET /x": the scope must be a JSON string`},
		{`{"GET /x": null}`, `entry "GET /x": the scope must be a JSON string`},
		{`{"GET /x": ["a"]}`, `entry "GET /x": the scope must be a JSON string`},
		{`{"GETT /x": "x"}`, `entry "GETT /x": unknown method "GETT"`},
		{`{"get /x": "x"}`, `unknown method "get"`},
		{`{"CONNECT /x": "x"}`, `unknown method "CONNECT"`},
		{`{"$default": "x"}`, `entry "$default": must be a method, one space and a path`},
		{`{"/x": "x"}`, "must be a method, one space and a path"},
		{`{"GET  /x": "x"}`, `must start with "/"`},
		{`{"GET x": "x"}`, `the path "x" must start with "/"`},
		{`{"GET ": "x"}`, `must start with "/"`},
		{`{"GET /x ": "x"}`, `has the character ' '`},
		{`{"GET /x/": "x"}`, "empty segment"},
		{`{"GET //x": "x"}`, "empty segment"},
		{`{"GET /x/../y": "x"}`, "dot segment"},
		{`{"GET /./y": "x"}`, "dot segment"},
		{`{"GET /x%2Fy": "x"}`, `has the character '%'`},
		{`{"GET /x?y": "x"}`, `has the character '?'`},
		{`{"GET /x#y": "x"}`, `has the character '#'`},
		{`{"GET /x;y": "x"}`, `has the character ';'`},
		{`{"GET /caf\u00e9": "x"}`, "has the character"},
		{`{"GET /orders/{id}.json": "x"}`, "mixes a variable with text"},
		{`{"GET /orders/x{id}": "x"}`, "mixes a variable with text"},
		{`{"GET /orders/{}": "x"}`, "a variable is {name}"},
		{`{"GET /orders/{+}": "x"}`, "a variable is {name}"},
		{`{"GET /orders/{a b}": "x"}`, "a variable is {name}"},
		{`{"GET /orders/{{id}}": "x"}`, "a variable is {name}"},
		{`{"GET /{proxy+}/x": "x"}`, `the greedy variable "{proxy+}" must be the last segment`},
		{`{"GET /{id}/{id}": "x"}`, "the variable {id} is used twice"},
		{`{"GET /x": ""}`, `entry "GET /x": the scope "" has an empty segment`},
		{`{"GET /x": "*"}`, "wildcard"},
		{`{"GET /x": "orders:*"}`, "wildcard"},
		{`{"GET /x": "Orders"}`, "upper-case"},
		{`{"GET /x": "orders read"}`, "the character ' '"},
		{`{"GET /x": "a", "GET /x": "b"}`, `entry "GET /x" is listed twice`},
		{`{"GET /o/{id}": "a", "GET /o/{key}": "b"}`, `entry "GET /o/{key}" matches the same requests as "GET /o/{id}"`},
		{`{"ANY /a/{p+}": "a", "ANY /a/{proxy+}": "b"}`, `matches the same requests`},
	} {
		tab, err := Parse([]byte(tc.table))
		if !errors.Is(err, ErrInvalidTable) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, %v; want an ErrInvalidTable containing %q", tc.table, tab, err, tc.want)
		}
	}
}

func TestParseAccepts(t *testing.T) {
	for _, s := range []string{
		issueTable,
		`{"GET /": "root"}`,
		`{"ANY /{proxy+}": "all"}`,
		`{"GET /o/{id}": "a", "POST /o/{key}": "b"}`, // one shape, two methods
		`{"GET /o/{id}": "a", "ANY /o/{key}": "a"}`,
		`{"GET /v1/~user/a-b_c.d/!$&'()*+,=:@": "x"}`,
		`{"PUT /a": "a", "PATCH /a": "a", "DELETE /a": "a", "HEAD /a": "a", "OPTIONS /a": "a", "POST /a": "a", "GET /a": "a", "ANY /a": "a"}`,
		`{"GET /{Proxy_Name-1+}": "x"}`,
	} {
		if _, err := Parse([]byte(s)); err != nil {
			t.Errorf("Parse(%s): %v", s, err)
		}
	}
}
