package emulators

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// startKMS serves local-kms in this process (kmsServer) on a free port of
// 127.0.0.1 with a fresh data directory, and waits until it answers.
func (e *Env) startKMS(ctx context.Context) error {
	dataDir := filepath.Join(e.tmpDir, "kms-data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return fmt.Errorf("localenv: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("localenv: local-kms listener: %w", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	endpoint := endpointFor(port)

	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		ln.Close()
		return errors.New("localenv: Env is stopped")
	}
	began := time.Now()
	s, err := serveKMS(ln, dataDir, filepath.Join(e.tmpDir, "kms.log"), e.Region)
	if err != nil {
		e.mu.Unlock()
		ln.Close()
		return err
	}
	e.kms = s
	e.kmsPort = port
	e.KMSEndpoint = endpoint
	e.mu.Unlock()

	if err := waitKMS(ctx, endpoint, e.Region, nil); err != nil {
		_ = s.stop()
		return err
	}
	e.log.Info("local-kms ready", "endpoint", endpoint, "in_process", true,
		"startup", time.Since(began).Round(time.Millisecond))
	return nil
}

func newKMSClient(ctx context.Context, endpoint, region string) (*kms.Client, error) {
	cfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		return nil, fmt.Errorf("localenv: aws config: %w", err)
	}
	return kms.NewFromConfig(cfg, func(o *kms.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.Region = region
	}), nil
}

// waitKMS polls ListKeys at endpoint until it answers.
func waitKMS(ctx context.Context, endpoint, region string, p *proc) error {
	client, err := newKMSClient(ctx, endpoint, region)
	if err != nil {
		return err
	}
	return waitReady(ctx, "KMS", endpoint, p, func(ctx context.Context) error {
		_, err := client.ListKeys(ctx, &kms.ListKeysInput{Limit: aws.Int32(1)}, func(o *kms.Options) {
			o.RetryMaxAttempts = 1
		})
		return err
	})
}

func (e *Env) ensureAlias(ctx context.Context) error {
	client, err := newKMSClient(ctx, e.KMSEndpoint, e.Region)
	if err != nil {
		return err
	}
	id, err := EnsureKMSAlias(ctx, client, e.KMSKeyAlias)
	if err != nil {
		return err
	}
	e.KMSKeyID = id
	return nil
}

// KMSAPI is the part of *kms.Client that EnsureKMSAlias uses.
type KMSAPI interface {
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	CreateKey(context.Context, *kms.CreateKeyInput, ...func(*kms.Options)) (*kms.CreateKeyOutput, error)
	CreateAlias(context.Context, *kms.CreateAliasInput, ...func(*kms.Options)) (*kms.CreateAliasOutput, error)
}

// EnsureKMSAlias makes sure alias (e.g. "alias/teamkeys") names an enabled
// symmetric encryption key, creating the key and the alias when the alias
// doesn't exist, and returns the key's id. Concurrent callers end up with
// the same key.
func EnsureKMSAlias(ctx context.Context, client KMSAPI, alias string) (keyID string, err error) {
	keyID, err = describeAlias(ctx, client, alias)
	var notFound *kmstypes.NotFoundException
	if !errors.As(err, &notFound) {
		return keyID, err
	}
	created, err := client.CreateKey(ctx, &kms.CreateKeyInput{
		KeySpec:     kmstypes.KeySpecSymmetricDefault,
		KeyUsage:    kmstypes.KeyUsageTypeEncryptDecrypt,
		Description: aws.String("teamkeys local key (" + alias + ")"),
	})
	if err != nil {
		return "", fmt.Errorf("localenv: create KMS key for %s: %w", alias, err)
	}
	if created.KeyMetadata == nil || aws.ToString(created.KeyMetadata.KeyId) == "" {
		return "", fmt.Errorf("localenv: create KMS key for %s: no key id in the answer", alias)
	}
	keyID = aws.ToString(created.KeyMetadata.KeyId)
	_, err = client.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(alias), TargetKeyId: aws.String(keyID)})
	var exists *kmstypes.AlreadyExistsException
	if errors.As(err, &exists) {
		// Another process created the alias first: use its key.
		return describeAlias(ctx, client, alias)
	}
	if err != nil {
		return "", fmt.Errorf("localenv: create KMS alias %s: %w", alias, err)
	}
	return keyID, nil
}

// describeAlias returns the id of the key alias names. A missing alias
// gives an error wrapping *kmstypes.NotFoundException.
func describeAlias(ctx context.Context, client KMSAPI, alias string) (string, error) {
	out, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(alias)})
	if err != nil {
		return "", fmt.Errorf("localenv: describe KMS key %s: %w", alias, err)
	}
	md := out.KeyMetadata
	if md == nil || aws.ToString(md.KeyId) == "" {
		return "", fmt.Errorf("localenv: describe KMS key %s: no key metadata in the answer", alias)
	}
	if md.KeyState != "" && md.KeyState != kmstypes.KeyStateEnabled {
		return "", fmt.Errorf("localenv: KMS key %s (%s) is %s, not Enabled", alias, aws.ToString(md.KeyId), md.KeyState)
	}
	if md.KeyUsage != "" && md.KeyUsage != kmstypes.KeyUsageTypeEncryptDecrypt ||
		md.KeySpec != "" && md.KeySpec != kmstypes.KeySpecSymmetricDefault {
		return "", fmt.Errorf("localenv: KMS key %s (%s) is %s/%s, not a symmetric encryption key", alias, aws.ToString(md.KeyId), md.KeySpec, md.KeyUsage)
	}
	return aws.ToString(md.KeyId), nil
}
