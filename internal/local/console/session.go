package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
)

// maxSessionBody bounds a sign-in request's body: three short ids.
const maxSessionBody = 4 << 10

// Why the console refuses a request; consoleErrors says what the client sees.
var (
	errMethod       = errors.New("method not allowed")
	errNotFound     = errors.New("not found")
	errMediaType    = errors.New("not application/json")
	errCrossSite    = errors.New("cross-site request")
	errNotLoopback  = errors.New("not from this machine")
	errTooLarge     = errors.New("body too large")
	errMintingToken = errors.New("minting the token failed")
)

var consoleErrors = map[error]struct {
	status        int
	code, message string
}{
	errMethod:       {http.StatusMethodNotAllowed, "MethodNotAllowed", "This console path does not accept this method."},
	errNotFound:     {http.StatusNotFound, "NotFound", "No such console page."},
	errMediaType:    {http.StatusUnsupportedMediaType, "UnsupportedMediaType", "The request body must be application/json."},
	errCrossSite:    {http.StatusForbidden, "Forbidden", "The console signs in only from its own page (a cross-site request was refused)."},
	errNotLoopback:  {http.StatusForbidden, "Forbidden", "The console signs in only on this machine: open it at http://127.0.0.1 or http://localhost."},
	errTooLarge:     {http.StatusRequestEntityTooLarge, "PayloadTooLarge", "The request body is too large."},
	errMintingToken: {http.StatusInternalServerError, "InternalError", "Internal error. Quote the request id if you report it."},
}

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
		c.opts.Log.Error("console: mint a token", "requestId", requestID, "error", err.Error())
		c.refuse(w, requestID, "", errMintingToken)
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
	if !loopbackHost(r.Host) || !loopbackAddr(r.RemoteAddr) {
		return errNotLoopback
	}
	return nil
}

// loopbackHost reports whether a Host header names this machine: localhost
// or a loopback address, with or without a port.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

func loopbackAddr(remote string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// refuse answers err in the API's error shape; allow, when set, is the
// Allow header of a 405.
func (c *console) refuse(w http.ResponseWriter, requestID, allow string, err error) {
	if allow != "" {
		w.Header().Set("Allow", allow)
	}
	var invalid *accesskey.ValidationError
	if errors.As(err, &invalid) {
		writeJSON(w, http.StatusBadRequest, httpapi.ErrorBody{Error: httpapi.ErrorDetail{Code: "ValidationError", Message: invalid.Error(), RequestID: requestID}})
		return
	}
	e, ok := consoleErrors[err]
	if !ok {
		e = consoleErrors[errMintingToken]
	}
	if e.status == http.StatusRequestEntityTooLarge {
		w.Header().Set("Connection", "close")
	}
	writeJSON(w, e.status, httpapi.ErrorBody{Error: httpapi.ErrorDetail{Code: e.code, Message: e.message, RequestID: requestID}})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
