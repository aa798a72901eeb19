package httpapi

import (
	"log/slog"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
)

// Router serves routes with net/http's ServeMux and answers unknown paths
// (404) and wrong methods (405) in the error shape, where ServeMux would
// answer in plain text.
func Router(routes []Route, handlerFor func(Route) http.Handler, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	byPath := map[string]map[string]http.Handler{}
	var paths []string
	for _, rt := range routes {
		if byPath[rt.Path] == nil {
			byPath[rt.Path] = map[string]http.Handler{}
			paths = append(paths, rt.Path)
		}
		byPath[rt.Path][rt.Method] = handlerFor(rt)
	}
	for _, p := range paths {
		methods := byPath[p]
		allowHeader := strings.Join(slices.Sorted(maps.Keys(methods)), ", ")
		mux.HandleFunc(p, func(w http.ResponseWriter, r *http.Request) {
			h, ok := methods[r.Method]
			if !ok {
				w.Header().Set("Allow", allowHeader)
				WriteError(w, log, RequestID(r.Context()), ErrMethodNotAllowed)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	notFound := func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, log, RequestID(r.Context()), ErrRouteNotFound)
	}
	mux.HandleFunc("/", notFound)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeMux redirects unclean paths ("//", "/../"); an API answers
		// them as unknown instead.
		if p := r.URL.EscapedPath(); p != "/" && path.Clean(p) != p {
			notFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
