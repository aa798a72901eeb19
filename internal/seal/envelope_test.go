package seal_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	teamkeys "github.com/teamkeys/teamkeys"
	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
	"github.com/teamkeys/teamkeys/internal/config"
	"github.com/teamkeys/teamkeys/internal/dynamostore"
	"github.com/teamkeys/teamkeys/internal/local/tabledef"
	"github.com/teamkeys/teamkeys/internal/seal"
)

// countingKMS is the emulator's KMS client, its calls counted.
type countingKMS struct {
	*kms.Client
	decrypts, encrypts, pairs atomic.Int64
}

func (c *countingKMS) Decrypt(ctx context.Context, in *kms.DecryptInput, o ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.decrypts.Add(1)
	return c.Client.Decrypt(ctx, in, o...)
}

func (c *countingKMS) Encrypt(ctx context.Context, in *kms.EncryptInput, o ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	c.encrypts.Add(1)
	return c.Client.Encrypt(ctx, in, o...)
}

func (c *countingKMS) GenerateDataKeyPairWithoutPlaintext(ctx context.Context, in *kms.GenerateDataKeyPairWithoutPlaintextInput, o ...func(*kms.Options)) (*kms.GenerateDataKeyPairWithoutPlaintextOutput, error) {
	c.pairs.Add(1)
	return c.Client.GenerateDataKeyPairWithoutPlaintext(ctx, in, o...)
}

func (c *countingKMS) calls() int64 { return c.decrypts.Load() + c.encrypts.Load() + c.pairs.Load() }

type env struct {
	db    *dynamodb.Client
	table string
	store *dynamostore.Store
	kms   *countingKMS
}

const keyID = config.DefaultKMSKeyID

// newEnv makes a table of its own on DynamoDB Local, and a counted KMS
// client on local-kms.
func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	cfg, err := awsclient.LoadLocal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	db := dynamodb.NewFromConfig(cfg)
	table := fmt.Sprintf("seal-%d-%s", time.Now().UnixNano(), rand.Text()[:6])
	input, err := tabledef.CreateTableInput(teamkeys.TemplateYAML, table)
	if err != nil {
		t.Fatal(err)
	}
	if err := tabledef.EnsureTable(ctx, db, input); err != nil {
		t.Fatal(err)
	}
	return &env{db: db, table: table, store: dynamostore.New(db, table), kms: &countingKMS{Client: kms.NewFromConfig(cfg)}}
}

func (e *env) sealer() *seal.EnvelopeSealer { return seal.NewEnvelopeSealer(e.kms, keyID, e.store) }
func (e *env) opener() *seal.EnvelopeOpener { return seal.NewEnvelopeOpener(e.kms, keyID, e.store) }

func ref(team, member, key string) accesskey.Ref {
	return accesskey.Ref{TeamID: team, MemberID: member, AccessKeyID: key}
}

// copyPair puts team from's key pair item onto team to's (someone with
// write access to the table).
func (e *env) copyPair(t *testing.T, from, to string) {
	t.Helper()
	ctx := context.Background()
	out, err := e.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &e.table, ConsistentRead: aws.Bool(true), Key: map[string]types.AttributeValue{
		"pk": &types.AttributeValueMemberS{Value: "TEAMKEY#" + from}, "sk": &types.AttributeValueMemberS{Value: "TEAMKEY"}}})
	if err != nil || out.Item == nil {
		t.Fatalf("read %s's pair: %v", from, err)
	}
	out.Item["pk"] = &types.AttributeValueMemberS{Value: "TEAMKEY#" + to}
	out.Item["teamId"] = &types.AttributeValueMemberS{Value: to}
	if _, err := e.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: &e.table, Item: out.Item}); err != nil {
		t.Fatal(err)
	}
}

// pairsOf reads team's key pair whatever the team asked for.
type pairsOf struct {
	*dynamostore.Store
	team string
}

func (p pairsOf) TeamKeyPair(ctx context.Context, _ string) (accesskey.TeamKeyPair, error) {
	return p.Store.TeamKeyPair(ctx, p.team)
}

// TestEnvelopeBinding: a secret sealed to its team's pair opens for its
// key only: not for another key, member or team, not with another team's
// pair, not in a team with no pair.
func TestEnvelopeBinding(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sealer := e.sealer()
	alice := ref("t1", "alice", "TKAKALICE")
	const secret = "tksk_the-secret"
	ciphertext, err := sealer.Seal(ctx, alice, secret)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(ciphertext, seal.EnvelopePrefix()) || bytes.Contains(ciphertext, []byte(secret)) {
		t.Fatalf("ciphertext %x: want the envelope prefix and no plaintext", ciphertext[:8])
	}
	// t2 gets a pair of its own; t3 has none; t4 gets a copy of t2's.
	if _, err := sealer.Seal(ctx, ref("t2", "alice", "TKAKOTHER"), "x"); err != nil {
		t.Fatal(err)
	}
	e.copyPair(t, "t2", "t4")
	// Alice's secret, for her ref, sealed to t2's public key.
	toT2, err := seal.NewEnvelopeSealer(e.kms, keyID, pairsOf{e.store, "t2"}).Seal(ctx, alice, secret)
	if err != nil {
		t.Fatal(err)
	}
	// A t4 secret sealed to the pair copied onto t4 (t2's): HPKE would
	// open it with t2's private key, but KMS does not decrypt that key for t4.
	t4 := ref("t4", "alice", "TKAKALICE")
	copied, err := e.sealer().Seal(ctx, t4, secret)
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name       string
		ref        accesskey.Ref
		ciphertext []byte
		want       error // nil: opens to secret
	}{
		{"its own key", alice, ciphertext, nil},
		{"another key of the member", ref("t1", "alice", "TKAKBOB"), ciphertext, accesskey.ErrSealedForAnotherKey},
		{"another member's key of that id", ref("t1", "bob", "TKAKALICE"), ciphertext, accesskey.ErrSealedForAnotherKey},
		{"another team with a pair", ref("t2", "alice", "TKAKALICE"), ciphertext, accesskey.ErrSealedForAnotherKey},
		{"a team with no pair", ref("t3", "alice", "TKAKALICE"), ciphertext, accesskey.ErrSealedForAnotherKey},
		{"sealed to another team's pair", alice, toT2, accesskey.ErrSealedForAnotherKey},
		{"another team's pair copied onto the team", t4, copied, accesskey.ErrSealedForAnotherKey},
		{"altered", alice, append(bytes.Clone(ciphertext[:len(ciphertext)-1]), ciphertext[len(ciphertext)-1]^1), accesskey.ErrSealedForAnotherKey},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := e.opener().Open(ctx, c.ref, c.ciphertext)
			switch {
			case c.want == nil && (err != nil || got != secret):
				t.Fatalf("Open = %q, %v; want the secret", got, err)
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("Open = %q, %v; want %v", got, err, c.want)
			}
		})
	}
}

// TestOldSecretsStillOpen: a secret sealed before the envelope (a bare KMS
// ciphertext, seal.Sealer) opens with one KMS Decrypt, for its key only.
func TestOldSecretsStillOpen(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := ref("t1", "alice", "TKAKALICE")
	old, err := seal.New(e.kms, keyID).Seal(ctx, alice, "old-secret")
	if err != nil {
		t.Fatal(err)
	}
	if seal.IsEnvelope(old) {
		t.Fatalf("a KMS ciphertext (%x…) reads as an envelope", old[:4])
	}
	opener := e.opener()
	before := e.kms.calls()
	if got, err := opener.Open(ctx, alice, old); err != nil || got != "old-secret" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if n := e.kms.calls() - before; n != 1 {
		t.Fatalf("opening an old secret made %d KMS calls, want 1 Decrypt", n)
	}
	for _, other := range []accesskey.Ref{ref("t1", "alice", "TKAKBOB"), ref("t1", "bob", "TKAKALICE"), ref("t2", "alice", "TKAKALICE")} {
		if _, err := opener.Open(ctx, other, old); !errors.Is(err, accesskey.ErrSealedForAnotherKey) {
			t.Fatalf("Open as %+v: %v, want ErrSealedForAnotherKey", other, err)
		}
	}
}

// racingPairs makes the first two readers of a team's pair both find none
// before either goes on: the race two first generates in a new team run.
type racingPairs struct {
	*dynamostore.Store
	arrived sync.WaitGroup
	reads   atomic.Int64
}

func (r *racingPairs) TeamKeyPair(ctx context.Context, teamID string) (accesskey.TeamKeyPair, error) {
	p, err := r.Store.TeamKeyPair(ctx, teamID)
	if r.reads.Add(1) <= 2 {
		r.arrived.Done()
		r.arrived.Wait()
	}
	return p, err
}

// TestOneKeyPairPerTeam: two first generates in a new team, in two
// environments, both find no pair and make one; one pair is stored, and
// both seal to it.
func TestOneKeyPairPerTeam(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	pairs := &racingPairs{Store: e.store}
	pairs.arrived.Add(2)
	refs := []accesskey.Ref{ref("new-team", "alice", "TKAKALICE"), ref("new-team", "bob", "TKAKBOB")}
	sealed := make([][]byte, len(refs))
	errs := make([]error, len(refs))
	var wg sync.WaitGroup
	for i, r := range refs {
		wg.Go(func() {
			sealed[i], errs[i] = seal.NewEnvelopeSealer(e.kms, keyID, pairs).Seal(ctx, r, "secret-"+r.MemberID)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := e.kms.pairs.Load(); n != 2 {
		t.Fatalf("%d pairs made by KMS, want 2 (both found none)", n)
	}
	// Both secrets open with the one stored pair.
	opener := e.opener()
	for i, r := range refs {
		if got, err := opener.Open(ctx, r, sealed[i]); err != nil || got != "secret-"+r.MemberID {
			t.Fatalf("%s's secret: %q, %v: not sealed to the stored pair", r.MemberID, got, err)
		}
	}
	out, err := e.db.Query(ctx, &dynamodb.QueryInput{TableName: &e.table, KeyConditionExpression: aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: "TEAMKEY#new-team"}}})
	if err != nil || out.Count != 1 {
		t.Fatalf("the team has %d pair items (%v), want 1", out.Count, err)
	}
}

// TestLongTailKMSCalls: verifications over many keys of one team cost one
// KMS Decrypt per environment per PrivateKeyTTL, whatever the number of
// keys; sealing them costs one KMS call for the team's pair.
func TestLongTailKMSCalls(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const keys = 300
	sealer := e.sealer()
	refs := make([]accesskey.Ref, keys)
	sealed := make([][]byte, keys)
	for i := range refs {
		refs[i] = ref("big", fmt.Sprintf("m%d", i%50), fmt.Sprintf("TKAK%06d", i))
		var err error
		if sealed[i], err = sealer.Seal(ctx, refs[i], fmt.Sprintf("secret-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.kms.calls(); n != 1 {
		t.Fatalf("sealing %d secrets of one team made %d KMS calls, want 1 (the team's pair)", keys, n)
	}
	now := time.Now()
	clock := func() time.Time { return now }
	opener := seal.NewEnvelopeOpenerAt(e.kms, keyID, e.store, clock)
	before := e.kms.calls()
	verifications := 0
	for round := range 3 {
		for i, r := range refs {
			if got, err := opener.Open(ctx, r, sealed[i]); err != nil || got != fmt.Sprintf("secret-%d", i) {
				t.Fatalf("round %d, key %d: %q, %v", round, i, got, err)
			}
			verifications++
		}
	}
	calls := e.kms.calls() - before
	t.Logf("%d verifications over %d keys of one team: %d KMS calls (%.4f per verification)", verifications, keys, calls, float64(calls)/float64(verifications))
	if calls != 1 {
		t.Fatalf("%d KMS calls, want 1 Decrypt of the team's private key", calls)
	}
	// Past PrivateKeyTTL the private key is decrypted again, once.
	now = now.Add(seal.PrivateKeyTTL)
	for i, r := range refs[:10] {
		if _, err := opener.Open(ctx, r, sealed[i]); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.kms.calls() - before; n != 2 {
		t.Fatalf("after %v: %d KMS calls in all, want 2", seal.PrivateKeyTTL, n)
	}
}

// TestSealerNeedsNoPrivateKey: GenerateKey's sealer never asks KMS to
// decrypt anything, for new teams or old.
func TestSealerNeedsNoPrivateKey(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sealer := e.sealer()
	for i := range 20 {
		if _, err := sealer.Seal(ctx, ref(fmt.Sprintf("t%d", i%4), "alice", fmt.Sprintf("TKAK%d", i)), "s"); err != nil {
			t.Fatal(err)
		}
	}
	if d, en, p := e.kms.decrypts.Load(), e.kms.encrypts.Load(), e.kms.pairs.Load(); d != 0 || en != 0 || p != 4 {
		t.Fatalf("20 seals in 4 new teams: %d Decrypt, %d Encrypt, %d key pairs; want 0, 0, 4", d, en, p)
	}
}

func TestLRU(t *testing.T) {
	now := time.Unix(0, 0)
	put, get := seal.LRU(2, time.Minute, func() time.Time { return now })
	put("a", 1)
	put("b", 2)
	get("a") // a is now the most recently used
	put("c", 3)
	if _, ok := get("b"); ok {
		t.Fatal("b, the least recently used, was kept past the bound")
	}
	if v, ok := get("a"); !ok || v != 1 {
		t.Fatal("a was dropped")
	}
	now = now.Add(time.Minute)
	if _, ok := get("a"); ok {
		t.Fatal("a was kept past its TTL")
	}
}

// TestConcurrentFirstSealsShareOnePair: in one process (the local server
// runs requests concurrently), the first seals of a new team share one
// read and one key pair.
func TestConcurrentFirstSealsShareOnePair(t *testing.T) {
	e := newEnv(t)
	sealer := e.sealer()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = sealer.Seal(context.Background(), ref("nt", "alice", fmt.Sprintf("TKAK%d", i)), "s")
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := e.kms.pairs.Load(); n != 1 {
		t.Fatalf("20 concurrent first seals made %d key pairs, want 1", n)
	}
}
