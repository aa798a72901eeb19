package client

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

// One method per operation of openapi.yaml, named after its operationId
// (TestEveryOperationHasAMethod).

// GenerateAccessKey creates an active key for a member and returns it with
// its secret, shown only in this answer (operation generateAccessKey). The
// request always carries an Idempotency-Key: params' when given, else one
// the client makes, the same for each of its retries.
func (c *Client) GenerateAccessKey(ctx context.Context, teamID, memberID string, body GenerateAccessKeyRequest, params *GenerateAccessKeyParams) (*CreatedAccessKey, error) {
	var key string
	if params != nil && params.IdempotencyKey != nil {
		key = *params.IdempotencyKey
	}
	var out CreatedAccessKey
	err := c.doJSON(ctx, call{method: http.MethodPost, path: memberKeysPath(teamID, memberID), header: idempotency(key),
		safety: sameOutcome, expect: http.StatusCreated, decodes: &out}, body)
	return result(&out, err)
}

// ListMemberAccessKeys lists a member's keys (operation
// listMemberAccessKeys).
func (c *Client) ListMemberAccessKeys(ctx context.Context, teamID, memberID string) (*AccessKeyList, error) {
	var out AccessKeyList
	err := c.do(ctx, call{method: http.MethodGet, safety: readOnly, path: memberKeysPath(teamID, memberID), expect: http.StatusOK, decodes: &out})
	return result(&out, err)
}

// OffboardMember deletes every key of a member (operation offboardMember).
func (c *Client) OffboardMember(ctx context.Context, teamID, memberID string) (*Offboarded, error) {
	var out Offboarded
	err := c.do(ctx, call{method: http.MethodDelete, path: memberKeysPath(teamID, memberID), safety: sameOutcome, expect: http.StatusOK, decodes: &out})
	return result(&out, err)
}

// ListTeamAccessKeys lists one page of a team's keys (operation
// listTeamAccessKeys); TeamAccessKeys walks every page.
func (c *Client) ListTeamAccessKeys(ctx context.Context, teamID string, params *ListTeamAccessKeysParams) (*AccessKeyList, error) {
	q := url.Values{}
	if params != nil {
		setInt(q, "limit", params.Limit)
		setString(q, "nextToken", params.NextToken)
	}
	var out AccessKeyList
	err := c.do(ctx, call{method: http.MethodGet, safety: readOnly, path: teamPath(teamID) + "/access-keys", query: q, expect: http.StatusOK, decodes: &out})
	return result(&out, err)
}

// TeamAccessKeys yields every key of a team, a page at a time; it stops at
// the first error, which it yields.
func (c *Client) TeamAccessKeys(ctx context.Context, teamID string) iter.Seq2[AccessKey, error] {
	return func(yield func(AccessKey, error) bool) {
		params := &ListTeamAccessKeysParams{}
		for {
			page, err := c.ListTeamAccessKeys(ctx, teamID, params)
			if err != nil {
				yield(AccessKey{}, err)
				return
			}
			for _, k := range page.AccessKeys {
				if !yield(k, nil) {
					return
				}
			}
			if page.NextToken == nil || *page.NextToken == "" {
				return
			}
			params.NextToken = page.NextToken
		}
	}
}

// CredentialReport returns the team's whole credential report as JSON
// (operation credentialReport), every page read and their keys joined
// (NextToken nil); CredentialReportPages reads it a page at a time, and
// CredentialReportCSV as CSV (report.go).
func (c *Client) CredentialReport(ctx context.Context, teamID string) (*CredentialReport, error) {
	var whole *CredentialReport
	for page, err := range c.CredentialReportPages(ctx, teamID) {
		if err != nil {
			return nil, err
		}
		if whole == nil {
			whole = page
			continue
		}
		whole.Keys = append(whole.Keys, page.Keys...)
	}
	whole.NextToken = nil
	return whole, nil
}

// DisableAccessKey makes a key inactive (operation disableAccessKey).
func (c *Client) DisableAccessKey(ctx context.Context, teamID, memberID, accessKeyID string) (*AccessKey, error) {
	return c.setStatus(ctx, teamID, memberID, accessKeyID, "disable")
}

// EnableAccessKey makes a key active again (operation enableAccessKey).
func (c *Client) EnableAccessKey(ctx context.Context, teamID, memberID, accessKeyID string) (*AccessKey, error) {
	return c.setStatus(ctx, teamID, memberID, accessKeyID, "enable")
}

func (c *Client) setStatus(ctx context.Context, teamID, memberID, accessKeyID, verb string) (*AccessKey, error) {
	var out AccessKey
	err := c.do(ctx, call{method: http.MethodPost, path: keyPath(teamID, memberID, accessKeyID) + "/" + verb, safety: sameOutcome,
		expect: http.StatusOK, decodes: &out})
	return result(&out, err)
}

// RotateAccessKey creates the key's replacement, returned with its secret,
// and retires the old key after the grace period (operation
// rotateAccessKey). Like GenerateAccessKey it always sends an
// Idempotency-Key.
func (c *Client) RotateAccessKey(ctx context.Context, teamID, memberID, accessKeyID string, body RotateAccessKeyRequest, params *RotateAccessKeyParams) (*CreatedAccessKey, error) {
	var key string
	if params != nil && params.IdempotencyKey != nil {
		key = *params.IdempotencyKey
	}
	var out CreatedAccessKey
	err := c.doJSON(ctx, call{method: http.MethodPost, path: keyPath(teamID, memberID, accessKeyID) + "/rotate", header: idempotency(key),
		safety: sameOutcome, expect: http.StatusCreated, decodes: &out}, body)
	return result(&out, err)
}

// GetAccessKey returns one key, without its secret (operation
// getAccessKey).
func (c *Client) GetAccessKey(ctx context.Context, teamID, memberID, accessKeyID string) (*AccessKey, error) {
	var out AccessKey
	err := c.do(ctx, call{method: http.MethodGet, safety: readOnly, path: keyPath(teamID, memberID, accessKeyID), expect: http.StatusOK, decodes: &out})
	return result(&out, err)
}

// DeleteAccessKey deletes a key (operation deleteAccessKey). A lost answer
// is not retried: the repeat would be a 404 for a key that was deleted.
func (c *Client) DeleteAccessKey(ctx context.Context, teamID, memberID, accessKeyID string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: keyPath(teamID, memberID, accessKeyID), safety: once, expect: http.StatusNoContent})
}

// ListAuditEvents lists one page of the team's audit trail, newest first
// (operation listAuditEvents). A filtered page may hold fewer than Limit
// events and still have a NextToken.
func (c *Client) ListAuditEvents(ctx context.Context, teamID string, params *ListAuditEventsParams) (*AuditEventList, error) {
	q := url.Values{}
	if params != nil {
		setString(q, "memberId", params.MemberId)
		setString(q, "accessKeyId", params.AccessKeyId)
		setInt(q, "limit", params.Limit)
		setString(q, "nextToken", params.NextToken)
	}
	var out AuditEventList
	err := c.do(ctx, call{method: http.MethodGet, safety: readOnly, path: teamPath(teamID) + "/audit-events", query: q, expect: http.StatusOK, decodes: &out})
	return result(&out, err)
}

// GetKeyPolicy returns the team's key policy (operation getKeyPolicy).
func (c *Client) GetKeyPolicy(ctx context.Context, teamID string) (*KeyPolicy, error) {
	var out KeyPolicy
	err := c.do(ctx, call{method: http.MethodGet, safety: readOnly, path: teamPath(teamID) + "/key-policy", expect: http.StatusOK, decodes: &out})
	return result(&out, err)
}

// PutKeyPolicy sets the team's key policy (operation putKeyPolicy); a nil
// MaxLifetimeDays removes the limit.
func (c *Client) PutKeyPolicy(ctx context.Context, teamID string, body KeyPolicyRequest) (*KeyPolicy, error) {
	var out KeyPolicy
	err := c.doJSON(ctx, call{method: http.MethodPut, path: teamPath(teamID) + "/key-policy", safety: sameOutcome, expect: http.StatusOK, decodes: &out}, body)
	return result(&out, err)
}

// ReportTeamLeak reports a leaked secret of the team; its key is disabled
// (operation reportTeamLeak).
func (c *Client) ReportTeamLeak(ctx context.Context, teamID string, body TeamLeakReport) (*TeamLeakAnswer, error) {
	var out TeamLeakAnswer
	err := c.doJSON(ctx, call{method: http.MethodPost, path: teamPath(teamID) + "/leaks", safety: once, expect: http.StatusOK, decodes: &out}, body)
	return result(&out, err)
}

// ReportGitHubLeaks posts a GitHub secret-scanning report (operation
// reportGitHubLeaks): body exactly as GitHub signed it, and GitHub's
// signature headers in params. It takes no token: GitHub's signature is
// the authentication. A relay of GitHub's webhooks is its only user.
func (c *Client) ReportGitHubLeaks(ctx context.Context, body []byte, params ReportGitHubLeaksParams) ([]GitHubTokenFeedback, error) {
	h := http.Header{}
	h.Set("Github-Public-Key-Identifier", params.GithubPublicKeyIdentifier)
	h.Set("Github-Public-Key-Signature", params.GithubPublicKeySignature)
	var out []GitHubTokenFeedback
	err := c.do(ctx, call{method: http.MethodPost, path: "/v1/leaks/github", body: body, ctype: "application/json", header: h, auth: authNone,
		safety: once, expect: http.StatusOK, decodes: &out})
	return out, err
}

// WhoAmIGet names the access key that signed the request (operation
// whoAmIGet), signed with SigV4 by the client's access key.
func (c *Client) WhoAmIGet(ctx context.Context) (*WhoAmI, error) {
	var out WhoAmI
	err := c.do(ctx, call{method: http.MethodGet, safety: readOnly, path: "/v1/whoami", auth: authSigV4, expect: http.StatusOK, decodes: &out})
	return result(&out, err)
}

// WhoAmIPost is WhoAmIGet as a POST with a body the signature covers
// (operation whoAmIPost), signed with SigV4 or, when zc2 is true,
// ZC2-HMAC-SHA256.
func (c *Client) WhoAmIPost(ctx context.Context, body []byte, zc2 bool) (*WhoAmI, error) {
	a := authSigV4
	if zc2 {
		a = authZC2
	}
	if body == nil {
		body = []byte{}
	}
	var out WhoAmI
	err := c.do(ctx, call{method: http.MethodPost, path: "/v1/whoami", body: body, ctype: "application/json", auth: a, expect: http.StatusOK, decodes: &out})
	return result(&out, err)
}

// doJSON is do with body encoded as the request's JSON body.
func (c *Client) doJSON(ctx context.Context, k call, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("client: encoding the body of %s %s: %w", k.method, k.path, err)
	}
	k.body, k.ctype = b, "application/json"
	return c.do(ctx, k)
}

func result[T any](v *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return v, nil
}

// idempotency is the Idempotency-Key header: key, or a new one, which the
// retries of the call share.
func idempotency(key string) http.Header {
	if key == "" {
		key = NewIdempotencyKey()
	}
	return http.Header{"Idempotency-Key": {key}}
}

func teamPath(teamID string) string { return "/v1/teams/" + url.PathEscape(teamID) }

func memberKeysPath(teamID, memberID string) string {
	return teamPath(teamID) + "/members/" + url.PathEscape(memberID) + "/access-keys"
}

func keyPath(teamID, memberID, accessKeyID string) string {
	return memberKeysPath(teamID, memberID) + "/" + url.PathEscape(accessKeyID)
}

func setString(q url.Values, name string, v *string) {
	if v != nil && *v != "" {
		q.Set(name, *v)
	}
}

func setInt(q url.Values, name string, v *int) {
	if v != nil {
		q.Set(name, strconv.Itoa(*v))
	}
}
