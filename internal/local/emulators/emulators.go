// Package emulators starts the local AWS emulators the local server and the
// tests run against, without Docker: DynamoDB Local (Java, a child process)
// and local-kms (served in this process, on 127.0.0.1 only: kmsserver.go).
//
// Each emulator is started only when its endpoint variable
// (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS) is unset; otherwise the
// given endpoint is used as is. The emulators listen on free ports chosen at
// start, never on fixed ones.
//
// DynamoDB Local runs in its own process group, so a Ctrl-C in a terminal
// reaches only this process: the caller must handle SIGINT/SIGTERM and call
// Env.Stop (internal/testing/testenv.Main does so, for tests). On Linux the
// child is also killed by the kernel when the thread that started it dies,
// so it doesn't outlive a crashed or timed-out test binary. local-kms lives
// and dies with this process.
package emulators

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/teamkeys/teamkeys/internal/config"
)

// readyTimeout bounds how long Start waits for an emulator to answer.
const readyTimeout = 60 * time.Second

// ErrExternal is returned by StopDynamoDB, StartDynamoDB and StopKMS when the
// service runs at an endpoint given in the environment, which this Env did
// not start and will not touch.
var ErrExternal = errors.New("localenv: service runs at an external endpoint, not started by this Env")

// Options configures Start.
type Options struct {
	// CacheDir holds the installed tools; default: env TEAMKEYS_CACHE, else
	// <module root>/.cache.
	CacheDir string
	// DBPath makes DynamoDB Local persist to this directory (-dbPath)
	// instead of running in memory.
	DBPath string
	// Region defaults to config.Region() (AWS_REGION, else config.DefaultRegion).
	Region string
	// Logger may be nil.
	Logger *slog.Logger
}

// Env is a running set of emulators (or external endpoints).
type Env struct {
	DynamoDBEndpoint string
	KMSEndpoint      string
	KMSKeyAlias      string
	KMSKeyID         string
	Region           string

	log     *slog.Logger
	tmpDir  string // logs and local-kms data; removed by Stop
	ddbExt  bool   // DynamoDB endpoint from the environment
	kmsExt  bool   // KMS endpoint from the environment
	ddbPort int
	kmsPort int
	ddbJar  string
	dbPath  string

	mu      sync.Mutex
	ddb     *proc
	kms     *kmsServer
	stopped bool
}

// Start starts DynamoDB Local and local-kms (each unless its endpoint is set
// in the environment), waits until both answer API calls and makes sure the
// KMS alias config.DefaultKMSKeyID names a symmetric key. ctx bounds only the
// waiting: the processes run until Stop. On error nothing is left running.
func Start(ctx context.Context, opts Options) (_ *Env, err error) {
	e := &Env{
		log:         opts.Logger,
		KMSKeyAlias: config.DefaultKMSKeyID,
		Region:      opts.Region,
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.Region == "" {
		e.Region = config.Region()
	}
	e.DynamoDBEndpoint = strings.TrimSpace(os.Getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	e.KMSEndpoint = strings.TrimSpace(os.Getenv("AWS_ENDPOINT_URL_KMS"))
	e.ddbExt = e.DynamoDBEndpoint != ""
	e.kmsExt = e.KMSEndpoint != ""

	defer func() {
		if err != nil {
			_ = e.Stop()
		}
	}()

	var cache string
	if !e.ddbExt {
		if cache, err = cacheDir(opts.CacheDir); err != nil {
			return nil, err
		}
	}
	if !e.ddbExt || !e.kmsExt {
		if e.tmpDir, err = os.MkdirTemp("", "teamkeys-localenv-*"); err != nil {
			return nil, fmt.Errorf("localenv: %w", err)
		}
	}

	// Launch both before waiting for either: DynamoDB Local (JVM) is the
	// slow one.
	if !e.ddbExt {
		if e.ddbJar, err = findDynamoDBJar(cache); err != nil {
			return nil, err
		}
		if opts.DBPath != "" {
			if e.dbPath, err = filepath.Abs(opts.DBPath); err != nil {
				return nil, fmt.Errorf("localenv: %w", err)
			}
			if err = os.MkdirAll(e.dbPath, 0o755); err != nil {
				return nil, fmt.Errorf("localenv: %w", err)
			}
		}
	}
	ddbErr := make(chan error, 1)
	if e.ddbExt {
		ddbErr <- waitDynamoDB(ctx, e.DynamoDBEndpoint, e.Region, nil)
	} else {
		go func() { ddbErr <- e.startDynamoDBFreshPort(ctx) }()
	}

	if e.kmsExt {
		err = waitKMS(ctx, e.KMSEndpoint, e.Region, nil)
	} else {
		err = e.startKMS(ctx)
	}
	if err == nil {
		err = e.ensureAlias(ctx)
	}
	if derr := <-ddbErr; derr != nil {
		err = errors.Join(derr, err)
	}
	if err != nil {
		return nil, err
	}
	e.log.Info("local environment ready",
		"dynamodb", e.DynamoDBEndpoint, "dynamodb_external", e.ddbExt,
		"kms", e.KMSEndpoint, "kms_external", e.kmsExt,
		"kms_key_alias", e.KMSKeyAlias, "kms_key_id", e.KMSKeyID, "region", e.Region)
	return e, nil
}

// Export sets AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_KMS and AWS_REGION
// for this process (and the processes it starts later), plus dummy
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when they are unset.
func (e *Env) Export() {
	os.Setenv("AWS_ENDPOINT_URL_DYNAMODB", e.DynamoDBEndpoint)
	os.Setenv("AWS_ENDPOINT_URL_KMS", e.KMSEndpoint)
	os.Setenv("AWS_REGION", e.Region)
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		os.Setenv("AWS_ACCESS_KEY_ID", "local")
	}
	if os.Getenv("AWS_SECRET_ACCESS_KEY") == "" {
		os.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	}
}

// Stop stops the processes this Env started (SIGTERM, up to 5 s, then
// SIGKILL) and removes its temporary files. DBPath is kept. Stop is
// idempotent and safe to call concurrently.
func (e *Env) Stop() error {
	e.mu.Lock()
	e.stopped = true
	ddb, kms := e.ddb, e.kms
	e.ddb, e.kms = nil, nil
	tmp := e.tmpDir
	e.tmpDir = ""
	e.mu.Unlock()

	var wg sync.WaitGroup
	var errDDB, errKMS error
	wg.Go(func() { errDDB = ddb.stop() })
	wg.Go(func() { errKMS = kms.stop() })
	wg.Wait()
	err := errors.Join(errDDB, errKMS)
	if tmp != "" {
		if rerr := os.RemoveAll(tmp); rerr != nil {
			err = errors.Join(err, fmt.Errorf("localenv: %w", rerr))
		}
	}
	return err
}

// StopDynamoDB stops DynamoDB Local; StartDynamoDB restarts it on the same
// port and with the same DBPath. It returns ErrExternal when DynamoDB runs at
// an external endpoint. Stopping a stopped DynamoDB is a no-op.
func (e *Env) StopDynamoDB() error {
	if e.ddbExt {
		return ErrExternal
	}
	e.mu.Lock()
	p := e.ddb
	e.ddb = nil
	e.mu.Unlock()
	return p.stop()
}

// StartDynamoDB restarts DynamoDB Local after StopDynamoDB, on the same port
// and with the same DBPath (in memory: empty), and waits until it answers.
// It is a no-op while DynamoDB Local runs.
func (e *Env) StartDynamoDB(ctx context.Context) error {
	if e.ddbExt {
		return ErrExternal
	}
	_, err := e.launchDynamoDB(ctx, e.ddbPort)
	return err
}

// StopKMS stops local-kms (for fault tests): its listener and connections
// close, so calls are refused. It returns ErrExternal when KMS runs at an
// external endpoint. local-kms is not restartable: its keys live in a
// temporary directory.
func (e *Env) StopKMS() error {
	if e.kmsExt {
		return ErrExternal
	}
	e.mu.Lock()
	p := e.kms
	e.kms = nil
	e.mu.Unlock()
	return p.stop()
}
