package httpapi_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/teamkeys/teamkeys/internal/accesskey"
	"github.com/teamkeys/teamkeys/internal/httpapi"
	"github.com/teamkeys/teamkeys/internal/leak"
)

// Each function's constructor refuses to build without the dependencies its
// routes use, and the handler it builds serves its own routes only: another
// function's route is 404 or 405 there, as API Gateway would never send it.
func TestFunctionConstructors(t *testing.T) {
	c := httpapi.Common{Log: slog.New(slog.DiscardHandler)}
	store, sealer, tokens, v := &fakeStore{}, &fakeSealer{}, fakeTokens{}, &fakeVerifier{}
	store.getKey = func(ref accesskey.Ref) (accesskey.Key, error) {
		return accesskey.Key{AccessKeyID: ref.AccessKeyID, TeamID: ref.TeamID, MemberID: ref.MemberID, Status: accesskey.StatusActive}, nil
	}
	tests := []struct {
		function string
		complete func() (httpapi.LambdaHandlerFunc, error)
		lacking  []func() (httpapi.LambdaHandlerFunc, error)
	}{
		{httpapi.FunctionGenerateKey,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewGenerateKey(c, store, sealer) },
			[]func() (httpapi.LambdaHandlerFunc, error){
				func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewGenerateKey(c, nil, sealer) },
				func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewGenerateKey(c, store, nil) },
			}},
		{httpapi.FunctionListKeys,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewListKeys(c, store, tokens) },
			[]func() (httpapi.LambdaHandlerFunc, error){
				func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewListKeys(c, nil, tokens) },
				func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewListKeys(c, store, nil) },
			}},
		{httpapi.FunctionDisableKey,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewDisableKey(c, store) },
			[]func() (httpapi.LambdaHandlerFunc, error){func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewDisableKey(c, nil) }}},
		{httpapi.FunctionEnableKey,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewEnableKey(c, store) },
			[]func() (httpapi.LambdaHandlerFunc, error){func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewEnableKey(c, nil) }}},
		{httpapi.FunctionUpdateKey,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewUpdateKey(c, store) },
			[]func() (httpapi.LambdaHandlerFunc, error){func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewUpdateKey(c, nil) }}},
		{httpapi.FunctionDeleteKey,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewDeleteKey(c, store) },
			[]func() (httpapi.LambdaHandlerFunc, error){func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewDeleteKey(c, nil) }}},
		{httpapi.FunctionRotateKey,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewRotateKey(c, store, sealer) },
			[]func() (httpapi.LambdaHandlerFunc, error){
				func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewRotateKey(c, nil, sealer) },
				func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewRotateKey(c, store, nil) },
			}},
		{httpapi.FunctionOffboard,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewOffboardMember(c, store) },
			[]func() (httpapi.LambdaHandlerFunc, error){func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewOffboardMember(c, nil) }}},
		{httpapi.FunctionKeyPolicy,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewKeyPolicy(c, store) },
			[]func() (httpapi.LambdaHandlerFunc, error){func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewKeyPolicy(c, nil) }}},
		{httpapi.FunctionWhoAmI,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewWhoAmI(c, v) },
			[]func() (httpapi.LambdaHandlerFunc, error){func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewWhoAmI(c, nil) }}},
		{httpapi.FunctionSelfRotateKey,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewSelfRotateKey(c, v, store, sealer) },
			[]func() (httpapi.LambdaHandlerFunc, error){
				func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewSelfRotateKey(c, nil, store, sealer) },
				func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewSelfRotateKey(c, v, nil, sealer) },
				func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewSelfRotateKey(c, v, store, nil) },
			}},
		{httpapi.FunctionLeakReport,
			func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewLeakReport(c, store, leak.StaticKeys{}) },
			[]func() (httpapi.LambdaHandlerFunc, error){
				func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewLeakReport(c, nil, leak.StaticKeys{}) },
				func() (httpapi.LambdaHandlerFunc, error) { return httpapi.NewLeakReport(c, store, nil) },
			}},
	}
	if len(tests) != len(httpapi.Functions()) {
		t.Fatalf("%d constructors tested for %d functions", len(tests), len(httpapi.Functions()))
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			for i, build := range tt.lacking {
				if h, err := build(); err == nil || h != nil {
					t.Errorf("lacking dependency %d: got a handler, want an error", i)
				}
			}
			h, err := tt.complete()
			if err != nil {
				t.Fatalf("complete dependencies: %v", err)
			}
			invoke := h
			for _, route := range httpapi.Routes {
				path := route.Path
				for param, value := range map[string]string{"{teamId}": "t1", "{memberId}": "alice", "{accessKeyId}": "TKAKAAAAAAAAAAAAAAAAAAAA"} {
					path = strings.ReplaceAll(path, param, value)
				}
				resp, err := invoke(context.Background(), request{method: route.Method, path: path}.event())
				if err != nil {
					t.Fatalf("%s %s: %v", route.Method, path, err)
				}
				mine := route.Function == tt.function
				served := resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed
				if mine != served {
					t.Errorf("%s %s (function %s): status %d", route.Method, route.Path, route.Function, resp.StatusCode)
				}
			}
		})
	}
}
