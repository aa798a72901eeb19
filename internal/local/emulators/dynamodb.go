package emulators

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// portAttempts bounds the retries when another process takes the free port
// between our probe and the emulator's bind.
const portAttempts = 3

func isPortTaken(err error) bool {
	return errors.Is(err, errProcExited) && strings.Contains(strings.ToLower(err.Error()), "address already in use")
}

func endpointFor(port int) string { return "http://127.0.0.1:" + strconv.Itoa(port) }

// startDynamoDBFreshPort starts DynamoDB Local on a free port.
func (e *Env) startDynamoDBFreshPort(ctx context.Context) error {
	var err error
	for range portAttempts {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		e.mu.Lock()
		e.ddbPort = port
		e.DynamoDBEndpoint = endpointFor(port)
		e.mu.Unlock()
		if _, err = e.launchDynamoDB(ctx, port); !isPortTaken(err) {
			return err
		}
	}
	return err
}

// launchDynamoDB starts DynamoDB Local on port unless it runs, and waits
// until it answers. On failure the process is stopped.
func (e *Env) launchDynamoDB(ctx context.Context, port int) (*proc, error) {
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		return nil, errors.New("localenv: Env is stopped")
	}
	if e.ddb != nil && !e.ddb.exited() {
		p := e.ddb
		e.mu.Unlock()
		return p, nil
	}
	dir := filepath.Dir(e.ddbJar)
	// DynamoDB Local has no bind-address option: it listens on every
	// interface (see Env.Listeners). -disableTelemetry: it sends nothing out.
	args := []string{
		"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
		"-jar", e.ddbJar,
		"-sharedDb",
		"-disableTelemetry",
		"-port", strconv.Itoa(port),
	}
	if e.dbPath != "" {
		args = append(args, "-dbPath", e.dbPath)
	} else {
		args = append(args, "-inMemory")
	}
	cmd := exec.Command("java", args...)
	cmd.Dir = e.tmpDir
	began := time.Now()
	p, err := launch("DynamoDB Local", cmd, filepath.Join(e.tmpDir, "dynamodb.log"))
	if err != nil {
		e.mu.Unlock()
		return nil, err
	}
	e.ddb = p
	endpoint := endpointFor(port)
	e.mu.Unlock()

	if err := waitDynamoDB(ctx, endpoint, e.Region, p); err != nil {
		_ = p.stop()
		e.mu.Lock()
		if e.ddb == p {
			e.ddb = nil
		}
		e.mu.Unlock()
		return nil, err
	}
	e.log.Info("DynamoDB Local ready", "endpoint", endpoint, "pid", p.pid(),
		"db_path", e.dbPath, "startup", time.Since(began).Round(time.Millisecond))
	return p, nil
}

// waitDynamoDB polls ListTables at endpoint until it answers.
func waitDynamoDB(ctx context.Context, endpoint, region string, p *proc) error {
	cfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		return fmt.Errorf("localenv: aws config: %w", err)
	}
	client := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.Region = region
		o.RetryMaxAttempts = 1
	})
	return waitReady(ctx, "DynamoDB", endpoint, p, func(ctx context.Context) error {
		_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		return err
	})
}
