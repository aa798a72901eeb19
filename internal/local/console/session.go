package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/local/loopback"
)

// maxSessionBody bounds a sign-in request's body: three short ids.
const maxSessionBody = 4 << 10

// Why the console refuses a request: the API's own errors (one table,
// httpapi's), with words for the console where the table's don't fit.
var (
	errMethod      = httpapi.ErrMethodNotAllowed
	errNotFound    = httpapi.WithPublicMessage(httpapi.ErrRouteNotFound, "No such console page.")
	errMediaType   = httpapi.ErrUnsupportedMediaType
	errCrossSite   = httpapi.WithPublicMessage(accesskey.ErrForbidden, "The console signs in only from its own page (a cross-site request was refused).")
	errNotLoopback = httpapi.WithPublicMessage(accesskey.ErrForbidden, "The console signs in only on this machine: open it at http://127.0.0.1 or http://localhost.")
	errTooLarge    = httpapi.WithPublicMessage(httpapi.ErrPayloadTooLarge, "The request body is too large.")
)

// sessionRequest is the "sign in as" form.
type sessionRequest struct {
	MemberID string `json:"memberId"`
	TeamID   string `json:"teamId"`
	Role     string `json:"role"`
}

// sessionAnswer is a minted token; the page keeps it in memory only.
type sessionAnswer struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expiresAt"`
}

// session mints a local token for the caller the form names. Anyone who
// can make this request can act as any admin of any team, so it answers
// only a same-origin page on this machine: a cross-site page (or one that
// reaches 127.0.0.1 through a DNS name it controls) is refused.
func (c *console) session(w http.ResponseWriter, r *http.Request, requestID string) {
	if err := sameOriginOnLoopback(r); err != nil {
		c.refuse(w, requestID, "", err)
		return
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		c.refuse(w, requestID, "", errMediaType)
		return
	}
	req, err := readSessionRequest(http.MaxBytesReader(w, r.Body, maxSessionBody))
	if err != nil {
		c.refuse(w, requestID, "", err)
		return
	}
	caller := accesskey.Caller{Subject: req.MemberID, TeamID: req.TeamID, Role: accesskey.Role(req.Role)}
	token, err := c.opts.Tokens.Mint(caller, c.opts.Claims, c.opts.TokenTTL)
	if err != nil {
		c.refuse(w, requestID, "", fmt.Errorf("console: mint a token: %w", err))
		return
	}
	// The token's own exp is at least this late (Mint reads its clock after).
	expires := c.opts.now().Add(c.opts.TokenTTL).UTC().Truncate(time.Second)
	writeJSON(w, http.StatusOK, sessionAnswer{Token: token, ExpiresAt: expires.Format(time.RFC3339)})
}

// readSessionRequest reads one JSON object of exactly the form's fields and
// checks them with the API's own rules.
func readSessionRequest(body io.Reader) (sessionRequest, error) {
	var req sessionRequest
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return req, errTooLarge
		}
		return req, accesskey.Invalid("body", "must be one JSON object with memberId, teamId and role")
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, accesskey.Invalid("body", "must be one JSON object with memberId, teamId and role")
	}
	const idRule = "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
	if !accesskey.ValidTeamOrMemberID(req.MemberID) {
		return req, accesskey.Invalid("memberId", idRule)
	}
	if !accesskey.ValidTeamOrMemberID(req.TeamID) {
		return req, accesskey.Invalid("teamId", idRule)
	}
	switch accesskey.Role(req.Role) {
	case accesskey.RoleOwner, accesskey.RoleAdmin, accesskey.RoleMember:
	default:
		return req, accesskey.Invalid("role", fmt.Sprintf("must be %s, %s or %s", accesskey.RoleOwner, accesskey.RoleAdmin, accesskey.RoleMember))
	}
	return req, nil
}

// sameOriginOnLoopback refuses a request that a browser marks as coming
// from another site (Sec-Fetch-Site other than same-origin, or an Origin
// other than the request's own), and one that does not come from and name
// this machine: the Host check stops a DNS-rebinding page, whose requests
// are same-origin to the browser but carry the attacker's host name.
func sameOriginOnLoopback(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return errCrossSite
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		scheme := "http://"
		if r.TLS != nil {
			scheme = "https://"
		}
		if origin != scheme+r.Host {
			return errCrossSite
		}
	}
	if !loopback.Request(r) {
		return errNotLoopback
	}
	return nil
}

// refuse answers err in the API's error shape, through the API's one
// mapping; allow, when set, is the Allow header of a 405.
func (c *console) refuse(w http.ResponseWriter, requestID, allow string, err error) {
	if allow != "" {
		w.Header().Set("Allow", allow)
	}
	if errors.Is(err, httpapi.ErrPayloadTooLarge) {
		w.Header().Set("Connection", "close")
	}
	httpapi.WriteError(w, c.opts.Log, requestID, err)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
