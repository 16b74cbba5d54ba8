// Package apigee serves the public Apigee API (google.cloud.apigee.v1) the
// way real clients — Google's generated Go client and apigeecli — call it,
// plus the internal endpoints the runtime plane uses: runtime contracts for
// synchronizers and deployment status reports from watchers.
package apigee

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/hybrid-emulator/hybrid/pkg/httproute"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/analytics"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/httplog"
	"github.com/hybrid-emulator/hybrid/pkg/lenientjson"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Options configure the API handler.
type Options struct {
	Store *state.Store
	Auth  Authenticator
	// Authz defaults to AllowAll.
	Authz Authorizer
	Log   *zap.Logger
	// Limits for bundle validation (zero fields: bundle defaults).
	Limits bundle.Limits
	// Registerer receives request metrics when set.
	Registerer prometheus.Registerer
	// Draining, when set, reports that the service is shutting down, so
	// long-polls answer at once instead of holding the drain up.
	Draining func() bool
	// Analytics serves datalocation, stats and the analytics fault
	// switch (analytics.go); nil answers them 503.
	Analytics Analytics
	// DebugDataRetention is how long debug session data is kept after its
	// session ends (see SetDebugDataRetention).
	DebugDataRetention analytics.TraceRetention
}

// API is the http.Handler for everything under /v1/organizations.
type API struct {
	store   *state.Store
	auth    Authenticator
	authz   Authorizer
	log     *zap.Logger
	limits  bundle.Limits
	router  *httproute.Router
	maxBody int64
	// draining reports shutdown (never nil).
	draining func() bool
	// analytics is the analytics backend (nil: not configured).
	analytics Analytics
	// debugRetention is the debug data retention (SetDebugDataRetention).
	debugRetention atomic.Pointer[analytics.TraceRetention]

	// logged is serve behind the access log and request metrics.
	logged http.Handler
	// routeList records every route registered, in order (Routes).
	routeList []Route
}

// maxJSONBody bounds every request body that is not a bundle upload.
const maxJSONBody = 1 << 20

// New builds the handler.
func New(opts Options) (*API, error) {
	if opts.Store == nil || opts.Auth == nil {
		return nil, errors.New("apigee: Store and Auth are required")
	}
	if opts.Authz == nil {
		opts.Authz = AllowAll{}
	}
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	lim := opts.Limits
	def := bundle.DefaultLimits()
	if lim.MaxArchiveBytes <= 0 {
		lim.MaxArchiveBytes = def.MaxArchiveBytes
	}
	if opts.Draining == nil {
		opts.Draining = func() bool { return false }
	}
	a := &API{
		draining: opts.Draining, analytics: opts.Analytics,
		store: opts.Store, auth: opts.Auth, authz: opts.Authz, log: opts.Log, limits: lim,
		// Room for the base64 JSON form (4/3) plus multipart/JSON framing.
		maxBody: lim.MaxArchiveBytes*4/3 + 1<<20,
	}
	a.router = httproute.New(a.unmatched)
	a.SetDebugDataRetention(opts.DebugDataRetention)
	metrics := httplog.NewMetrics(
		"controlplane_api_requests_total", "Apigee API requests served by the mock control plane, by method and status code.",
		"controlplane_api_request_duration_seconds", "Latency of Apigee API requests served by the mock control plane.")
	if opts.Registerer != nil {
		if err := metrics.Register(opts.Registerer); err != nil {
			return nil, err
		}
		waiting := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "controlplane_contract_longpolls_waiting",
			Help: "Contract version long-polls currently waiting for a change.",
		}, func() float64 { return float64(opts.Store.Waiting()) })
		if err := opts.Registerer.Register(waiting); err != nil {
			return nil, err
		}
	}
	a.logged = httplog.Handler(http.HandlerFunc(a.serve), httplog.Options{
		Log: a.log, Fields: logFields, Metrics: metrics,
	})
	a.routes()
	return a, nil
}

// AlsoRoutes tells the API about routes served beside it on the same
// listener (register is called with a handle function, like
// (*iam.IAM).Register): requests that reach the API with a method those
// routes do not take get a 405 naming the ones they do.
func (a *API) AlsoRoutes(register func(handle func(pattern string, h http.Handler))) {
	register(func(pattern string, _ http.Handler) {
		a.addRoute(pattern, "", RouteBeside)
		// The listener hands these methods to the beside handler before
		// the API sees them; the route is here for the Allow list.
		a.route(pattern, http.HandlerFunc(a.unmatched))
	})
}

// unmatched answers requests no route takes: 405 with Allow when the path
// exists for other methods, else 404, both in Google's error shape.
func (a *API) unmatched(w http.ResponseWriter, r *http.Request) {
	if allow := a.router.Allowed(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		apierr.Write(w, apierr.Unimplemented("Method %s is not allowed on %s; it takes %s.", r.Method, r.URL.Path, strings.Join(allow, ", ")))
		return
	}
	notFound(w, r)
}

// notFound is Google's 404 for a path no route takes.
func notFound(w http.ResponseWriter, r *http.Request) {
	apierr.Write(w, apierr.NotFound("The requested URL %s was not found on this server (method %s).", r.URL.Path, r.Method))
}

type ctxKey struct{}

// reqInfo travels with a request so the access log knows the principal.
type reqInfo struct {
	principal Principal
}

func principalOf(ctx context.Context) Principal {
	if ri, ok := ctx.Value(ctxKey{}).(*reqInfo); ok {
		return ri.principal
	}
	return Principal{}
}

// ServeHTTP logs the request, authenticates it and routes it.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.logged.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, &reqInfo{})))
}

// logFields is the access log line: the principal is the one serve
// authenticated.
func logFields(r *http.Request, rec httplog.Record) []zap.Field {
	return []zap.Field{
		zap.String("method", r.Method), zap.String("path", r.URL.Path),
		zap.Int("status", rec.Status), zap.Duration("latency", rec.Latency),
		zap.String("principal", principalOf(r.Context()).Name), zap.Int64("bytes", rec.Bytes),
	}
}

// serve authenticates the request and routes it.
func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	p, err := a.auth.Authenticate(r)
	if err != nil {
		apierr.Write(w, err)
		return
	}
	if ri, ok := r.Context().Value(ctxKey{}).(*reqInfo); ok {
		ri.principal = p
	}
	a.router.ServeHTTP(w, r)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers a route guarded by a permission check on the resource
// the path names.
func (a *API) handle(pattern, permission string, h handlerFunc) {
	a.handleOn(pattern, permission, pathResource, h)
}

// pathResource is the relative resource name of the request path
// ("organizations/hybrid/apis").
func pathResource(r *http.Request) (string, error) {
	return strings.TrimPrefix(r.URL.Path, "/v1/"), nil
}

// msgInternal is what a 500 says: the detail (file paths of the state
// directory, …) goes to the log only.
const msgInternal = "Internal error encountered."

// handleOn registers a route whose permission is checked on the resource
// that resource returns (e.g. the parent project of a create); an error
// from resource is the answer, before any permission check.
func (a *API) handleOn(pattern, permission string, resource func(r *http.Request) (string, error), h handlerFunc) {
	a.addRoute(pattern, permission, RouteAPI)
	a.route(pattern, a.guarded(permission, resource, h))
}

// guarded is handleOn's check-then-serve: the permission on the resource,
// then h, whose error becomes Google's error JSON.
func (a *API) guarded(permission string, resource func(r *http.Request) (string, error), h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		res, err := resource(r)
		if err == nil {
			err = a.authz.Authorize(r.Context(), principalOf(r.Context()), permission, res)
		}
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			e := apierr.From(err)
			if e.Code >= 500 {
				a.log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
			}
			if e.Code == http.StatusInternalServerError {
				e = apierr.Internal(msgInternal)
			}
			apierr.Write(w, e)
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return apierr.Internal("encode response: %v", err)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(data)
	return nil
}

func ok(w http.ResponseWriter, v any) error { return writeJSON(w, http.StatusOK, v) }

// readBody reads a request body of at most limit bytes.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apierr.TooLarge("Request body is larger than %d bytes.", mbe.Limit)
		}
		return nil, apierr.InvalidArgument("Cannot read request body: %v", err)
	}
	return data, nil
}

// decodeJSON reads a JSON request body into v. An empty body leaves v as is.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := readBody(w, r, maxJSONBody)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := lenientjson.Unmarshal(body, v); err != nil {
		return apierr.InvalidArgument("Invalid JSON payload received. %v", err)
	}
	return nil
}

// Name rules.
var (
	// API proxy and shared flow names: the characters the Apigee API
	// reference allows for apis.create's name ("A-Za-z0-9._-"), at most
	// 255 of them (a name is a file name of the state directory too).
	apiNameRE = regexp.MustCompile(`^[a-zA-Z0-9._\-]{1,255}$`)
	// Environment names: ^[.\p{Alnum}-_]{1,255}$.
	envNameRE = regexp.MustCompile(`^[.a-zA-Z0-9_\-]{1,255}$`)
	// Environment group names: lower-case letters, digits and hyphens.
	groupNameRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
	// Organization names: GCP project id style.
	orgNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	// Hostnames of environment groups: DNS names, optionally with a leading
	// wildcard label, or IP addresses.
	hostnameRE = regexp.MustCompile(`^(\*\.)?[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*$|^[0-9a-fA-F:]+$`)
)

// maxNameLen bounds every name the API takes.
const maxNameLen = 255

func checkName(kind, name string, re *regexp.Regexp) error {
	if name == "" {
		return apierr.InvalidField("name", "%s name is required.", kind)
	}
	if n := utf8.RuneCountInString(name); n > maxNameLen {
		return apierr.InvalidField("name", "Invalid %s name %q…: it is %d characters long; the limit is %d.", kind, truncate(name, 32), n, maxNameLen)
	}
	if name == "." || name == ".." || !re.MatchString(name) {
		return apierr.InvalidField("name", "Invalid %s name %q: it must match %s.", kind, name, re.String())
	}
	return nil
}

// truncate keeps the first n runes of s.
func truncate(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// lookupOrg returns the org or NOT_FOUND.
func lookupOrg(d *state.Data, org string) (*state.Org, error) {
	o := d.Orgs[org]
	if o == nil {
		return nil, apierr.NotFound("Organization %s not found.", org)
	}
	return o, nil
}

func lookupEnv(o *state.Org, env string) (*state.Environment, error) {
	e := o.Environments[env]
	if e == nil {
		return nil, apierr.NotFound("environment %s not found in organization %s", env, o.Name)
	}
	return e, nil
}

func parseRevision(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || strconv.Itoa(n) != s {
		return 0, apierr.InvalidArgument("Invalid revision %q: must be a positive integer.", s)
	}
	return n, nil
}

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, apierr.InvalidArgument("Invalid value %q for query parameter %s.", v, name)
	}
	return b, nil
}
