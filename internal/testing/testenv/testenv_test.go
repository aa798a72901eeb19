package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/teamkeys/teamkeys/internal/local/emulators"
)

type runFunc func() int

func (f runFunc) Run() int { return f() }

// Main runs the tests with the emulators' endpoints, a region and dummy
// credentials exported, makes the Env available to Current, and returns the
// tests' exit code. With both endpoints already set it starts nothing and
// uses them.
func TestMainExportsTheEmulators(t *testing.T) {
	for _, k := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KMS"} {
		t.Setenv(k, "")
	}
	for _, k := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(k, os.Getenv(k))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e, err := emulators.Start(ctx, emulators.Options{})
	if err != nil {
		t.Fatalf("start the emulators (run `make tools`): %v", err)
	}
	t.Cleanup(func() { _ = e.Stop() })

	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", e.DynamoDBEndpoint)
	t.Setenv("AWS_ENDPOINT_URL_KMS", e.KMSEndpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	defer func() { current = nil }()
	code := Main(runFunc(func() int {
		if Current() == nil || os.Getenv("AWS_ENDPOINT_URL_KMS") != e.KMSEndpoint ||
			os.Getenv("AWS_ACCESS_KEY_ID") == "" || os.Getenv("AWS_REGION") == "" {
			return 2
		}
		return 7
	}))
	if code != 7 {
		t.Errorf("Main = %d, want 7", code)
	}
}
