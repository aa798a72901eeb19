// Package seal encrypts access key secrets with KMS. Each ciphertext is bound
// by its encryption context to the team, member and key it belongs to, so a
// ciphertext copied onto another key's item does not decrypt.
package seal

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/awsclient"
)

// KMS is the part of the KMS client the sealer uses.
type KMS interface {
	Encrypt(context.Context, *kms.EncryptInput, ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

var _ KMS = (*kms.Client)(nil)

// Encryption context keys. The context is not secret (it shows in
// CloudTrail), so it holds ids only.
const (
	ContextTeamID      = "teamId"
	ContextMemberID    = "memberId"
	ContextAccessKeyID = "accessKeyId"
)

// Sealer seals and opens secrets with one KMS key.
type Sealer struct {
	kms   KMS
	keyID string
}

// New returns a Sealer that encrypts with keyID (a key id, ARN or alias).
func New(client KMS, keyID string) *Sealer { return &Sealer{kms: client, keyID: keyID} }

// EncryptionContext is the context that binds a secret to its key.
func EncryptionContext(ref accesskey.Ref) map[string]string {
	return map[string]string{
		ContextTeamID:      ref.TeamID,
		ContextMemberID:    ref.MemberID,
		ContextAccessKeyID: ref.AccessKeyID,
	}
}

// Seal encrypts secret for the key ref names.
func (s *Sealer) Seal(ctx context.Context, ref accesskey.Ref, secret string) ([]byte, error) {
	out, err := s.kms.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             &s.keyID,
		Plaintext:         []byte(secret),
		EncryptionContext: EncryptionContext(ref),
	})
	if err != nil {
		return nil, fmt.Errorf("kms encrypt for %s: %w", ref.AccessKeyID, awsclient.Classify(err))
	}
	return out.CiphertextBlob, nil
}

// Open decrypts the secret of the key ref names. A ciphertext sealed for
// another key fails with accesskey.ErrSealedForAnotherKey.
func (s *Sealer) Open(ctx context.Context, ref accesskey.Ref, ciphertext []byte) (string, error) {
	out, err := s.kms.Decrypt(ctx, &kms.DecryptInput{
		// Naming the key stops a ciphertext of some other KMS key from
		// being accepted.
		KeyId:             &s.keyID,
		CiphertextBlob:    ciphertext,
		EncryptionContext: EncryptionContext(ref),
	})
	var invalid *types.InvalidCiphertextException
	var incorrect *types.IncorrectKeyException
	switch {
	case errors.As(err, &invalid), errors.As(err, &incorrect):
		return "", fmt.Errorf("kms decrypt for %s: %w", ref.AccessKeyID, accesskey.ErrSealedForAnotherKey)
	case err != nil:
		return "", fmt.Errorf("kms decrypt for %s: %w", ref.AccessKeyID, awsclient.Classify(err))
	}
	return string(out.Plaintext), nil
}

// The encryption context of a replay record: a purpose no key's secret has,
// so that the functions that replay answers may be allowed to decrypt these
// and nothing else (template.yaml's key policy and roles).
const (
	ContextPurpose = "purpose"
	PurposeReplay  = "idempotent-replay"
	ContextRecord  = "recordId"
)

func replayContext(recordID string) map[string]string {
	return map[string]string{ContextPurpose: PurposeReplay, ContextRecord: recordID}
}

// SealReplay encrypts an answer to replay for the replay record recordID.
func (s *Sealer) SealReplay(ctx context.Context, recordID string, answer []byte) ([]byte, error) {
	out, err := s.kms.Encrypt(ctx, &kms.EncryptInput{KeyId: &s.keyID, Plaintext: answer, EncryptionContext: replayContext(recordID)})
	if err != nil {
		return nil, fmt.Errorf("kms encrypt for replay record: %w", awsclient.Classify(err))
	}
	return out.CiphertextBlob, nil
}

// OpenReplay decrypts the answer of the replay record recordID.
func (s *Sealer) OpenReplay(ctx context.Context, recordID string, ciphertext []byte) ([]byte, error) {
	out, err := s.kms.Decrypt(ctx, &kms.DecryptInput{KeyId: &s.keyID, CiphertextBlob: ciphertext, EncryptionContext: replayContext(recordID)})
	if err != nil {
		return nil, fmt.Errorf("kms decrypt of replay record: %w", awsclient.Classify(err))
	}
	return out.Plaintext, nil
}
