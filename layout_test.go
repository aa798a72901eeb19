package teamkeys_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/teamkeys/teamkeys"

// TestFunctionsLinkOnlyWhatShips holds the line between what ships in a
// Lambda function and what runs only on a laptop or in tests: no function's
// main reaches internal/local/…, internal/testing/…, the JWT library (only
// the local token issuer uses it) or the CloudFormation parser (only the
// local table set-up uses it), and no function links a client or an adapter
// it has no use for (the KMS client, the HTTP adapter). Dependencies are listed as `make build` builds them.
func TestFunctionsLinkOnlyWhatShips(t *testing.T) {
	mains, err := filepath.Glob("functions/*/main.go")
	if err != nil || len(mains) == 0 {
		t.Fatalf("no functions/*/main.go found (%v)", err)
	}
	forbidden := []string{
		module + "/internal/local/",
		module + "/internal/testing/",
		module + "/cmd/",
		module + "/e2e",
		module + "/bench/",
		"github.com/golang-jwt/jwt",
		"github.com/awslabs/goformation",
		"github.com/spf13/", // cobra and pflag: the CLI's
	}
	// What a function must not link because it has no use for it: the
	// authorizer, the scheduled sweep and MemberRemoved (EventBridge's
	// events) serve no HTTP route; the functions that neither seal nor open
	// a secret need no KMS client.
	const kms = "github.com/aws/aws-sdk-go-v2/service/kms"
	httpRoutes := []string{module + "/internal/httpapi", "github.com/awslabs/aws-lambda-go-api-proxy"}
	unused := map[string][]string{
		"authorizer":       httpRoutes,
		"deletekey":        {kms},
		"disablekey":       {kms},
		"updatekey":        {kms},
		"enablekey":        {kms},
		"listkeys":         {kms},
		"keypolicy":        {kms},
		"sweepexpiredkeys": append([]string{kms}, httpRoutes...),
		"offboardmember":   {kms},
		"leakreport":       {kms},
		"memberremoved":    append([]string{kms}, httpRoutes...),
		"secretsrotation":  append([]string{kms}, httpRoutes...),
	}
	for _, main := range mains {
		name := filepath.Base(filepath.Dir(main))
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "-f", "{{.ImportPath}}", "./functions/"+name)
			cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("go list -deps ./functions/%s: %v", name, err)
			}
			deps := strings.Fields(string(out))
			if len(deps) < 10 {
				t.Fatalf("go list -deps ./functions/%s listed only %v", name, deps)
			}
			for _, dep := range deps {
				for _, bad := range append(forbidden, unused[name]...) {
					if dep == strings.TrimSuffix(bad, "/") || strings.HasPrefix(dep, bad) {
						t.Errorf("functions/%s links %s (matches %s)", name, dep, bad)
					}
				}
			}
		})
	}
}

// TestCLILinksOnlyThePublicPackages: the teamkeys CLI is a client like any
// other: of this module it links only pkg/client, pkg/signing and what they
// link themselves, never the service's other internals, local or test code.
func TestCLILinksOnlyThePublicPackages(t *testing.T) {
	deps := func(pkgs ...string) []string {
		out, err := exec.Command("go", append([]string{"list", "-deps", "-f", "{{.ImportPath}}"}, pkgs...)...).Output()
		if err != nil {
			t.Fatalf("go list -deps %v: %v", pkgs, err)
		}
		var own []string
		for _, dep := range strings.Fields(string(out)) {
			if strings.HasPrefix(dep, module+"/") {
				own = append(own, dep)
			}
		}
		return own
	}
	public := map[string]bool{module + "/cmd/teamkeys": true}
	for _, dep := range deps("./pkg/client", "./pkg/signing") {
		public[dep] = true
	}
	cli := deps("./cmd/teamkeys")
	if len(cli) < 3 {
		t.Fatalf("go list -deps ./cmd/teamkeys listed only %v of this module", cli)
	}
	for _, dep := range cli {
		if !public[dep] {
			t.Errorf("cmd/teamkeys links %s, which neither pkg/client nor pkg/signing links", dep)
		}
	}
}
