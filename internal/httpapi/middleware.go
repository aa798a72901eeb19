package httpapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/teamkeys/teamkeys/internal/auth"
	"github.com/teamkeys/teamkeys/internal/config"
)

// MaxBodyBytes is the largest request body a route accepts (BodyLimit:
// a GitHub leak report may be larger).
const MaxBodyBytes = 16 << 10

type requestIDKey struct{}

// RequestID returns the id of the request: API Gateway's request id, or a
// fresh one where there is none.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// statusRecorder remembers the status a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// withRequestContext wraps next with what every request needs, outermost
// first: a request id, one access log line, panic recovery and the body
// limit.
func withRequestContext(next http.Handler, log *slog.Logger, claims config.ClaimNames) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		gw, _ := core.GetAPIGatewayV2ContextFromContext(r.Context())
		requestID := gw.RequestID
		if requestID == "" {
			requestID = NewRequestID()
		}
		ctx := WithRequestID(r.Context(), requestID)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", requestID)
		rec := &statusRecorder{ResponseWriter: w}

		defer func() {
			attrs := []any{
				"requestId", requestID,
				"method", r.Method,
				"route", gw.RouteKey,
				"path", r.URL.Path,
				"status", rec.status,
				"latencyMs", float64(time.Since(start).Microseconds()) / 1000,
			}
			if lc, ok := lambdacontext.FromContext(ctx); ok {
				attrs = append(attrs, "lambdaRequestId", lc.AwsRequestID)
			}
			if c := auth.Claims(ctx); c != nil {
				attrs = append(attrs, "callerTeam", c[claims.Team], "callerSub", c[claims.Subject])
			}
			log.Info("request", attrs...)
		}()
		defer func() {
			if p := recover(); p != nil {
				log.Error("handler panicked", "requestId", requestID, "panic", slogValue(p), "stack", string(debug.Stack()))
				if rec.status == 0 {
					WriteError(rec, log, requestID, errPanic)
				}
			}
		}()

		if r.Body != nil {
			limit := BodyLimit(r.Method, r.URL.Path)
			body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
			if err != nil {
				WriteError(rec, log, requestID, err)
				return
			}
			if len(body) > limit {
				WriteError(rec, log, requestID, ErrPayloadTooLarge)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		if faultHook != nil {
			faultHook(r)
		}
		next.ServeHTTP(rec, r)
	})
}

// faultHook is nil in every production build. A build with the
// teamkeys_faults tag sets it to inject faults (a panic) into a real
// function binary under the Lambda emulator.
var faultHook func(*http.Request)

type panicError struct{}

func (panicError) Error() string { return "handler panicked" }

var errPanic = panicError{}

// slogValue keeps a panic value loggable without formatting arbitrary types
// into the message.
func slogValue(p any) any {
	if err, ok := p.(error); ok {
		return err.Error()
	}
	return p
}

// WithRequestID returns ctx carrying id as the request id, for code that
// answers before the handlers do (the local gateway).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// NewRequestID returns a fresh random request id.
func NewRequestID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
