package seal

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hpke"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// The envelope: each team has one P-256 key pair, made by KMS
// (GenerateDataKeyPairWithoutPlaintext): its public key is stored in clear,
// its private key only as KMS ciphertext bound to the team and to the
// purpose team-keypair. GenerateKey and RotateKey seal a secret to the
// team's public key with HPKE (RFC 9180, base mode: DHKEM(P-256,
// HKDF-SHA256), HKDF-SHA256, AES-256-GCM), the team, member and key ids in
// HPKE's info: no KMS call per key, and no private key in their hands. Only
// the verifiers may have KMS decrypt the team's private key (template.yaml);
// they keep it in memory for a few minutes and open secrets locally.
//
// An envelope is envelopePrefix followed by HPKE's output (the 65-byte
// encapsulated key, then the AES-GCM ciphertext). A secret sealed before
// the envelope is a bare KMS ciphertext, still opened by one KMS Decrypt
// (Sealer.Open). The two cannot be mistaken for one another: the prefix's
// first byte is 0x00, and a KMS ciphertext never starts with it (AWS KMS's
// symmetric ciphertext blobs start with their format version byte, 0x01;
// local-kms's with the length of the key ARN it embeds, never 0).
var envelopePrefix = []byte{0x00, 'T', 'K', 'E', 0x01}

// The encryption context of a team's private key: a purpose no key's secret
// or replay record has, so that IAM and the key policy can let the verifiers,
// and only them, decrypt it.
const PurposeTeamKeyPair = "team-keypair"

// TeamKeyPairContext is the encryption context of teamID's private key.
func TeamKeyPairContext(teamID string) map[string]string {
	return map[string]string{ContextPurpose: PurposeTeamKeyPair, ContextTeamID: teamID}
}

// How long a verifier keeps a team's decrypted private key, and how many
// teams' keys (or public keys, in a sealer) one process keeps.
const (
	PrivateKeyTTL = 5 * time.Minute
	maxTeams      = 1024
)

// IsEnvelope reports whether ciphertext is an envelope (sealed to a team's
// key pair) rather than a bare KMS ciphertext.
func IsEnvelope(ciphertext []byte) bool { return bytes.HasPrefix(ciphertext, envelopePrefix) }

// TeamKeyPairs reads a team's key pair, and stores one unless the team has
// one already (dynamostore.Store).
type TeamKeyPairs interface {
	// TeamKeyPair fails with accesskey.ErrNotFound when the team has none.
	TeamKeyPair(ctx context.Context, teamID string) (accesskey.TeamKeyPair, error)
	// PutTeamKeyPair returns the team's pair: p, or one stored first.
	PutTeamKeyPair(ctx context.Context, p accesskey.TeamKeyPair) (accesskey.TeamKeyPair, error)
}

// TeamKeyPairReader is the part of TeamKeyPairs a verifier needs.
type TeamKeyPairReader interface {
	TeamKeyPair(ctx context.Context, teamID string) (accesskey.TeamKeyPair, error)
}

// KeyPairKMS is the part of the KMS client an EnvelopeSealer uses.
type KeyPairKMS interface {
	KMS
	GenerateDataKeyPairWithoutPlaintext(context.Context, *kms.GenerateDataKeyPairWithoutPlaintextInput, ...func(*kms.Options)) (*kms.GenerateDataKeyPairWithoutPlaintextOutput, error)
}

var _ KeyPairKMS = (*kms.Client)(nil)

// info binds a sealed secret to its key: each id length-prefixed, so that
// no two refs give the same bytes.
func info(ref accesskey.Ref) []byte {
	b := []byte("teamkeys access key secret v1")
	for _, s := range []string{ref.TeamID, ref.MemberID, ref.AccessKeyID} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
	}
	return b
}

// EnvelopeSealer seals secrets to their team's public key (GenerateKey,
// RotateKey). Replay records are still sealed with KMS (Sealer).
type EnvelopeSealer struct {
	*Sealer
	kms    KeyPairKMS
	keyID  string
	pairs  TeamKeyPairs
	public *lru[hpke.PublicKey]

	mu       sync.Mutex
	inflight map[string]*pubFlight // a team's public key being read or made
}

// pubFlight is one read (or creation) of a team's public key, which the
// concurrent first seals of the team in this process share.
type pubFlight struct {
	done chan struct{}
	pub  hpke.PublicKey
	err  error
}

// NewEnvelopeSealer returns a sealer that makes a team's key pair with the
// KMS key keyID when the team has none.
func NewEnvelopeSealer(client KeyPairKMS, keyID string, pairs TeamKeyPairs) *EnvelopeSealer {
	return &EnvelopeSealer{Sealer: New(client, keyID), kms: client, keyID: keyID, pairs: pairs,
		// A team's public key never changes: kept until pushed out.
		public: newLRU[hpke.PublicKey](maxTeams, 0, time.Now), inflight: map[string]*pubFlight{}}
}

// Seal seals secret to the public key of ref's team, for ref only.
func (s *EnvelopeSealer) Seal(ctx context.Context, ref accesskey.Ref, secret string) ([]byte, error) {
	pub, err := s.publicKey(ctx, ref.TeamID)
	if err != nil {
		return nil, err
	}
	sealed, err := hpke.Seal(pub, hpke.HKDFSHA256(), hpke.AES256GCM(), info(ref), []byte(secret))
	if err != nil {
		return nil, fmt.Errorf("seal for %s: %w", ref.AccessKeyID, err)
	}
	return append(bytes.Clone(envelopePrefix), sealed...), nil
}

// publicKey is the team's public key: cached, else read, else a new pair
// made and stored (or the pair another writer stored first). Concurrent
// callers for one team share one read.
func (s *EnvelopeSealer) publicKey(ctx context.Context, teamID string) (hpke.PublicKey, error) {
	if pub, ok := s.public.get(teamID); ok {
		return pub, nil
	}
	s.mu.Lock()
	if f, ok := s.inflight[teamID]; ok {
		s.mu.Unlock()
		select {
		case <-f.done:
			return f.pub, f.err
		case <-ctx.Done():
			return nil, fmt.Errorf("public key of team %s: %w", teamID, ctx.Err())
		}
	}
	f := &pubFlight{done: make(chan struct{})}
	s.inflight[teamID] = f
	s.mu.Unlock()
	f.pub, f.err = s.loadPublicKey(ctx, teamID)
	s.mu.Lock()
	delete(s.inflight, teamID)
	s.mu.Unlock()
	close(f.done)
	return f.pub, f.err
}

func (s *EnvelopeSealer) loadPublicKey(ctx context.Context, teamID string) (hpke.PublicKey, error) {
	pair, err := s.pairs.TeamKeyPair(ctx, teamID)
	if errors.Is(err, accesskey.ErrNotFound) {
		pair, err = s.newPair(ctx, teamID)
	}
	if err != nil {
		return nil, err
	}
	pub, err := parsePublicKey(pair.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("public key of team %s: %w", teamID, err)
	}
	s.public.put(teamID, pub)
	return pub, nil
}

func (s *EnvelopeSealer) newPair(ctx context.Context, teamID string) (accesskey.TeamKeyPair, error) {
	out, err := s.kms.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{
		KeyId:             &s.keyID,
		KeyPairSpec:       types.DataKeyPairSpecEccNistP256,
		EncryptionContext: TeamKeyPairContext(teamID),
	})
	if err != nil {
		return accesskey.TeamKeyPair{}, fmt.Errorf("kms generate key pair of team %s: %w", teamID, awsclient.Classify(err))
	}
	return s.pairs.PutTeamKeyPair(ctx, accesskey.TeamKeyPair{TeamID: teamID, PublicKey: out.PublicKey, PrivateKeyCiphertext: out.PrivateKeyCiphertextBlob})
}

func parsePublicKey(der []byte) (hpke.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, want a P-256 key", k)
	}
	e, err := ec.ECDH()
	if err != nil {
		return nil, err
	}
	if e.Curve() != ecdh.P256() {
		return nil, errors.New("not a P-256 key")
	}
	return hpke.NewDHKEMPublicKey(e)
}

// EnvelopeOpener opens secrets for the verifiers: an envelope with its
// team's private key (KMS decrypts it at most once per team per
// PrivateKeyTTL), a secret sealed before the envelope with one KMS Decrypt.
type EnvelopeOpener struct {
	old     *Sealer
	kms     KMS
	keyID   string
	pairs   TeamKeyPairReader
	private *lru[hpke.PrivateKey]
}

// NewEnvelopeOpener returns the verifiers' opener.
func NewEnvelopeOpener(client KMS, keyID string, pairs TeamKeyPairReader) *EnvelopeOpener {
	return newEnvelopeOpener(client, keyID, pairs, time.Now)
}

// NewEnvelopeOpenerAt is NewEnvelopeOpener on another clock: the capacity
// meter drives the verifiers' caches in virtual time.
func NewEnvelopeOpenerAt(client KMS, keyID string, pairs TeamKeyPairReader, now func() time.Time) *EnvelopeOpener {
	return newEnvelopeOpener(client, keyID, pairs, now)
}

func newEnvelopeOpener(client KMS, keyID string, pairs TeamKeyPairReader, now func() time.Time) *EnvelopeOpener {
	return &EnvelopeOpener{old: New(client, keyID), kms: client, keyID: keyID, pairs: pairs,
		private: newLRU[hpke.PrivateKey](maxTeams, PrivateKeyTTL, now)}
}

// Open opens the secret of the key ref names. A ciphertext sealed for
// another key, member or team (or to another team's pair) fails with
// accesskey.ErrSealedForAnotherKey.
func (o *EnvelopeOpener) Open(ctx context.Context, ref accesskey.Ref, ciphertext []byte) (string, error) {
	if !IsEnvelope(ciphertext) {
		return o.old.Open(ctx, ref, ciphertext)
	}
	priv, err := o.privateKey(ctx, ref.TeamID)
	if err != nil {
		return "", err
	}
	secret, err := hpke.Open(priv, hpke.HKDFSHA256(), hpke.AES256GCM(), info(ref), ciphertext[len(envelopePrefix):])
	if err != nil {
		return "", fmt.Errorf("open for %s: %w", ref.AccessKeyID, accesskey.ErrSealedForAnotherKey)
	}
	return string(secret), nil
}

func (o *EnvelopeOpener) privateKey(ctx context.Context, teamID string) (hpke.PrivateKey, error) {
	if priv, ok := o.private.get(teamID); ok {
		return priv, nil
	}
	pair, err := o.pairs.TeamKeyPair(ctx, teamID)
	if errors.Is(err, accesskey.ErrNotFound) {
		// An envelope in a team that has no pair was sealed for another.
		return nil, fmt.Errorf("team %s has no key pair: %w", teamID, accesskey.ErrSealedForAnotherKey)
	}
	if err != nil {
		return nil, err
	}
	out, err := o.kms.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             &o.keyID,
		CiphertextBlob:    pair.PrivateKeyCiphertext,
		EncryptionContext: TeamKeyPairContext(teamID),
	})
	var invalid *types.InvalidCiphertextException
	var incorrect *types.IncorrectKeyException
	switch {
	case errors.As(err, &invalid), errors.As(err, &incorrect):
		// Another team's private key copied onto this team's item.
		return nil, fmt.Errorf("kms decrypt of team %s's private key: %w", teamID, accesskey.ErrSealedForAnotherKey)
	case err != nil:
		return nil, fmt.Errorf("kms decrypt of team %s's private key: %w", teamID, awsclient.Classify(err))
	}
	priv, err := parsePrivateKey(out.Plaintext, pair.PublicKey)
	clear(out.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("private key of team %s: %w", teamID, err)
	}
	o.private.put(teamID, priv)
	return priv, nil
}

// parsePrivateKey parses a PKCS #8 P-256 private key, and checks that it is
// the private half of the stored public key: a public key replaced in the
// table shows at once, instead of as secrets that never open.
func parsePrivateKey(der, publicDER []byte) (hpke.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, want a P-256 key", k)
	}
	e, err := ec.ECDH()
	if err != nil {
		return nil, err
	}
	pub, err := parsePublicKey(publicDER)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(pub.Bytes(), e.PublicKey().Bytes()) {
		return nil, errors.New("the stored public key is not the private key's")
	}
	return hpke.NewDHKEMPrivateKey(e)
}
