// Command verify measures what verifying a signed request costs once warm,
// against what it cannot avoid: one strongly consistent GetItem. `make bench`
// runs it.
//
// It starts its own DynamoDB Local and local-kms (an endpoint set in
// AWS_ENDPOINT_URL_DYNAMODB or AWS_ENDPOINT_URL_KMS is used instead) and the
// local server on a table created from template.yaml's definition
// (internal/testing/teststack), builds on the same table the verifier the
// WhoAmI function and the authorizer build, generates a key through the API,
// and then times, interleaved round-robin with the start rotating each round:
//
//	getitem  a bare strongly consistent GetItem of the key's item
//	verify   verifier.Verify of a SigV4-signed GET /v1/whoami, its secret
//	         cached: one GetItem, the cache lookup, the signature check
//	restricted  the same for a key restricted to networks and scopes, from
//	         an address inside them: what the restrictions add (target:
//	         within 5% of verify)
//	http     the same request through HTTP to the local server (for
//	         information: it adds the local gateway, the Lambda event and the
//	         HTTP round trip)
//
// The two DynamoDB clients share one HTTP client, as in a function. Requests
// are signed before the clock starts: signing is the client's cost. The
// target (verify's p50 within -target times getitem's) is reported, never
// enforced: the machine is shared and noisy. The run fails only if something
// does not work (a refused signature, a Decrypt on the warm path).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/seal"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/testing/sdkcalls"
	"github.com/teamkeys/teamkeys/internal/testing/teststack"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

func main() {
	n := flag.Int("n", 3000, "timed samples of each measurement")
	warmup := flag.Int("warmup", 300, "untimed rounds first")
	target := flag.Float64("target", 1.2, "reported target: verify p50 / getitem p50 at most this")
	flag.Parse()
	if *n < 1 || *warmup < 1 {
		fmt.Fprintln(os.Stderr, "bench/verify: -n and -warmup must be positive")
		os.Exit(2)
	}
	if err := run(*n, *warmup, *target); err != nil {
		fmt.Fprintln(os.Stderr, "bench/verify:", err)
		os.Exit(1)
	}
}

func run(n, warmup int, target float64) (err error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Println("starting DynamoDB Local and local-kms …")
	quiet := slog.New(slog.DiscardHandler)
	// The local server, as `make run` builds it (it creates the table from
	// template.yaml's own definition), on an httptest server.
	st, err := teststack.Start(ctx, teststack.Options{Emulators: true, Table: teststack.TableName("bench-verify"), Log: quiet})
	if err != nil {
		return err
	}
	defer func() {
		if serr := st.Close(); serr != nil && err == nil {
			err = serr
		}
	}()
	awsCfg, cfg := st.AWS, st.Config

	bare := dynamodb.NewFromConfig(awsCfg)

	// The verifier as functions/whoami builds it, its SDK calls counted,
	// but with no item cache: every verification reads the key's item, the
	// path of a key not verified in the last second (a hot key's requests
	// within a second read nothing and are faster still).
	calls := sdkcalls.New()
	store := dynamostore.New(dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, calls.APIOption("DynamoDB"))
	}), cfg.Table)
	opener := seal.NewEnvelopeOpener(kms.NewFromConfig(awsCfg, func(o *kms.Options) {
		o.APIOptions = append(o.APIOptions, calls.APIOption("KMS"))
	}), cfg.KMSKeyID, store)
	v := verifier.New(store, opener, store, verifier.Options{Signing: signature.Config{Region: cfg.SigningRegion}, Log: quiet, KeyCacheTTL: -1})
	defer v.Wait()

	key, err := st.CreateKey(ctx, "t1", "alice", "bench/verify")
	if err != nil {
		return err
	}
	fmt.Printf("key %s of t1/alice on table %s\n", key.AccessKeyID, cfg.Table)
	restricted, err := st.CreateKey(ctx, "t1", "bob", "bench/verify restricted")
	if err != nil {
		return err
	}
	st.Restrict(restricted.AccessKeyID, []string{"10.0.0.0/8", "127.0.0.0/8", "192.168.0.0/16", "2001:db8::/32"},
		[]string{"billing:read", "orders:*", "reports:export"})

	getInput := &dynamodb.GetItemInput{
		TableName: aws.String(cfg.Table),
		Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "KEY#" + key.AccessKeyID},
			"sk": &types.AttributeValueMemberS{Value: "KEY"},
		},
		ConsistentRead: aws.Bool(true),
	}
	signedBy := func(id, secret string) (*http.Request, error) {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, st.URL+"/v1/whoami", nil)
		if err != nil {
			return nil, err
		}
		return r, signature.SignSigV4(r, nil, id, secret, cfg.SigningRegion, time.Now())
	}
	signed := func() (*http.Request, error) { return signedBy(key.AccessKeyID, key.SecretAccessKey) }

	measures := []*measure{
		{name: "getitem", what: "bare GetItem (ConsistentRead) of the key item", once: func() (time.Duration, error) {
			start := time.Now()
			out, err := bare.GetItem(ctx, getInput)
			d := time.Since(start)
			if err == nil && out.Item == nil {
				err = fmt.Errorf("GetItem: the key item is missing")
			}
			return d, err
		}},
		{name: "verify", what: "verifier.Verify, SigV4, secret cached", once: func() (time.Duration, error) {
			r, err := signed()
			if err != nil {
				return 0, err
			}
			req := signature.FromHTTP(r, nil)
			start := time.Now()
			res, err := v.Verify(ctx, req, "127.0.0.1")
			d := time.Since(start)
			if err == nil && res.Key.AccessKeyID != key.AccessKeyID {
				err = fmt.Errorf("the verifier named %s", res.Key.AccessKeyID)
			}
			return d, err
		}},
		{name: "restricted", what: "the same, a key with 4 networks and 3 scopes, from inside", once: func() (time.Duration, error) {
			r, err := signedBy(restricted.AccessKeyID, restricted.SecretAccessKey)
			if err != nil {
				return 0, err
			}
			req := signature.FromHTTP(r, nil)
			start := time.Now()
			res, err := v.Verify(ctx, req, "127.0.0.1")
			d := time.Since(start)
			if err == nil && (res.Key.AccessKeyID != restricted.AccessKeyID || res.Scopes == nil) {
				err = fmt.Errorf("the verifier named %s, scopes %v", res.Key.AccessKeyID, res.Scopes)
			}
			return d, err
		}},
		{name: "http", what: "GET /v1/whoami through the local server", once: func() (time.Duration, error) {
			r, err := signed()
			if err != nil {
				return 0, err
			}
			start := time.Now()
			resp, err := st.Client.Do(r)
			if err != nil {
				return 0, err
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			d := time.Since(start)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("whoami: %s %s", resp.Status, body)
			}
			return d, err
		}},
	}

	// Warm-up: connections, the JIT of DynamoDB Local, the secret cache
	// (the first Verify is the one Decrypt).
	fmt.Printf("warm-up: %d rounds\n", warmup)
	if err := rounds(ctx, measures, warmup, false); err != nil {
		return err
	}
	v.Wait()
	calls.Take()

	fmt.Printf("measuring: %d rounds, interleaved (GOMAXPROCS %d)\n", n, runtime.GOMAXPROCS(0))
	if err := rounds(ctx, measures, n, true); err != nil {
		return err
	}
	v.Wait()
	got := calls.Take()

	fmt.Println()
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tn\tp50\tp90\tp99\tmean\t")
	for _, m := range measures {
		s := m.stats()
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t  %s\n", m.name, len(m.samples), ms(s.p50), ms(s.p90), ms(s.p99), ms(s.mean), m.what)
	}
	tw.Flush()

	get, ver, lim, web := measures[0].stats(), measures[1].stats(), measures[2].stats(), measures[3].stats()
	ratio := float64(ver.p50) / float64(get.p50)
	verdict := "within"
	if ratio > target {
		verdict = "NOT within"
	}
	fmt.Printf("\nverify p50 / getitem p50 = %.2fx (target ≤ %.2fx: %s); p99 ratio %.2fx; verification's own cost at p50 %s\n",
		ratio, target, verdict, float64(ver.p99)/float64(get.p99), ms(ver.p50-get.p50))
	limRatio := float64(lim.p50) / float64(ver.p50)
	limVerdict := "within"
	if limRatio > 1.05 {
		limVerdict = "NOT within"
	}
	fmt.Printf("restricted p50 / verify p50 = %.3fx (target ≤ 1.05x: %s); mean ratio %.3fx\n",
		limRatio, limVerdict, float64(lim.mean)/float64(ver.mean))
	fmt.Printf("http p50 / getitem p50 = %.2fx (information only)\n", float64(web.p50)/float64(get.p50))
	fmt.Printf("SDK calls by the verifier during the %d timed verifications: DynamoDB.GetItem %d, KMS.Decrypt %d, DynamoDB.UpdateItem %d (last use)\n",
		2*n, got["DynamoDB.GetItem"], got["KMS.Decrypt"], got["DynamoDB.UpdateItem"])
	if got["KMS.Decrypt"] != 0 || got["DynamoDB.GetItem"] != 2*n {
		return fmt.Errorf("the warm path is not one GetItem and no Decrypt per verification: %v", got)
	}
	return nil
}

// measure is one thing timed, its samples.
type measure struct {
	name, what string
	once       func() (time.Duration, error)
	samples    []time.Duration
}

type stats struct{ p50, p90, p99, mean time.Duration }

func (m *measure) stats() stats {
	s := slices.Clone(m.samples)
	slices.Sort(s)
	var sum time.Duration
	for _, d := range s {
		sum += d
	}
	at := func(p int) time.Duration { return s[min(len(s)-1, len(s)*p/100)] }
	return stats{at(50), at(90), at(99), sum / time.Duration(len(s))}
}

// rounds runs every measure once per round, the first one rotating, so that
// drift and noise hit all alike.
func rounds(ctx context.Context, measures []*measure, n int, keep bool) error {
	for i := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		for j := range measures {
			m := measures[(i+j)%len(measures)]
			d, err := m.once()
			if err != nil {
				return fmt.Errorf("%s: %w", m.name, err)
			}
			if keep {
				m.samples = append(m.samples, d)
			}
		}
	}
	return nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }
