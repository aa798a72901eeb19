package awsclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/seal"
)

// throttling answers every request as a throttled AWS JSON service does,
// and counts the attempts.
type throttling struct {
	errorType string
	attempts  atomic.Int32
}

func (t *throttling) Do(r *http.Request) (*http.Response, error) {
	t.attempts.Add(1)
	io.Copy(io.Discard, r.Body)
	return &http.Response{
		StatusCode: http.StatusBadRequest,
		Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Errortype": {t.errorType}},
		Body:       io.NopCloser(strings.NewReader(`{"__type":"` + t.errorType + `","message":"Rate exceeded"}`)),
		Request:    r,
	}, nil
}

// TestThrottlingIsRetriedThenUnavailable: a throttled DynamoDB or KMS call is
// retried by the SDK with backoff (3 attempts, as Load configures), then
// reported as ErrUnavailable, which the API answers 503 with Retry-After; a
// deadline (the Lambda's remaining time) stops the retries early.
func TestThrottlingIsRetriedThenUnavailable(t *testing.T) {
	cfg, err := awsclient.LoadLocal(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ref := accesskey.Ref{TeamID: "t1", MemberID: "alice", AccessKeyID: accesskey.NewAccessKeyID()}
	cases := []struct {
		name      string
		errorType string
		call      func(ctx context.Context, h *throttling) error
	}{
		{"DynamoDB ProvisionedThroughputExceeded", "ProvisionedThroughputExceededException", func(ctx context.Context, h *throttling) error {
			db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = h; o.BaseEndpoint = strPtr("http://dynamodb.invalid") })
			_, err := dynamostore.New(db, "t").SetStatus(ctx, ref, accesskey.StatusInactive, accesskey.Audit{})
			return err
		}},
		{"DynamoDB ThrottlingException", "ThrottlingException", func(ctx context.Context, h *throttling) error {
			db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = h; o.BaseEndpoint = strPtr("http://dynamodb.invalid") })
			_, _, err := dynamostore.New(db, "t").Get(ctx, ref.AccessKeyID)
			return err
		}},
		{"KMS ThrottlingException", "ThrottlingException", func(ctx context.Context, h *throttling) error {
			k := kms.NewFromConfig(cfg, func(o *kms.Options) { o.HTTPClient = h; o.BaseEndpoint = strPtr("http://kms.invalid") })
			_, err := seal.New(k, "alias/teamkeys").Seal(ctx, ref, "secret")
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &throttling{errorType: tc.errorType}
			err := tc.call(context.Background(), h)
			if !errors.Is(err, accesskey.ErrUnavailable) {
				t.Fatalf("error %v, want ErrUnavailable", err)
			}
			if n := h.attempts.Load(); n != 3 {
				t.Fatalf("%d attempts, want 3 (the first and two retries)", n)
			}

			// With little time left, the retries stop at the deadline.
			h = &throttling{errorType: tc.errorType}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
			defer cancel()
			start := time.Now()
			err = tc.call(ctx, h)
			if !errors.Is(err, accesskey.ErrUnavailable) || time.Since(start) > time.Second {
				t.Fatalf("with 30ms left: %v after %s", err, time.Since(start))
			}
		})
	}
}

func strPtr(s string) *string { return &s }
