package client

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"unicode"

	"github.com/teamkeys/teamkeys/internal/testing/apispec"
)

// methodName is the client's method for an operation id.
func methodName(operationID string) string {
	r := []rune(operationID)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// TestEveryOperationHasAMethod: an operation added to openapi.yaml without
// its method here fails. Each method takes a context, then the path's
// parameters as strings in the path's order, and returns an error last.
func TestEveryOperationHasAMethod(t *testing.T) {
	client := reflect.TypeFor[*Client]()
	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	ops, err := apispec.Operations()
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		t.Run(op.ID, func(t *testing.T) {
			m, ok := client.MethodByName(methodName(op.ID))
			if !ok {
				t.Fatalf("%s %s (%s) has no method (*Client).%s", op.Method, op.Path, op.ID, methodName(op.ID))
			}
			ft := m.Type // receiver first
			if ft.NumIn() < 2+op.PathParams() || ft.In(1) != ctxType {
				t.Fatalf("%s: want (ctx, %d path parameters, ...), have %s", m.Name, op.PathParams(), ft)
			}
			for i := range op.PathParams() {
				if ft.In(2+i).Kind() != reflect.String {
					t.Errorf("%s: parameter %d is %s, want a string path parameter", m.Name, i+1, ft.In(2+i))
				}
			}
			if ft.NumOut() == 0 || ft.Out(ft.NumOut()-1) != errType {
				t.Errorf("%s: the last result is not an error: %s", m.Name, ft)
			}
		})
	}
}

// TestTypesAreGeneratedFromTheSpec: types.gen.go is what oapi-codegen makes
// of openapi.yaml today (`make generate` refreshes it).
func TestTypesAreGeneratedFromTheSpec(t *testing.T) {
	if testing.Short() {
		t.Skip("runs oapi-codegen")
	}
	// The same configuration, writing elsewhere.
	dir := t.TempDir()
	out := filepath.Join(dir, "types.gen.go")
	cfg, err := os.ReadFile("oapi-codegen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg = bytes.Replace(cfg, []byte("\noutput: types.gen.go\n"), []byte("\noutput: "+out+"\n"), 1)
	cfgFile := filepath.Join(dir, "oapi-codegen.yaml")
	if err := os.WriteFile(cfgFile, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "run", "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2", "-config", cfgFile, "../../openapi.yaml")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("oapi-codegen: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile("types.gen.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(have, want) {
		t.Fatal("pkg/client/types.gen.go is not generated from today's openapi.yaml: run make generate")
	}
}
