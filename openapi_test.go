package teamkeys_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/testing/apispec"
)

// TestOpenAPIIsTheRouteTable: openapi.yaml describes exactly the routes the
// service serves, each under the route table's operation id.
func TestOpenAPIIsTheRouteTable(t *testing.T) {
	ops, err := apispec.Operations()
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	for _, op := range ops {
		documented = append(documented, op.Method+" "+op.Path+" "+op.ID)
	}
	var served []string
	for _, r := range httpapi.Routes {
		served = append(served, r.Method+" "+r.Path+" "+r.Operation)
	}
	slices.Sort(documented)
	slices.Sort(served)
	if !slices.Equal(documented, served) {
		t.Fatalf("openapi.yaml documents\n  %s\nthe route table serves\n  %s", strings.Join(documented, "\n  "), strings.Join(served, "\n  "))
	}
}
