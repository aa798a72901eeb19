// Package awsclient is the one place that loads AWS configuration and tells
// transient AWS failures (unreachable, throttled) from the rest.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/teamkeys/teamkeys/pkg/accesskey"
)

// DefaultRegion is used when neither AWS_REGION nor AWS_DEFAULT_REGION is set.
const DefaultRegion = "us-east-1"

// Load builds the aws.Config a process shares between its clients. Call it
// once per process (at Lambda init), never per request. The endpoints come
// from the standard AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_KMS.
func Load(ctx context.Context, extra ...func(*config.LoadOptions) error) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			// The client-side retry token bucket turns a burst of
			// concurrent retries into "retry quota exceeded" errors; the
			// service's own throttling is the signal that matters.
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 2 * time.Second
				o.RateLimiter = ratelimit.None
			})
		}),
		// A request to an unreachable endpoint fails fast instead of hanging
		// until the Lambda timeout.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(5 * time.Second).WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = 2 * time.Second
		})),
	}
	if os.Getenv("AWS_REGION") == "" && os.Getenv("AWS_DEFAULT_REGION") == "" {
		opts = append(opts, config.WithRegion(DefaultRegion))
	}
	opts = append(opts, extra...)
	return config.LoadDefaultConfig(ctx, opts...)
}

// LoadLocal is Load with static dummy credentials, for the local emulators:
// without them the credential chain may stall on the instance metadata
// endpoint, and DynamoDB Local (-sharedDb) ignores them anyway.
func LoadLocal(ctx context.Context) (aws.Config, error) {
	return Load(ctx, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")))
}

// transientCodes are AWS error codes that mean "try again later".
var transientCodes = map[string]bool{
	"ThrottlingException":                    true,
	"ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded":                   true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"KMSInternalException":                   true,
	"DependencyTimeoutException":             true,
	"KeyUnavailableException":                true,
}

// IsTransient reports whether err means the AWS service was unreachable,
// throttling or briefly failing, so that the caller should answer 503 and
// the client retry later.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return transientCodes[apiErr.ErrorCode()]
	}
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &sendErr) {
		return true
	}
	var quotaErr ratelimit.QuotaExceededError
	if errors.As(err, &quotaErr) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// Classify marks a transient AWS failure as accesskey.ErrUnavailable and
// keeps the original error in the chain for the log.
func Classify(err error) error {
	if IsTransient(err) {
		return fmt.Errorf("%w: %w", accesskey.ErrUnavailable, err)
	}
	return err
}
