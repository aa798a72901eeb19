package awsclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/seal"
)

// TestFailFastRetryer: the verifier's retryer makes at most 2 attempts and
// waits at most 50 ms before the retry, for a throttle too (whose base
// delay in the SDK is a second); the config it came from keeps its own.
func TestFailFastRetryer(t *testing.T) {
	cfg, err := awsclient.LoadLocal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fast := awsclient.FailFast(cfg)
	r := fast.Retryer()
	if n := r.MaxAttempts(); n != 2 {
		t.Fatalf("MaxAttempts %d, want 2", n)
	}
	if n := cfg.Retryer().MaxAttempts(); n != 3 {
		t.Fatalf("FailFast changed the config it was given: MaxAttempts %d, want 3", n)
	}
	for _, failure := range []error{
		&smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"},
		&smithy.GenericAPIError{Code: "ProvisionedThroughputExceededException"},
	} {
		if !r.IsErrorRetryable(failure) {
			t.Fatalf("%v is not retried", failure)
		}
		for attempt := 1; attempt <= 5; attempt++ {
			for range 200 { // the delay is random: many draws
				d, err := r.RetryDelay(attempt, failure)
				if err != nil || d < 0 || d > awsclient.FailFastMaxBackoff || d > 50*time.Millisecond {
					t.Fatalf("retry delay after attempt %d of %v: %v, %v; want at most 50ms", attempt, failure, d, err)
				}
			}
		}
	}
}

// TestFailFastThrottledCallsTryTwice: a throttled GetItem (the verifier's
// read) or KMS call through a FailFast client is tried twice, then
// reported as ErrUnavailable (503) quickly.
func TestFailFastThrottledCallsTryTwice(t *testing.T) {
	cfg, err := awsclient.LoadLocal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg = awsclient.FailFast(cfg)
	ref := accesskey.Ref{TeamID: "t1", MemberID: "alice", AccessKeyID: accesskey.NewAccessKeyID()}
	for _, tc := range []struct {
		name      string
		errorType string
		call      func(h *throttling) error
	}{
		{"DynamoDB GetItem, ThrottlingException", "ThrottlingException", func(h *throttling) error {
			db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = h; o.BaseEndpoint = strPtr("http://dynamodb.invalid") })
			_, _, err := dynamostore.New(db, "t").Get(context.Background(), ref.AccessKeyID)
			return err
		}},
		{"DynamoDB GetItem, ProvisionedThroughputExceeded", "ProvisionedThroughputExceededException", func(h *throttling) error {
			db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = h; o.BaseEndpoint = strPtr("http://dynamodb.invalid") })
			_, _, err := dynamostore.New(db, "t").Get(context.Background(), ref.AccessKeyID)
			return err
		}},
		{"KMS Decrypt, ThrottlingException", "ThrottlingException", func(h *throttling) error {
			k := kms.NewFromConfig(cfg, func(o *kms.Options) { o.HTTPClient = h; o.BaseEndpoint = strPtr("http://kms.invalid") })
			_, err := seal.New(k, "alias/teamkeys").Open(context.Background(), ref, []byte("ciphertext"))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &throttling{errorType: tc.errorType}
			start := time.Now()
			err := tc.call(h)
			took := time.Since(start)
			if !errors.Is(err, accesskey.ErrUnavailable) {
				t.Fatalf("error %v, want ErrUnavailable", err)
			}
			if n := h.attempts.Load(); n != 2 {
				t.Fatalf("%d attempts, want 2 (the first and one retry)", n)
			}
			t.Logf("throttled twice, answered after %v", took)
		})
	}
}
