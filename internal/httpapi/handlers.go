package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/auth"
	"github.com/teamkeys/teamkeys/internal/leak"
	"github.com/teamkeys/teamkeys/internal/signature"
	"github.com/teamkeys/teamkeys/internal/verifier"
)

// Team-wide list page sizes.
const (
	defaultPageSize = 50
	maxPageSize     = 100
)

// api holds the dependencies of one function's routes; the function's
// constructor fills in those its routes use.
type api struct {
	Common
	creator    Creator
	lister     Lister
	reader     KeyReader
	policies   PolicyStore
	rotator    Rotator
	audits     AuditLister
	offboarder MemberOffboarder
	// policyReader reads the team's policy for the credential report.
	policyReader PolicyReader
	// policyCache serves generate's and rotate's reads of the team's key
	// policy.
	policyCache *policyCache
	statuses    StatusSetter
	deleter     Deleter
	sealer      Sealer
	pageTokens  PageTokens
	verifier    Verifier
	leaks       LeakResponder
	githubKeys  leak.Keys
	updater     KeyUpdater
}

// serve runs a route's handler, which returns its failure instead of
// writing it, so that every failure goes through WriteError.
func (a *api) serve(handle func(*api, http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := handle(a, w, r); err != nil {
			WriteError(w, a.Log, RequestID(r.Context()), err)
		}
	})
}

// keyJSON is a key as every response shows it: never its secret. Status is
// the key's status at the response's time (Expired once expiresAt has
// passed).
type keyJSON struct {
	AccessKeyID      string  `json:"accessKeyId"`
	Status           string  `json:"status"`
	TeamID           string  `json:"teamId"`
	MemberID         string  `json:"memberId"`
	Description      string  `json:"description"`
	CreatedAt        string  `json:"createdAt"`
	CreatedBy        string  `json:"createdBy"`
	ExpiresAt        *string `json:"expiresAt,omitempty"`
	RotatedFrom      string  `json:"rotatedFrom,omitempty"`
	LastUsedAt       *string `json:"lastUsedAt,omitempty"`
	LastUsedSourceIP string  `json:"lastUsedSourceIp,omitempty"`
	LastUsedScheme   string  `json:"lastUsedScheme,omitempty"`
	// AllowedCidrs and Scopes are null for an unrestricted key.
	AllowedCidrs []string `json:"allowedCidrs"`
	Scopes       []string `json:"scopes"`
	// LeakedAt and LeakURL: when a leak report disabled the key, and the
	// URL it reported; absent when never reported (a key disabled by a
	// GitHub report before leakedAt was recorded shows only leakUrl).
	LeakedAt *string `json:"leakedAt,omitempty"`
	LeakURL  string  `json:"leakUrl,omitempty"`
}

func timeJSON(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func toJSON(k accesskey.Key, now time.Time) keyJSON {
	return keyJSON{
		AccessKeyID:      k.AccessKeyID,
		Status:           string(k.StatusAt(now)),
		TeamID:           k.TeamID,
		MemberID:         k.MemberID,
		Description:      k.Description,
		CreatedAt:        k.CreatedAt.UTC().Format(time.RFC3339),
		CreatedBy:        k.CreatedBy,
		ExpiresAt:        timeJSON(k.ExpiresAt),
		RotatedFrom:      k.RotatedFrom,
		LastUsedAt:       timeJSON(k.LastUsedAt),
		LastUsedSourceIP: k.LastUsedIP,
		LastUsedScheme:   k.LastUsedScheme,
		AllowedCidrs:     k.AllowedCIDRs,
		Scopes:           k.Scopes,
		LeakedAt:         timeJSON(k.LeakedAt),
		LeakURL:          k.LeakURL,
	}
}

// createdKeyJSON is the generate response, the only one with the secret.
type createdKeyJSON struct {
	AccessKeyID     string  `json:"accessKeyId"`
	SecretAccessKey string  `json:"secretAccessKey"`
	Status          string  `json:"status"`
	TeamID          string  `json:"teamId"`
	MemberID        string  `json:"memberId"`
	Description     string  `json:"description"`
	CreatedAt       string  `json:"createdAt"`
	CreatedBy       string  `json:"createdBy"`
	ExpiresAt       *string `json:"expiresAt,omitempty"`
	RotatedFrom     string  `json:"rotatedFrom,omitempty"`
	// AllowedCidrs and Scopes are null for an unrestricted key.
	AllowedCidrs []string `json:"allowedCidrs"`
	Scopes       []string `json:"scopes"`
}

type listJSON struct {
	AccessKeys []keyJSON `json:"accessKeys"`
	NextToken  *string   `json:"nextToken"`
}

// target is what a request names in its path, checked, and who asks.
type target struct {
	caller accesskey.Caller
	ref    accesskey.Ref
}

// authorize reads the caller, validates the path's ids and checks that the
// caller may do action there, in that order: 401, then 400, then 403.
func (a *api) authorize(r *http.Request, action accesskey.Action, withMember, withKey bool) (target, error) {
	caller, err := auth.CallerFromContext(r.Context(), a.Claims)
	if err != nil {
		return target{}, err
	}
	t := target{caller: caller, ref: accesskey.Ref{TeamID: r.PathValue("teamId")}}
	if !accesskey.ValidTeamOrMemberID(t.ref.TeamID) {
		return target{}, accesskey.Invalid("teamId", "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
	}
	if withMember {
		t.ref.MemberID = r.PathValue("memberId")
		if !accesskey.ValidTeamOrMemberID(t.ref.MemberID) {
			return target{}, accesskey.Invalid("memberId", "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
		}
	}
	if withKey {
		t.ref.AccessKeyID = r.PathValue("accessKeyId")
		if !accesskey.ValidAccessKeyID(t.ref.AccessKeyID) {
			return target{}, accesskey.Invalid("accessKeyId", "is not an access key id")
		}
	}
	if err := accesskey.Authorize(caller, action, t.ref.TeamID, t.ref.MemberID); err != nil {
		return target{}, err
	}
	return t, nil
}

func (a *api) generate(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionGenerate, true, false)
	if err != nil {
		return err
	}
	idem, err := idempotencyOf(r, t)
	if err != nil {
		return err
	}
	fields, err := readJSONObject(r, "description", "expiresAt", accesskey.FieldAllowedCIDRs, accesskey.FieldScopes)
	if err != nil {
		return err
	}
	description, err := descriptionField(fields)
	if err != nil {
		return err
	}
	cidrs, scopes, err := restrictionFields(fields)
	if err != nil {
		return err
	}
	requested, err := timeField(fields, "expiresAt")
	if err != nil {
		return err
	}
	if done, err := a.replay(w, r, a.creator, idem); done || err != nil {
		return err
	}
	key := accesskey.Key{
		AccessKeyID:  accesskey.NewAccessKeyID(),
		TeamID:       t.ref.TeamID,
		MemberID:     t.ref.MemberID,
		Status:       accesskey.StatusActive,
		Description:  description,
		CreatedAt:    a.Now().UTC().Truncate(time.Second),
		CreatedBy:    t.caller.Subject,
		AllowedCIDRs: cidrs.Value,
		Scopes:       scopes.Value,
	}
	return a.issue(w, r, idem, a.creator, &key, requested, generateRestrictions(&key, cidrs, scopes), func(sealed accesskey.SealedSecret, policy accesskey.KeyPolicy) error {
		return a.creator.Create(r.Context(), key, sealed, policy, a.auditOf(r, t))
	})
}

// issue seals a new key's secret and stores the key with store, then
// answers 201 with it, the secret shown this once. The key's expiry follows
// the team's policy as read (through the cache), before anything is sealed;
// store's transaction checks that the policy is still that one, and a
// change in between means reading it and computing the expiry again. With
// restrict applies the policy's networks and default scopes to the key
// (teampolicy.go), each time the policy is read. With
// an idempotency key, the answer is sealed as its replay record and stored
// in the same transaction; a record another request with the same key
// wrote first is that request's answer, and this one's.
func (a *api) issue(w http.ResponseWriter, r *http.Request, idem *idempotency, records interface {
	Replayer
	Policy(ctx context.Context, teamID string) (accesskey.KeyPolicy, error)
}, key *accesskey.Key, requested *time.Time, restrict func(accesskey.KeyPolicy) error, store func(accesskey.SealedSecret, accesskey.KeyPolicy) error) error {
	decide := func(policy accesskey.KeyPolicy) (err error) {
		if key.ExpiresAt, err = accesskey.Expiry(key.CreatedAt, requested, policy); err != nil {
			return err
		}
		return restrict(policy)
	}
	policy, err := a.policyCache.get(r.Context(), records.Policy, key.TeamID, a.Now(), false)
	if err != nil {
		return err
	}
	if err := decide(policy); err != nil {
		// A refusal is never from a stale policy: read it afresh first.
		if policy, err = a.policyCache.get(r.Context(), records.Policy, key.TeamID, a.Now(), true); err != nil {
			return err
		}
		if err := decide(policy); err != nil {
			return err
		}
	}
	secret := accesskey.NewSecret()
	ciphertext, err := a.sealer.Seal(r.Context(), key.Ref(), secret)
	if err != nil {
		return err
	}
	sealed := accesskey.SealedSecret{Ciphertext: ciphertext, SHA256: accesskey.SecretSHA256(secret)}
	for attempt := 1; ; attempt++ {
		answer := encodeJSON(createdJSON(*key, secret))
		if sealed.Replay, err = a.replayRecord(r, idem, answer); err != nil {
			return err
		}
		err := store(sealed, policy)
		switch {
		case err == nil:
			writeRaw(w, http.StatusCreated, answer)
			return nil
		case errors.Is(err, accesskey.ErrReplayRecordTaken):
			return a.replayTaken(w, r, records, idem)
		case errors.Is(err, accesskey.ErrNotFound), errors.Is(err, accesskey.ErrAlreadyRotated):
			// A concurrent rotation with the same idempotency key may have
			// won the old key: its answer is this request's.
			if done, rerr := a.replay(w, r, records, idem); done || rerr != nil {
				return rerr
			}
			return err
		case !errors.Is(err, accesskey.ErrPolicyChanged):
			return err
		case attempt == 3:
			return fmt.Errorf("%w: %w", accesskey.ErrUnavailable, err)
		}
		if policy, err = a.policyCache.get(r.Context(), records.Policy, key.TeamID, a.Now(), true); err != nil {
			return err
		}
		if err := decide(policy); err != nil {
			return err
		}
	}
}

// createdJSON is a new key's answer, with its secret.
func createdJSON(k accesskey.Key, secret string) createdKeyJSON {
	return createdKeyJSON{
		AccessKeyID:     k.AccessKeyID,
		SecretAccessKey: secret,
		Status:          string(k.Status),
		TeamID:          k.TeamID,
		MemberID:        k.MemberID,
		Description:     k.Description,
		CreatedAt:       k.CreatedAt.Format(time.RFC3339),
		CreatedBy:       k.CreatedBy,
		ExpiresAt:       timeJSON(k.ExpiresAt),
		RotatedFrom:     k.RotatedFrom,
		AllowedCidrs:    k.AllowedCIDRs,
		Scopes:          k.Scopes,
	}
}

// descriptionField reads the optional "description" member: a JSON string
// of valid text.
func descriptionField(fields map[string]json.RawMessage) (string, error) {
	var description string
	if raw, ok := fields["description"]; ok {
		if err := json.Unmarshal(raw, &description); err != nil || raw[0] != '"' {
			return "", accesskey.Invalid("description", "must be a string")
		}
		// encoding/json quietly turns invalid UTF-8 and lone surrogate
		// escapes into U+FFFD; refuse them instead of storing an altered
		// description.
		if !utf8.Valid(raw) || strings.ContainsRune(description, utf8.RuneError) &&
			!bytes.Contains(raw, []byte("\xef\xbf\xbd")) && !bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`)) {
			return "", accesskey.Invalid("description", "must be valid UTF-8 text")
		}
	}
	return description, accesskey.ValidateDescription(description)
}

// timeField reads an optional RFC 3339 timestamp member (nil when absent or
// null), to the second.
func timeField(fields map[string]json.RawMessage, name string) (*time.Time, error) {
	raw, ok := fields[name]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || raw[0] != '"' {
		return nil, accesskey.Invalid(name, "must be an RFC 3339 timestamp string")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || t.Year() < 2000 || t.Year() > 9999 {
		return nil, accesskey.Invalid(name, "must be an RFC 3339 timestamp, such as 2027-01-31T00:00:00Z")
	}
	t = t.UTC().Truncate(time.Second)
	return &t, nil
}

func (a *api) getKey(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionGet, true, true)
	if err != nil {
		return err
	}
	key, err := a.reader.GetKey(r.Context(), t.ref)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toJSON(key, a.Now()))
	return nil
}

func (a *api) listMember(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionListMember, true, false)
	if err != nil {
		return err
	}
	keys, err := a.lister.ListMember(r.Context(), t.ref.TeamID, t.ref.MemberID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(keys, nil, a.Now()))
	return nil
}

func (a *api) listTeam(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionListTeam, false, false)
	if err != nil {
		return err
	}
	query, limit, after, err := a.page(r, "team:"+t.ref.TeamID, nil)
	if err != nil {
		return err
	}
	keys, next, err := a.lister.ListTeam(r.Context(), t.ref.TeamID, limit, after)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listOf(keys, a.nextToken(query, next), a.Now()))
	return nil
}

// pageQuery is a paged listing's query: its nextToken scope (the listing
// and its filter, so that a token serves that listing alone) and the names
// it takes besides limit and nextToken.
type pageQuery struct {
	scope string
	url.Values
}

// page reads a paged listing's query: every name at most once, limit from 1
// to 100 (default 50), a nextToken this listing issued.
func (a *api) page(r *http.Request, scope string, filters []string) (pageQuery, int, map[string]string, error) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return pageQuery{}, 0, nil, accesskey.Invalid("query", "is malformed")
	}
	for _, name := range append([]string{"limit", "nextToken"}, filters...) {
		if len(query[name]) > 1 {
			return pageQuery{}, 0, nil, accesskey.Invalid(name, "must be given at most once")
		}
	}
	limit := defaultPageSize
	if v := query.Get("limit"); query.Has("limit") {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return pageQuery{}, 0, nil, accesskey.Invalid("limit", fmt.Sprintf("must be an integer from 1 to %d", maxPageSize))
		}
		limit = n
	}
	for _, name := range filters {
		scope += "\x00" + name + "=" + query.Get(name)
	}
	var after map[string]string
	if query.Has("nextToken") {
		after, err = a.pageTokens.Decode(scope, query.Get("nextToken"))
		if err != nil {
			return pageQuery{}, 0, nil, accesskey.Invalid("nextToken", "is not a token this listing issued")
		}
	}
	return pageQuery{scope: scope, Values: query}, limit, after, nil
}

// nextToken is the token of the page after the one that ended at next (nil:
// the last page).
func (a *api) nextToken(q pageQuery, next map[string]string) *string {
	if next == nil {
		return nil
	}
	s := a.pageTokens.Encode(q.scope, next)
	return &s
}

// auditOf is who makes a change in this request, for its audit record.
func (a *api) auditOf(r *http.Request, t target) accesskey.Audit {
	gw, _ := core.GetAPIGatewayV2ContextFromContext(r.Context())
	return accesskey.Audit{
		Actor:     accesskey.UserActor(t.caller.Subject, gw.HTTP.SourceIP, gw.HTTP.UserAgent),
		RequestID: RequestID(r.Context()),
		At:        a.Now(),
	}
}

func listOf(keys []accesskey.Key, nextToken *string, now time.Time) listJSON {
	out := listJSON{AccessKeys: make([]keyJSON, 0, len(keys)), NextToken: nextToken}
	for _, k := range keys {
		out.AccessKeys = append(out.AccessKeys, toJSON(k, now))
	}
	return out
}

func (a *api) disable(w http.ResponseWriter, r *http.Request) error {
	return a.setStatus(w, r, accesskey.ActionDisable, accesskey.StatusInactive)
}

func (a *api) enable(w http.ResponseWriter, r *http.Request) error {
	return a.setStatus(w, r, accesskey.ActionEnable, accesskey.StatusActive)
}

func (a *api) setStatus(w http.ResponseWriter, r *http.Request, action accesskey.Action, status accesskey.Status) error {
	t, err := a.authorize(r, action, true, true)
	if err != nil {
		return err
	}
	key, err := a.statuses.SetStatus(r.Context(), t.ref, status, a.auditOf(r, t))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toJSON(key, a.Now()))
	return nil
}

func (a *api) delete(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionDelete, true, true)
	if err != nil {
		return err
	}
	if err := a.deleter.Delete(r.Context(), t.ref, a.auditOf(r, t)); err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type whoAmIJSON struct {
	AccessKeyID string `json:"accessKeyId"`
	TeamID      string `json:"teamId"`
	MemberID    string `json:"memberId"`
	Scheme      string `json:"scheme"`
	// The key's restrictions, null when unrestricted.
	Scopes       []string `json:"scopes"`
	AllowedCIDRs []string `json:"allowedCidrs"`
}

// whoAmI verifies the request's signature here, in the function, where the
// body is at hand, and names the key's owner. The request verified is the
// one API Gateway received, read from its event the same way the authorizer
// reads it (signature.FromAPIGateway), not the adapter's http.Request.
func (a *api) whoAmI(w http.ResponseWriter, r *http.Request) error {
	res, err := a.verifySigned(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, whoAmIJSON{
		AccessKeyID:  res.Key.AccessKeyID,
		TeamID:       res.Key.TeamID,
		MemberID:     res.Key.MemberID,
		Scheme:       res.Scheme,
		Scopes:       res.Key.Scopes,
		AllowedCIDRs: res.Key.AllowedCIDRs,
	})
	return nil
}

// verifySigned verifies the request's signature (whoAmI's and every
// signed route's): the request verified is the one API Gateway received,
// read from its event, with the body, which is left in r.Body for the
// handler to read again.
func (a *api) verifySigned(r *http.Request) (verifier.Result, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return verifier.Result{}, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	ev, ok := eventFrom(r.Context())
	if !ok {
		return verifier.Result{}, errors.New("signed request: no API Gateway event in the request context")
	}
	req := signature.FromAPIGateway(ev.RequestContext.HTTP.Method, ev.RawPath, ev.RawQueryString,
		ev.RequestContext.DomainName, ev.Headers, ev.Cookies).WithBody(body)
	// The source address is API Gateway's (the TCP peer it saw), never a
	// header the caller sends.
	sourceIP := ev.RequestContext.HTTP.SourceIP
	res, err := a.verifier.Verify(r.Context(), req, sourceIP)
	if errors.Is(err, accesskey.ErrSourceIPNotAllowed) {
		from := "an unknown address"
		if addr, perr := netip.ParseAddr(sourceIP); perr == nil {
			from = addr.String()
		}
		return verifier.Result{}, WithPublicMessage(err, fmt.Sprintf("This access key may not be used from %s.", from))
	}
	return res, err
}

// readJSONObject reads an optional JSON object body whose members may only
// be the named fields, each at most once, matched exactly (encoding/json
// alone would match names case-insensitively and let a duplicate override
// the first). An empty body is an empty object.
func readJSONObject(r *http.Request, allowed ...string) (map[string]json.RawMessage, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	fields := map[string]json.RawMessage{}
	if len(bytes.TrimSpace(body)) == 0 {
		return fields, nil
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return nil, ErrUnsupportedMediaType
	}
	notObject := accesskey.Invalid("body", "must be one JSON object")
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, notObject
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, notObject
		}
		name := tok.(string) // object keys are always strings
		if !slices.Contains(allowed, name) {
			return nil, accesskey.Invalid(name, "is not a known field")
		}
		if _, dup := fields[name]; dup {
			return nil, accesskey.Invalid(name, "appears more than once")
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, notObject
		}
		fields[name] = value
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, accesskey.Invalid("body", "has data after the JSON object")
	}
	return fields, nil
}

// rotate replaces a key: a new key, shown with its secret once, and the old
// key's expiry (now plus the grace period, or its own earlier expiry), or,
// with no grace, the old key deleted; one transaction.
func (a *api) rotate(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionRotate, true, true)
	if err != nil {
		return err
	}
	idem, err := idempotencyOf(r, t)
	if err != nil {
		return err
	}
	fields, err := readJSONObject(r, "gracePeriodSeconds", "description", accesskey.FieldAllowedCIDRs, accesskey.FieldScopes)
	if err != nil {
		return err
	}
	cidrs, scopes, err := restrictionFields(fields)
	if err != nil {
		return err
	}
	grace, err := graceField(fields)
	if err != nil {
		return err
	}
	if done, err := a.replay(w, r, a.rotator, idem); done || err != nil {
		return err
	}
	old, err := a.rotator.GetKey(r.Context(), t.ref)
	if err != nil {
		// A concurrent rotation with the same idempotency key may have
		// replaced the key a moment ago: its answer is this request's.
		if done, rerr := a.replay(w, r, a.rotator, idem); done || rerr != nil {
			return rerr
		}
		return err
	}
	description := old.Description
	if _, ok := fields["description"]; ok {
		if description, err = descriptionField(fields); err != nil {
			return err
		}
	}
	now := a.Now().UTC().Truncate(time.Second)
	rot := accesskey.Rotation{
		Audit: a.auditOf(r, t),
		Old:   old,
		New: accesskey.Key{
			AccessKeyID: accesskey.NewAccessKeyID(),
			TeamID:      t.ref.TeamID,
			MemberID:    t.ref.MemberID,
			Status:      accesskey.StatusActive,
			Description: description,
			CreatedAt:   now,
			CreatedBy:   t.caller.Subject,
			RotatedFrom: old.AccessKeyID,
			// Copied from the old key unless the body sets them (null
			// included); Rotate holds the old key to the values copied.
			AllowedCIDRs: cidrs.Or(old.AllowedCIDRs),
			Scopes:       scopes.Or(old.Scopes),
		},
		OldExpiresAt: accesskey.RetiredExpiry(old, now, grace),
	}
	return a.issue(w, r, idem, a.rotator, &rot.New, nil, rotateRestrictions(&rot.New, cidrs), func(sealed accesskey.SealedSecret, policy accesskey.KeyPolicy) error {
		rot.Sealed, rot.Policy = sealed, policy
		return a.rotator.Rotate(r.Context(), rot)
	})
}

// offboard deletes every key of a member, slots and all, and names them.
// A member with no keys is no error: offboarding twice is harmless.
func (a *api) offboard(w http.ResponseWriter, r *http.Request) error {
	t, err := a.authorize(r, accesskey.ActionOffboard, true, false)
	if err != nil {
		return err
	}
	deleted, err := a.offboarder.DeleteMemberKeys(r.Context(), t.ref.TeamID, t.ref.MemberID, a.auditOf(r, t))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		Deleted []string `json:"deleted"`
	}{deleted})
	return nil
}
