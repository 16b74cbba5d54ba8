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

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/httplog"
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
}

// API is the http.Handler for everything under /v1/organizations.
type API struct {
	store   *state.Store
	auth    Authenticator
	authz   Authorizer
	log     *zap.Logger
	limits  bundle.Limits
	mux     *http.ServeMux
	maxBody int64
	// draining reports shutdown (never nil).
	draining func() bool

	// logged is serve behind the access log and request metrics.
	logged http.Handler
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
		draining: opts.Draining,
		store:    opts.Store, auth: opts.Auth, authz: opts.Authz, log: opts.Log, limits: lim,
		mux: http.NewServeMux(),
		// Room for the base64 JSON form (4/3) plus multipart/JSON framing.
		maxBody: lim.MaxArchiveBytes*4/3 + 1<<20,
	}
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
	a.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apierr.Write(w, apierr.NotFound("The requested URL %s was not found on this server (method %s).", r.URL.Path, r.Method))
	})
	return a, nil
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
	a.mux.ServeHTTP(w, r)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers a route guarded by a permission check.
func (a *API) handle(pattern, permission string, h handlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		resource := strings.TrimPrefix(r.URL.Path, "/v1/")
		if err := a.authz.Authorize(r.Context(), principalOf(r.Context()), permission, resource); err != nil {
			apierr.Write(w, err)
			return
		}
		if err := h(w, r); err != nil {
			e := apierr.From(err)
			if e.Code >= 500 {
				a.log.Error("request failed", zap.String("path", r.URL.Path), zap.Error(err))
			}
			apierr.Write(w, e)
		}
	})
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
	if err := json.Unmarshal(body, v); err != nil {
		return apierr.InvalidArgument("Invalid JSON payload received. %v", err)
	}
	return nil
}

// Name rules.
var (
	// Apigee's API proxy / shared flow name pattern.
	apiNameRE = regexp.MustCompile(`^[a-zA-Z0-9._\-$%]+$`)
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

func checkName(kind, name string, re *regexp.Regexp) error {
	if name == "" {
		return apierr.InvalidArgument("%s name is required.", kind)
	}
	if name == "." || name == ".." || !re.MatchString(name) {
		return apierr.InvalidArgument("Invalid %s name %q: it must match %s.", kind, name, re.String())
	}
	return nil
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
