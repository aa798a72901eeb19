package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"

	"github.com/teamkeys/teamkeys/internal/accesskey"
)

// IdempotencyKeyHeader names the header that makes a generate or a rotate
// safe to retry, and ReplayedHeader the one that marks a replayed answer.
const (
	IdempotencyKeyHeader = "Idempotency-Key"
	ReplayedHeader       = "Idempotent-Replayed"
)

// idempotency is a request's Idempotency-Key, as its replay record's id and
// the hash of what the record must match.
type idempotency struct {
	recordID    string
	requestHash string
}

// Replayer reads an idempotency key's replay record.
type Replayer interface {
	Replay(ctx context.Context, recordID string) (accesskey.ReplayRecord, bool, error)
}

// idempotencyOf reads the Idempotency-Key header: nil without one. The
// record is the caller's (team and subject) and the request's (method,
// path, body, exactly).
func idempotencyOf(r *http.Request, t target) (*idempotency, error) {
	values := r.Header.Values(IdempotencyKeyHeader)
	if len(values) == 0 {
		return nil, nil
	}
	if len(values) > 1 || !accesskey.ValidIdempotencyKey(values[0]) {
		return nil, accesskey.Invalid(IdempotencyKeyHeader, "must be one header of 1 to 255 printable ASCII characters")
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body)) // the handler reads it again
	return &idempotency{
		recordID:    accesskey.ReplayRecordID(t.ref.TeamID, t.caller.Subject, values[0]),
		requestHash: accesskey.RequestHash(r.Method, r.URL.EscapedPath(), body),
	}, nil
}

// replay answers from the idempotency key's replay record, when there is
// one: the first answer exactly, plus Idempotent-Replayed: true; the key
// used for another request is 422 IdempotencyKeyReused.
func (a *api) replay(w http.ResponseWriter, r *http.Request, records Replayer, idem *idempotency) (bool, error) {
	if idem == nil {
		return false, nil
	}
	rec, ok, err := records.Replay(r.Context(), idem.recordID)
	if err != nil || !ok {
		return false, err
	}
	if rec.RequestHash != idem.requestHash {
		return false, accesskey.ErrIdempotencyKeyReused
	}
	answer, err := a.sealer.OpenReplay(r.Context(), idem.recordID, rec.Ciphertext)
	if err != nil {
		return false, err
	}
	w.Header().Set(ReplayedHeader, "true")
	writeRaw(w, rec.Status, answer)
	return true, nil
}

// replayTaken answers a request whose replay record another request with
// the same key wrote first: from that record, or, if it is not readable
// yet, 409 IdempotencyKeyInUse (retry shortly).
func (a *api) replayTaken(w http.ResponseWriter, r *http.Request, records Replayer, idem *idempotency) error {
	done, err := a.replay(w, r, records, idem)
	if err != nil || done {
		return err
	}
	return accesskey.ErrIdempotencyKeyInUse
}

// replayRecord seals answer as the idempotency key's replay record: nil
// without a key.
func (a *api) replayRecord(r *http.Request, idem *idempotency, answer []byte) (*accesskey.ReplayRecord, error) {
	if idem == nil {
		return nil, nil
	}
	ciphertext, err := a.sealer.SealReplay(r.Context(), idem.recordID, answer)
	if err != nil {
		return nil, err
	}
	now := a.Now().UTC()
	return &accesskey.ReplayRecord{ID: idem.recordID, RequestHash: idem.requestHash, Status: http.StatusCreated,
		Ciphertext: ciphertext, CreatedAt: now, ExpiresAt: now.Add(accesskey.IdempotencyWindow)}, nil
}

// encodeJSON is body as writeJSON writes it.
func encodeJSON(body any) []byte {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(body)
	return b.Bytes()
}

// writeRaw writes an encoded JSON answer with writeJSON's headers.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
