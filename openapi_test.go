package teamkeys_test

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/teamkeys/teamkeys"
	"github.com/teamkeys/teamkeys/internal/httpapi"
)

// TestOpenAPIIsTheRouteTable: openapi.yaml describes exactly the routes the
// service serves, each under the route table's operation id.
func TestOpenAPIIsTheRouteTable(t *testing.T) {
	var spec struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(teamkeys.OpenAPIYAML, &spec); err != nil {
		t.Fatal(err)
	}
	var documented []string
	for path, item := range spec.Paths {
		for method, node := range item {
			if method == "parameters" {
				continue
			}
			var op struct {
				OperationID string `yaml:"operationId"`
			}
			if err := node.Decode(&op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			documented = append(documented, strings.ToUpper(method)+" "+path+" "+op.OperationID)
		}
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
