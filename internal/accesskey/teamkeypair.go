package accesskey

// TeamKeyPair is a team's sealing key pair: secrets of the team's keys are
// sealed to PublicKey (HPKE, internal/seal), and only the verifiers may have
// KMS decrypt PrivateKeyCiphertext to open them. Made once per team.
type TeamKeyPair struct {
	TeamID string
	// PublicKey is the DER SubjectPublicKeyInfo of a P-256 key, in clear.
	PublicKey []byte
	// PrivateKeyCiphertext is the KMS ciphertext of the PKCS #8 private
	// key, bound by its encryption context to the team.
	PrivateKeyCiphertext []byte
}
