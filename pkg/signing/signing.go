// Package signing is what a Go client needs to sign requests with a teamkeys
// access key, in either scheme the service accepts: AWS Signature Version 4
// (service "teamkeys") and ZC2-HMAC-SHA256. The rules each scheme follows,
// and what the service checks, are documented with the verifier in
// internal/signature; this package is its public face, so that Go code
// outside this module can sign without reaching into it.
package signing

import (
	"net/http"
	"time"

	"github.com/teamkeys/teamkeys/internal/signature"
)

// Scheme names, as they open the Authorization header.
const (
	SchemeSigV4 = signature.SchemeSigV4
	SchemeZC2   = signature.SchemeZC2
)

// Service is the SigV4 service name in the credential scope.
const Service = signature.Service

// DefaultRegion is the SigV4 region SignSigV4 uses when given none, and the
// one the service expects unless its TEAMKEYS_SIGNING_REGION says otherwise.
const DefaultRegion = signature.DefaultRegion

// SignSigV4 signs r with aws-sdk-go-v2's v4.Signer for service "teamkeys"
// in region (DefaultRegion when empty), after setting its body to body and
// X-Amz-Content-Sha256 to the body's hash. It signs host, content-length
// (for a non-empty body), x-amz-content-sha256, x-amz-date and every other
// header already on r but User-Agent, Expect and Transfer-Encoding: set r's
// other headers first.
func SignSigV4(r *http.Request, body []byte, accessKeyID, secret, region string, now time.Time) error {
	return signature.SignSigV4(r, body, accessKeyID, secret, region, now)
}

// SignZC2 signs r, a POST, with ZC2-HMAC-SHA256: it sets r's body to body,
// Content-Type to application/json unless already set, X-ZC-Timestamp,
// X-ZC-Signature-Method and Authorization, signing content-type and host.
// ZC2 does not sign the path or the query; prefer SigV4.
func SignZC2(r *http.Request, body []byte, accessKeyID, secret string, now time.Time) error {
	return signature.SignZC2(r, body, accessKeyID, secret, now)
}
