// Package iamsim asks AWS's policy evaluation logic, as the maintained
// @cloud-copilot/iam-simulate implements it (identity and resource policies,
// explicit denies, every condition operator, IfExists, ForAllValues and
// ForAnyValue, KMS key policies' trust of the account), whether requests are
// allowed, and gives template tests the policies the stack deploys: the
// template as SAM translates it (SAM's own translator, in the SAM CLI's
// venv), its intrinsic functions resolved for one stack.
//
// The simulator is a Node package, pinned in package.json and
// package-lock.json here; `make tools` installs it with npm ci into
// .cache/iamsim (or $TEAMKEYS_CACHE/iamsim). Run sends a test's requests
// to simulate.mjs in a few node processes, started once.
package iamsim

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/teamkeys/teamkeys/internal/testing/lambdarie"
)

//go:embed simulate.mjs
var script []byte

//go:embed package.json
var packageJSON []byte

// Package is the simulator's npm package.
const Package = "@cloud-copilot/iam-simulate"

// Results of a simulated request.
const (
	Allowed          = "Allowed"
	ExplicitlyDenied = "ExplicitlyDenied"
	ImplicitlyDenied = "ImplicitlyDenied"
)

// A Request is one call to evaluate.
type Request struct {
	// Principal is the caller: a role session's ARN
	// (arn:aws:sts::<account>:assumed-role/<role>/<session>), a role's, a
	// user's or an account root's.
	Principal string `json:"principal"`
	Action    string `json:"action"`
	// Resource is one ARN (no wildcard), or "*" for an action that takes no
	// resource; Account owns it.
	Resource string `json:"resource"`
	Account  string `json:"account"`
	// Context holds the request's context keys: a string for a single-valued
	// key, a []string for an ArrayOf… one (dynamodb:LeadingKeys,
	// dynamodb:Attributes, kms:EncryptionContextKeys, events:source). The
	// global keys the simulator does not derive (aws:PrincipalArn) are the
	// caller's to give.
	Context map[string]any `json:"context"`
	// Identity names the Batch's policies attached to the principal;
	// ResourcePolicy the one on the resource ("" for none), evaluated
	// together with them.
	Identity       []string `json:"identity"`
	ResourcePolicy string   `json:"resourcePolicy,omitempty"`
}

// A Batch is the policies its requests name, and the requests.
type Batch struct {
	Policies map[string]any `json:"policies"`
	Requests []Request      `json:"requests"`
}

// A Decision is the simulator's answer to one request.
type Decision struct {
	// Result is Allowed, ExplicitlyDenied or ImplicitlyDenied; "" with Error.
	Result string `json:"result"`
	// Error says why the request could not be simulated: a policy that does
	// not parse, an unknown action, a resource the action does not take.
	Error string `json:"error"`
	// Ignored are context keys the simulator dropped as not taken by the
	// action: a request that depends on one asks nothing.
	Ignored []string `json:"ignored"`
}

// Run evaluates every request of the batch, answers in request order, in
// one node process per CPU (at most four), each given a contiguous share.
// It fails the test, saying what to install, when node or the pinned
// simulator is missing.
func Run(t testing.TB, b Batch) []Decision {
	t.Helper()
	node := Node(t)
	modules := Modules(t)
	js := filepath.Join(t.TempDir(), "simulate.mjs")
	if err := os.WriteFile(js, script, 0o600); err != nil {
		t.Fatal(err)
	}
	n := min(runtime.NumCPU(), 4, (len(b.Requests)+99)/100)
	n = max(n, 1)
	share := (len(b.Requests) + n - 1) / n
	ds := make([]Decision, len(b.Requests))
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		lo, hi := min(i*share, len(b.Requests)), min((i+1)*share, len(b.Requests))
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = simulate(node, js, modules, Batch{Policies: b.Policies, Requests: b.Requests[lo:hi]}, ds[lo:hi])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("iamsim: %v", err)
		}
	}
	return ds
}

// simulate runs simulate.mjs on b, its answers into ds.
func simulate(node, js, modules string, b Batch, ds []Decision) error {
	in, err := json.Marshal(b)
	if err != nil {
		return err
	}
	cmd := exec.Command(node, js, modules)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("node simulate.mjs: %v\n%s", err, stderr.String())
	}
	var got []Decision
	if err := json.Unmarshal(out, &got); err != nil {
		return fmt.Errorf("simulate.mjs wrote %.200q: %v", out, err)
	}
	if len(got) != len(ds) {
		return fmt.Errorf("%d decisions for %d requests", len(got), len(ds))
	}
	copy(ds, got)
	return nil
}

// Node is the node binary on PATH.
func Node(t testing.TB) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("iamsim: node is not on PATH: install Node.js 18 or newer (Debian: apt-get install nodejs npm), " +
			"then `make tools` installs " + Package + " with npm ci")
	}
	return node
}

// Modules is the directory `make tools` installs the pinned simulator into
// (its node_modules): $TEAMKEYS_CACHE/iamsim, else the module's
// .cache/iamsim. The version installed must be the one package.json pins.
func Modules(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(cache(t), "iamsim")
	want := Version(t)
	b, err := os.ReadFile(filepath.Join(dir, "node_modules", Package, "package.json"))
	if err != nil {
		t.Fatalf("iamsim: %s is not installed in %s: run `make tools` (npm ci of internal/testing/iamsim/package-lock.json)", Package, dir)
	}
	var got struct{ Version string }
	if err := json.Unmarshal(b, &got); err != nil || got.Version != want {
		t.Fatalf("iamsim: %s %q is installed in %s, package.json pins %s: run `make tools`", Package, got.Version, dir, want)
	}
	return dir
}

// Version is the simulator's version package.json pins.
func Version(t testing.TB) string {
	t.Helper()
	var p struct{ Dependencies map[string]string }
	if err := json.Unmarshal(packageJSON, &p); err != nil || p.Dependencies[Package] == "" {
		t.Fatalf("iamsim: package.json pins no %s: %v", Package, err)
	}
	return p.Dependencies[Package]
}

// cache is the tool cache: $TEAMKEYS_CACHE, else <module root>/.cache.
func cache(t testing.TB) string {
	t.Helper()
	if c := strings.TrimSpace(os.Getenv("TEAMKEYS_CACHE")); c != "" {
		return c
	}
	return filepath.Join(lambdarie.Root(t), ".cache")
}

// Translate is the module's template.yaml as SAM translates it into plain
// CloudFormation (scripts/sam-translate.py, as make checkov runs it, with
// the SAM CLI's venv that `make sam-tools` installs), intrinsic functions
// unresolved.
func Translate(t testing.TB) map[string]any {
	t.Helper()
	return TranslateFile(t, "template.yaml")
}

// TranslateFile is Translate of another SAM template of the module (its
// path from the module's root): secrets-rotation/template.yaml.
func TranslateFile(t testing.TB, template string) map[string]any {
	t.Helper()
	python := filepath.Join(cache(t), "venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("iamsim: %s is missing: run `make sam-tools` (the pinned SAM CLI, whose translator turns template.yaml into the deployed CloudFormation)", python)
	}
	r := lambdarie.Root(t)
	cmd := exec.Command(python, filepath.Join(r, "scripts", "sam-translate.py"), filepath.Join(r, template))
	cmd.Env = append(os.Environ(), "AWS_DEFAULT_REGION=us-east-1", "SAM_CLI_TELEMETRY=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("iamsim: sam-translate.py %s: %v\n%s", template, err, stderr.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("iamsim: sam-translate.py wrote %.200q: %v", out, err)
	}
	return doc
}

// Explain is a one-line description of a request for a failure message.
func (r Request) Explain() string {
	ctx, _ := json.Marshal(r.Context)
	rp := ""
	if r.ResourcePolicy != "" {
		rp = " with the resource policy " + r.ResourcePolicy
	}
	return fmt.Sprintf("%s %s on %s (context %s)%s", r.Principal, r.Action, r.Resource, ctx, rp)
}
