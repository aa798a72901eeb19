package routescope

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkRequired: a table of 40 routes (go test -bench Required
// ./internal/routescope).
func BenchmarkRequired(b *testing.B) {
	var entries []string
	for i := range 10 {
		entries = append(entries,
			fmt.Sprintf(`"GET /svc%d/{id}": "svc%d:read"`, i, i),
			fmt.Sprintf(`"POST /svc%d": "svc%d:write"`, i, i),
			fmt.Sprintf(`"GET /svc%d/{id}/items/{item}": "svc%d:items:read"`, i, i),
			fmt.Sprintf(`"ANY /svc%d/admin/{proxy+}": "svc%d:admin"`, i, i))
	}
	tab := mustParse(b, "{"+strings.Join(entries, ",")+"}")
	for _, bc := range []struct{ name, method, path, want string }{
		{"hit-first-literals", "GET", "/svc9/42/items/7", "svc9:items:read"},
		{"hit-variable", "GET", "/svc3/42", "svc3:read"},
		{"hit-greedy-any", "DELETE", "/svc5/admin/a/b/c", "svc5:admin"},
		{"hit-encoded", "GET", "/svc3/caf%C3%A9", "svc3:read"},
		{"miss", "GET", "/health", ""},
		{"ambiguous", "GET", "/svc3/%2e%2e/x", Ambiguous},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				if s, _ := tab.Required(bc.method, bc.path); s != bc.want {
					b.Fatalf("got %q", s)
				}
			}
		})
	}
}
