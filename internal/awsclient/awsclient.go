// Package awsclient is the one place that loads AWS configuration and tells
// transient AWS failures (unreachable, throttled) from the rest.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/config"
)

// Load builds the aws.Config a process shares between its clients from the
// environment Lambda provides: AWS_REGION and the function role's
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, plus the
// standard AWS_ENDPOINT_URL_<SERVICE> overrides. Call it once per process
// (at Lambda init), never per request.
//
// It deliberately does not use the SDK's config.LoadDefaultConfig: that
// package links in STS, SSO, shared-file and IMDS code a Lambda function
// never uses, which cost 2 MiB per binary and about 1.2 ms (13%) of every
// cold start (make bench-coldstart). Profiles and shared config files do
// not apply here.
func Load(ctx context.Context) (aws.Config, error) {
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return aws.Config{}, errors.New("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set")
	}
	return newConfig(credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")), lambdaRequestTimeout), nil
}

// LoadLocal is Load for the local emulators: without credentials in the
// environment it uses dummy ones (DynamoDB Local with -sharedDb and
// local-kms accept any).
func LoadLocal(ctx context.Context) (aws.Config, error) {
	creds := aws.CredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", ""))
	if id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		creds = credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN"))
	}
	return newConfig(creds, localRequestTimeout), nil
}

// A request to an unreachable endpoint fails fast on Lambda instead of
// hanging until the function's timeout. The emulators on a busy laptop or CI
// machine (DynamoDB Local creating a table on disk) get more time.
const (
	// maxIdleConnsPerHost is the connections to one endpoint kept open
	// between calls: at least the most calls a function keeps in flight.
	maxIdleConnsPerHost  = 64
	lambdaRequestTimeout = 5 * time.Second
	localRequestTimeout  = 30 * time.Second
)

func newConfig(creds aws.CredentialsProvider, requestTimeout time.Duration) aws.Config {
	cfg := aws.Config{
		Region:      config.Region(),
		Credentials: aws.NewCredentialsCache(creds),
		Retryer: func() aws.Retryer {
			// The client-side retry token bucket turns a burst of
			// concurrent retries into "retry quota exceeded" errors; the
			// service's own throttling is the signal that matters.
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.MaxBackoff = 2 * time.Second
				o.RateLimiter = ratelimit.None
			})
		},
		HTTPClient: awshttp.NewBuildableClient().WithTimeout(requestTimeout).WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = 2 * time.Second
		}).WithTransportOptions(func(tr *http.Transport) {
			// The sweep and the leak report keep up to 32 calls in
			// flight: past the SDK's default of 10 idle connections,
			// each call would open (and handshake) a connection anew.
			tr.MaxIdleConnsPerHost = maxIdleConnsPerHost
		}),
		ConfigSources: []any{envEndpoints{}},
	}
	if v := os.Getenv("AWS_ENDPOINT_URL"); v != "" {
		cfg.BaseEndpoint = &v
	}
	return cfg
}

// Fail-fast retries for the verifier's clients (FailFast).
const (
	FailFastMaxAttempts = 2
	FailFastMaxBackoff  = 50 * time.Millisecond
)

// FailFast returns cfg with a retryer for a hot path that must not wait:
// at most FailFastMaxAttempts attempts (the first and one retry), the retry
// after at most FailFastMaxBackoff, throttling included (the SDK's default
// waits a second or more on a throttle). A throttled verification then
// answers 503 within ~50 ms and frees its Lambda environment, instead of
// holding it for seconds of backoff while more environments start. For
// the clients of the Authorizer and WhoAmI only: the writes elsewhere keep
// Load's patient retries.
func FailFast(cfg aws.Config) aws.Config {
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = FailFastMaxAttempts
			o.MaxBackoff = FailFastMaxBackoff
			o.RateLimiter = ratelimit.None
		})
	}
	return cfg
}

// envEndpoints gives each service client the endpoint named by
// AWS_ENDPOINT_URL_<SERVICE> (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS),
// the way config.LoadDefaultConfig would: every NewFromConfig asks its
// config sources for a service base endpoint.
type envEndpoints struct{}

func (envEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	name := "AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(sdkID, " ", "_"))
	v := os.Getenv(name)
	return v, v != "", nil
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
