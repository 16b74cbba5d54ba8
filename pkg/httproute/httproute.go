// Package httproute routes Google-style REST APIs on chi with the
// behaviour the control plane's and MART's clients rely on from net/http's
// mux: patterns in net/http's syntax ("GET /v1/{name}", {name...},
// {$}), GET routes that take HEAD, r.PathValue decoded exactly once, and
// routing on percent-decoded segments. chi matches Google's custom methods
// ("/organizations/{org}:getSyncAuthorization") natively, which is why it
// replaced the standard mux.
package httproute

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
)

// Router is a chi router taking net/http-style patterns.
type Router struct {
	mux *chi.Mux
}

// New returns a router whose unmatched requests (no route for the path, or
// none for the method) go to unmatched, which can tell them apart with
// Allowed.
func New(unmatched http.HandlerFunc) *Router {
	mux := chi.NewRouter()
	mux.NotFound(unmatched)
	mux.MethodNotAllowed(unmatched)
	return &Router{mux: mux}
}

// Handle registers h for pattern ("METHOD /path"; no method: all of
// them). A GET route takes HEAD too, as on net/http's mux.
func (r *Router) Handle(pattern string, h http.Handler) {
	method, path, found := strings.Cut(pattern, " ")
	if !found {
		method, path = "", pattern
	}
	path, rest := chiPath(path)
	h = withPathValues(rest, h)
	switch method {
	case "":
		r.mux.Handle(path, h)
	case http.MethodGet:
		r.mux.Method(http.MethodHead, path, h)
		fallthrough
	default:
		r.mux.Method(method, path, h)
	}
}

// ServeHTTP routes req on its percent-decoded segments (RoutingPath).
func (r *Router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	rctx := chi.NewRouteContext()
	rctx.RoutePath = RoutingPath(req.URL)
	r.mux.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), chi.RouteCtxKey, rctx)))
}

// probeMethods are the methods Allowed tries.
var probeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// Allowed lists the methods some route takes for req's path, for a 405's
// Allow header (chi hands its 405 handler no such list).
func (r *Router) Allowed(req *http.Request) []string {
	var allow []string
	path := RoutingPath(req.URL)
	for _, m := range probeMethods {
		if r.mux.Match(chi.NewRouteContext(), m, path) {
			allow = append(allow, m)
		}
	}
	return allow
}

// chiPath translates a pattern path to chi's syntax: {name...} becomes
// chi's catch-all "*" (rest is the name it stands for), {$} the bare
// trailing slash.
func chiPath(path string) (chiPath, rest string) {
	path = strings.TrimSuffix(path, "{$}")
	if i := strings.LastIndex(path, "/{"); i >= 0 && strings.HasSuffix(path, "...}") {
		rest = path[i+2 : len(path)-len("...}")]
		path = path[:i+1] + "*"
	}
	return path, rest
}

// withPathValues sets the request's path values from chi's URL
// parameters, decoded (chi keeps the encoded text of a segment that
// RoutingPath left encoded), so handlers read r.PathValue as on
// net/http's mux.
func withPathValues(rest string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rctx := chi.RouteContext(r.Context()); rctx != nil {
			for i, k := range rctx.URLParams.Keys {
				v := rctx.URLParams.Values[i]
				if d, err := url.PathUnescape(v); err == nil {
					v = d
				}
				if k == "*" {
					k = rest
				}
				if k != "" {
					r.SetPathValue(k, v)
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

// segmentEscaper keeps the characters RoutingPath must not decode.
var segmentEscaper = strings.NewReplacer("%", "%25", "/", "%2F")

// RoutingPath is the path routes match: each segment percent-decoded, as
// net/http's mux matched them (…/hybrid%3AgetSyncAuthorization is still
// the custom method), except that an encoded "/" or "%" stays encoded, so
// a segment stays one segment and a value decodes exactly once
// (apigeecli's double-encoded developers/a%2540b.com is the developer
// "a%40b.com", which MART decodes again). chi would otherwise match the
// raw path when there is one, and the decoded path when not.
func RoutingPath(u *url.URL) string {
	segs := strings.Split(u.EscapedPath(), "/")
	for i, s := range segs {
		if !strings.Contains(s, "%") {
			continue
		}
		if d, err := url.PathUnescape(s); err == nil {
			segs[i] = segmentEscaper.Replace(d)
		}
	}
	return strings.Join(segs, "/")
}
