package lambdarie

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Root is the module's root, the nearest directory holding go.mod above the
// test's working directory.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// Binary is the emulator `make tools` installs: $TEAMKEYS_CACHE/bin, else
// the module's .cache/bin.
func Binary(t testing.TB) string {
	t.Helper()
	cache := os.Getenv("TEAMKEYS_CACHE")
	if cache == "" {
		cache = filepath.Join(Root(t), ".cache")
	}
	bin := filepath.Join(cache, "bin", "aws-lambda-rie")
	if st, err := os.Stat(bin); err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("the Lambda Runtime Interface Emulator is not at %s: run `make tools`", bin)
	}
	return bin
}

// A Build is one function binary made by the Makefile's own recipe, as
// `sam build` makes it, for the host architecture.
type Build struct {
	// Function is the function's name: make build-<Function> builds it
	// from functions/<function in lower case>.
	Function string
	// Tag, if set, is a build tag added to the recipe's -tags.
	Tag string
}

// Name is the build's name: the function's, with "+<Tag>" for a tagged one.
func (b Build) Name() string {
	if b.Tag == "" {
		return b.Function
	}
	return b.Function + "+" + b.Tag
}

// makeArgs are the arguments of make that build b, and what its echoed
// command must contain.
func (b Build) makeArgs() (args []string, want string) {
	if b.Tag == "" {
		return []string{"build-" + b.Function}, "-tags lambda.norpc "
	}
	// The function's recipe, with the tag added by make itself, so that
	// every other flag stays the target's.
	return []string{
		"--eval", "comma := ,",
		"--eval", fmt.Sprintf("teamkeys-tagged-build: ; $(subst -tags lambda.norpc ,-tags lambda.norpc$(comma)%s ,$(call lambda_build,%s))",
			b.Tag, strings.ToLower(b.Function)),
		"teamkeys-tagged-build",
	}, "-tags lambda.norpc," + b.Tag + " "
}

// BuildAll makes every build concurrently, in a directory of the test's,
// and returns each bootstrap's path by the build's Name.
func BuildAll(t testing.TB, builds []Build) map[string]string {
	t.Helper()
	root := Root(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a cold build cache is slow
	defer cancel()
	base := t.TempDir()
	paths := map[string]string{}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, b := range builds {
		dir := filepath.Join(base, b.Name())
		paths[b.Name()] = filepath.Join(dir, "bootstrap")
		wg.Go(func() {
			args, want := b.makeArgs()
			args = append(args, "LAMBDA_GOARCH="+runtime.GOARCH, "ARTIFACTS_DIR="+dir)
			cmd := exec.CommandContext(ctx, "make", args...)
			cmd.Dir = root
			out, err := cmd.CombinedOutput()
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("make %s: %v\n%s", strings.Join(args, " "), err, out)
			case !strings.Contains(string(out), want):
				errs[i] = fmt.Errorf("make %s did not build with %q:\n%s", strings.Join(args, " "), want, out)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return paths
}
