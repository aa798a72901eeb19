package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// Errors of the HTTP layer itself; the domain's are in package accesskey.
var (
	// ErrRouteNotFound is a path nothing serves (404).
	ErrRouteNotFound = errors.New("no such route")
	// ErrMethodNotAllowed is a method the path does not serve (405).
	ErrMethodNotAllowed = errors.New("method not allowed on this route")
	// ErrPayloadTooLarge is a body over the limit (413).
	ErrPayloadTooLarge = errors.New("request body too large")
	// ErrUnsupportedMediaType is a body that is not application/json (415).
	ErrUnsupportedMediaType = errors.New("request body is not application/json")
)

// publicMessage is an error of the table answered with a message of its
// own: the same status and code, words that fit the case.
type publicMessage struct {
	err     error
	message string
}

func (p *publicMessage) Error() string { return p.err.Error() + ": " + p.message }
func (p *publicMessage) Unwrap() error { return p.err }

// WithPublicMessage is err, one of the errors WriteError knows, answered
// with message instead of the table's.
func WithPublicMessage(err error, message string) error {
	return &publicMessage{err: err, message: message}
}

// ErrorBody is the shape of every error response.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of an ErrorBody.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
}

type publicError struct {
	status  int
	code    string
	message string
}

// publicErrors maps each known error to what the client sees. Anything else
// is an InternalError whose detail goes to the log only.
var publicErrors = []struct {
	target error
	public publicError
}{
	{accesskey.ErrUnauthenticated, publicError{http.StatusUnauthorized, "Unauthenticated", "A valid bearer token is required."}},
	{accesskey.ErrMissingSignature, publicError{http.StatusUnauthorized, "MissingSignature", "The request must be signed with an access key (AWS4-HMAC-SHA256 or ZC2-HMAC-SHA256)."}},
	{accesskey.ErrInvalidSignature, publicError{http.StatusUnauthorized, "InvalidSignature", "The request signature does not match."}},
	{accesskey.ErrUnknownKey, publicError{http.StatusUnauthorized, "UnknownKey", "The access key does not exist."}},
	{accesskey.ErrKeyDisabled, publicError{http.StatusUnauthorized, "KeyDisabled", "The access key is disabled."}},
	{accesskey.ErrKeyExpired, publicError{http.StatusUnauthorized, "KeyExpired", "The access key has expired."}},
	{accesskey.ErrRequestExpired, publicError{http.StatusUnauthorized, "RequestExpired", "The request timestamp is more than 5 minutes from the server's clock."}},
	{accesskey.ErrSourceIPNotAllowed, publicError{http.StatusForbidden, "SourceIpNotAllowed", "This access key may not be used from this source address."}},
	{accesskey.ErrSelfRotationNotAllowed, publicError{http.StatusForbidden, "SelfRotationNotAllowed", "The team's key policy does not allow a key to rotate itself (allowSelfRotation)."}},
	{accesskey.ErrForbidden, publicError{http.StatusForbidden, "Forbidden", "You may not do this for this team or member."}},
	{accesskey.ErrNotFound, publicError{http.StatusNotFound, "NotFound", "The access key does not exist."}},
	{ErrRouteNotFound, publicError{http.StatusNotFound, "NotFound", "No such route."}},
	{ErrMethodNotAllowed, publicError{http.StatusMethodNotAllowed, "MethodNotAllowed", "This route does not accept this method."}},
	{accesskey.ErrLimitExceeded, publicError{http.StatusConflict, "LimitExceeded", "The member already holds the maximum of 2 access keys; delete one first."}},
	{accesskey.ErrRotateAtCap, publicError{http.StatusConflict, "LimitExceeded", "The member already holds the maximum of 2 access keys, so the new key has no slot during the grace period: rotate with gracePeriodSeconds 0 (the old key is replaced at once) or delete a key first."}},
	{accesskey.ErrIdempotencyKeyReused, publicError{http.StatusUnprocessableEntity, "IdempotencyKeyReused", "This Idempotency-Key was used for another request (another path or body) in the last 24 hours; use a new key."}},
	{accesskey.ErrIdempotencyKeyInUse, publicError{http.StatusConflict, "IdempotencyKeyInUse", "A request with this Idempotency-Key is in progress; retry shortly."}},
	{accesskey.ErrAlreadyRotated, publicError{http.StatusConflict, "AlreadyRotated", "The access key was already rotated (or changed while being rotated); rotate or update its replacement instead."}},
	{accesskey.ErrKeyLeaked, publicError{http.StatusConflict, "KeyLeaked", "The access key was reported leaked; it cannot be enabled again: rotate or delete it."}},
	{ErrPayloadTooLarge, publicError{http.StatusRequestEntityTooLarge, "PayloadTooLarge", "The request body is larger than this route accepts (16 KiB; a GitHub leak report 1 MiB)."}},
	{ErrUnsupportedMediaType, publicError{http.StatusUnsupportedMediaType, "UnsupportedMediaType", "The request body must be application/json."}},
	{accesskey.ErrReportUnsigned, publicError{http.StatusUnauthorized, "MissingSignature", "The leak report must carry the Github-Public-Key-Identifier and Github-Public-Key-Signature headers."}},
	{accesskey.ErrReportSignature, publicError{http.StatusUnauthorized, "InvalidSignature", "The leak report's signature does not verify with GitHub's published keys."}},
	{accesskey.ErrUnavailable, publicError{http.StatusServiceUnavailable, "ServiceUnavailable", "The service is briefly unavailable; retry later."}},
}

var internalError = publicError{http.StatusInternalServerError, "InternalError", "Internal error. Quote the request id if you report it."}

// retryAfterSeconds is sent with every 503.
const retryAfterSeconds = "1"

// publicErrorOf is the one mapping from errors to HTTP.
func publicErrorOf(err error) publicError {
	var invalid *accesskey.ValidationError
	if errors.As(err, &invalid) {
		return publicError{http.StatusBadRequest, "ValidationError", invalid.Error()}
	}
	var violation *accesskey.PolicyViolationError
	if errors.As(err, &violation) {
		return publicError{http.StatusBadRequest, "PolicyViolation", violation.Error()}
	}
	for _, pe := range publicErrors {
		if errors.Is(err, pe.target) {
			var own *publicMessage
			var leaked *accesskey.LeakedKeyError
			switch {
			case errors.As(err, &own):
				pe.public.message = own.message
			case errors.As(err, &leaked):
				pe.public.message = leaked.Message()
			}
			return pe.public
		}
	}
	return internalError
}

// WriteError answers err in the error shape. The detail of a 5xx goes to
// the log, never to the client.
func WriteError(w http.ResponseWriter, log *slog.Logger, requestID string, err error) {
	pe := publicErrorOf(err)
	if pe.status >= 500 {
		log.Error("request failed", "requestId", requestID, "status", pe.status, "error", err.Error())
	}
	if pe.status == http.StatusServiceUnavailable || pe.code == "IdempotencyKeyInUse" {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	writeJSON(w, pe.status, ErrorBody{Error: ErrorDetail{Code: pe.code, Message: pe.message, RequestID: requestID}})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// Responses may carry a secret (generate) or key metadata: no caching.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
