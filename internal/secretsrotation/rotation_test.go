package secretsrotation_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/teamkeys/teamkeys/internal/secretsrotation"
	"github.com/teamkeys/teamkeys/internal/testing/logbuf"
	"github.com/teamkeys/teamkeys/internal/testing/smtest"
)

// These tests run the steps against moto's Secrets Manager with a fake
// teamkeys (a map of keys); e2e/secretsrotation_test.go runs them against
// the local teamkeys server.

type fakeKey struct{ secret, team, member string }

// fakeService is teamkeys as the rotation function sees it.
type fakeService struct {
	mu        sync.Mutex
	keys      map[string]fakeKey
	replays   map[string][2]string // Idempotency-Key → new key id, secret
	rotations int
	refuse    bool
	// wrongMember, if set, is the member whoami names for a key made by a
	// rotation (a service that put the new key elsewhere).
	wrongMember string
}

func newFake() *fakeService {
	return &fakeService{keys: map[string]fakeKey{}, replays: map[string][2]string{}}
}

func (f *fakeService) add(team, member string) (id, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, secret = "TKAK"+rand.Text()[:20], rand.Text()
	f.keys[id] = fakeKey{secret, team, member}
	return id, secret
}

func (f *fakeService) connect(v secretsrotation.Value) (secretsrotation.KeyService, error) {
	return fakeClient{f, v}, nil
}

type fakeClient struct {
	f *fakeService
	v secretsrotation.Value
}

func (c fakeClient) key() (fakeKey, error) {
	k, ok := c.f.keys[c.v.AccessKeyID]
	if !ok || k.secret != c.v.SecretAccessKey {
		return fakeKey{}, errors.New("401 InvalidSignature")
	}
	return k, nil
}

func (c fakeClient) RotateSelf(_ context.Context, idem string, _ *int) (string, string, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	k, err := c.key()
	if err != nil {
		return "", "", err
	}
	if r, ok := c.f.replays[idem]; ok {
		return r[0], r[1], nil
	}
	if c.f.refuse {
		return "", "", fmt.Errorf("%w (teamkeys: 403 SelfRotationNotAllowed)", secretsrotation.ErrSelfRotationNotAllowed)
	}
	id, secret := "TKAK"+rand.Text()[:20], rand.Text()
	member := k.member
	if c.f.wrongMember != "" {
		member = c.f.wrongMember
	}
	c.f.keys[id] = fakeKey{secret, k.team, member}
	c.f.replays[idem] = [2]string{id, secret}
	c.f.rotations++
	return id, secret, nil
}

func (c fakeClient) WhoAmI(context.Context) (secretsrotation.Identity, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	k, err := c.key()
	if err != nil {
		return secretsrotation.Identity{}, err
	}
	return secretsrotation.Identity{TeamID: k.team, MemberID: k.member, AccessKeyID: c.v.AccessKeyID}, nil
}

func step(t *testing.T, r *secretsrotation.Rotator, arn, token, name string) error {
	t.Helper()
	return r.Handle(context.Background(), secretsrotation.Event{SecretID: arn, ClientRequestToken: token, Step: name})
}

var steps = []string{secretsrotation.StepCreate, secretsrotation.StepSet, secretsrotation.StepTest, secretsrotation.StepFinish}

func TestRotation(t *testing.T) {
	sm, _ := smtest.Start(t)
	const endpoint, region = "https://api.example.com", "eu-west-1"

	setup := func(t *testing.T) (*fakeService, *secretsrotation.Rotator, *logbuf.Buffer, string, string, string) {
		fake := newFake()
		id, secret := fake.add("t1", "svc")
		logs := &logbuf.Buffer{}
		r := &secretsrotation.Rotator{SM: sm, Connect: fake.connect, Log: slog.New(slog.NewJSONHandler(logs, nil))}
		arn := smtest.CreateSecret(t, sm, smtest.String(id, secret, endpoint, region))
		return fake, r, logs, arn, id, secret
	}
	noSecretsLogged := func(t *testing.T, logs *logbuf.Buffer, fake *fakeService) {
		t.Helper()
		for _, k := range fake.keys {
			if strings.Contains(logs.String(), k.secret) {
				t.Fatalf("a secret access key is in the log: %s", logs)
			}
		}
	}

	t.Run("the four steps in order, each retried", func(t *testing.T) {
		fake, r, logs, arn, oldID, _ := setup(t)
		oldVersion := smtest.CurrentVersion(t, sm, arn)
		token := smtest.BeginRotation(t, sm, arn)
		for _, s := range steps {
			for try := range 2 {
				if err := step(t, r, arn, token, s); err != nil {
					t.Fatalf("%s (try %d): %v", s, try+1, err)
				}
			}
		}
		if fake.rotations != 1 {
			t.Fatalf("%d rotations, want 1: a retried createSecret made another key", fake.rotations)
		}
		if v := smtest.CurrentVersion(t, sm, arn); v != token {
			t.Fatalf("AWSCURRENT on %s, want the token's version %s", v, token)
		}
		cur, _ := smtest.Value(t, sm, arn, "AWSCURRENT")
		v, err := secretsrotation.ParseValue(cur)
		if err != nil || v.AccessKeyID == oldID || v.Endpoint != endpoint || v.Region != region {
			t.Fatalf("AWSCURRENT after the rotation: %+v, %v: want a new key on the same endpoint and region", v, err)
		}
		if k := fake.keys[v.AccessKeyID]; k.secret != v.SecretAccessKey || k.member != "svc" {
			t.Fatalf("the stored key is not the one the service made")
		}
		prev, _ := smtest.Value(t, sm, arn, "AWSPREVIOUS")
		if !strings.Contains(prev, oldID) {
			t.Fatalf("AWSPREVIOUS holds %q, want the old key %s", "…", oldID)
		}
		// The old version is now AWSPREVIOUS: a step with its token fails.
		if err := step(t, r, arn, oldVersion, secretsrotation.StepCreate); err == nil || !strings.Contains(err.Error(), "not set as AWSPENDING") {
			t.Fatalf("a step on the AWSPREVIOUS version: %v; want a failure", err)
		}
		noSecretsLogged(t, logs, fake)
	})

	t.Run("createSecret retried after its put was lost makes no second key", func(t *testing.T) {
		fake, r, _, arn, _, _ := setup(t)
		token := smtest.BeginRotation(t, sm, arn)
		// The service rotated (the answer was then lost): a replay of the
		// same Idempotency-Key answers the same key.
		c, _ := fake.connect(func() secretsrotation.Value {
			s, _ := smtest.Value(t, sm, arn, "AWSCURRENT")
			v, _ := secretsrotation.ParseValue(s)
			return v
		}())
		firstID, _, err := c.RotateSelf(context.Background(), token, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := step(t, r, arn, token, secretsrotation.StepCreate); err != nil {
			t.Fatal(err)
		}
		pending, _ := smtest.Value(t, sm, arn, "AWSPENDING")
		if fake.rotations != 1 || !strings.Contains(pending, firstID) {
			t.Fatalf("%d rotations, pending holds the first key: %v; want 1 and true", fake.rotations, strings.Contains(pending, firstID))
		}
	})

	t.Run("a testSecret failure leaves AWSCURRENT untouched", func(t *testing.T) {
		fake, r, _, arn, _, _ := setup(t)
		before := smtest.CurrentVersion(t, sm, arn)
		fake.wrongMember = "someone-else"
		token := smtest.BeginRotation(t, sm, arn)
		for _, s := range steps[:2] {
			if err := step(t, r, arn, token, s); err != nil {
				t.Fatalf("%s: %v", s, err)
			}
		}
		err := step(t, r, arn, token, secretsrotation.StepTest)
		if err == nil || !strings.Contains(err.Error(), `member "someone-else"`) {
			t.Fatalf("testSecret: %v; want a failure naming the other member", err)
		}
		if v := smtest.CurrentVersion(t, sm, arn); v != before {
			t.Fatalf("AWSCURRENT moved to %s", v)
		}
	})

	t.Run("a self-rotation refused by policy fails createSecret", func(t *testing.T) {
		fake, r, _, arn, _, _ := setup(t)
		fake.refuse = true
		token := smtest.BeginRotation(t, sm, arn)
		err := step(t, r, arn, token, secretsrotation.StepCreate)
		if !errors.Is(err, secretsrotation.ErrSelfRotationNotAllowed) || !strings.Contains(err.Error(), "allowSelfRotation: true") {
			t.Fatalf("createSecret: %v; want ErrSelfRotationNotAllowed saying to set allowSelfRotation", err)
		}
		if got := smtest.Describe(t, sm, arn).VersionIdsToStages[token]; len(got) != 1 || fake.rotations != 0 {
			t.Fatalf("after a refusal: token stages %v, %d rotations", got, fake.rotations)
		}
	})

	t.Run("bad secret values fail naming what is missing", func(t *testing.T) {
		for _, c := range []struct{ value, want string }{
			{`not json`, "not a JSON object"},
			{`{"accessKeyId":"TKAK1","endpoint":"https://x","region":"eu-west-1"}`, "lacks secretAccessKey"},
			{`{"accessKeyId":"TKAK1","secretAccessKey":"s"}`, "lacks endpoint, region"},
			{`{"accessKeyId":"","secretAccessKey":"s","endpoint":"https://x","region":7}`, "lacks accessKeyId, region"},
		} {
			fake := newFake()
			r := &secretsrotation.Rotator{SM: sm, Connect: fake.connect, Log: slog.New(slog.DiscardHandler)}
			arn := smtest.CreateSecret(t, sm, c.value)
			token := smtest.BeginRotation(t, sm, arn)
			err := step(t, r, arn, token, secretsrotation.StepCreate)
			if err == nil || !strings.Contains(err.Error(), c.want) || (strings.Contains(c.value, `"s"`) && strings.Contains(err.Error(), `"s"`)) {
				t.Errorf("value %s: %v; want a failure containing %q", c.value, err, c.want)
			}
			if fake.rotations != 0 {
				t.Errorf("value %s: rotated", c.value)
			}
		}
	})

	t.Run("the contract's checks", func(t *testing.T) {
		fake, r, _, arn, _, _ := setup(t)
		// Rotation not enabled.
		if err := step(t, r, arn, smtest.Token(), secretsrotation.StepCreate); err == nil || !strings.Contains(err.Error(), "rotation is not enabled") {
			t.Fatalf("rotation disabled: %v", err)
		}
		token := smtest.BeginRotation(t, sm, arn)
		// A token that is not staged.
		if err := step(t, r, arn, smtest.Token(), secretsrotation.StepCreate); err == nil || !strings.Contains(err.Error(), "has no stage") {
			t.Fatalf("unstaged token: %v", err)
		}
		// The AWSCURRENT version's token: nothing to do, for every step.
		current := smtest.CurrentVersion(t, sm, arn)
		for _, s := range steps {
			if err := step(t, r, arn, current, s); err != nil {
				t.Fatalf("%s on the current version: %v", s, err)
			}
		}
		if fake.rotations != 0 || smtest.CurrentVersion(t, sm, arn) != current {
			t.Fatal("a step on the current version changed something")
		}
		if err := step(t, r, arn, token, "dropSecret"); err == nil {
			t.Fatal("an unknown step succeeded")
		}
	})
}
