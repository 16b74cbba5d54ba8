package mart

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/httproute"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/httplog"
	"github.com/hybrid-emulator/hybrid/pkg/lenientjson"
	"github.com/hybrid-emulator/hybrid/pkg/store"
)

// SecretHeader carries the shared secret on every /v1 call.
const SecretHeader = "X-Apigee-MART-Secret"

// PrincipalHeader optionally names the original caller (e.g. the service
// account that called the control plane); MART only logs it.
const PrincipalHeader = "X-Apigee-Principal"

// Options configure the API handler.
type Options struct {
	Org          string
	SharedSecret string
	KMS          *store.KMS
	KVM          *store.KVM
	Log          *zap.Logger
	Registerer   prometheus.Registerer
	MaxBodyBytes int64
}

// API serves /v1/organizations/{org}/… for one organization.
type API struct {
	org     string
	secret  []byte
	kms     *store.KMS
	kvm     *store.KVM
	log     *zap.Logger
	maxBody int64
	router  *httproute.Router
	// logged is serve behind the access log and request metrics.
	logged http.Handler
}

// NewAPI builds the handler.
func NewAPI(o Options) (*API, error) {
	if o.KMS == nil || o.KVM == nil || o.Org == "" {
		return nil, errors.New("mart: Org, KMS and KVM are required")
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	a := &API{
		org: o.Org, secret: []byte(o.SharedSecret), kms: o.KMS, kvm: o.KVM, log: o.Log, maxBody: o.MaxBodyBytes,
	}
	metrics := httplog.NewMetrics(
		"mart_requests_total", "MART API requests, by method and status code.",
		"mart_request_duration_seconds", "Latency of MART API requests.")
	if o.Registerer != nil {
		if err := metrics.Register(o.Registerer); err != nil {
			return nil, err
		}
	}
	a.logged = httplog.Handler(http.HandlerFunc(a.serve), httplog.Options{
		Log: a.log, Fields: logFields, Metrics: metrics,
	})
	a.router = httproute.New(a.unrouted)
	a.routes()
	return a, nil
}

// toAPIError maps store errors to HTTP: not found 404, duplicate 409,
// invalid 400, lost update race 409 ABORTED; anything else 500.
func toAPIError(err error) *apierr.Error {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return apierr.NotFound("%s", err.Error())
	case errors.Is(err, store.ErrAlreadyExists):
		return apierr.AlreadyExists("%s", err.Error())
	case errors.Is(err, store.ErrInvalid):
		return apierr.InvalidArgument("%s", err.Error())
	case errors.Is(err, store.ErrConflict):
		return apierr.Aborted("%s", err.Error())
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return apierr.Unavailable("The runtime data store did not answer in time: %v", err)
	}
	return apierr.Internal("Internal error: %v", err)
}

// errorWriter writes MART's errors: a 401 challenges for the shared
// secret, and the body has no trailing newline.
var errorWriter = apierr.Writer{Realm: "apigee-mart"}

func writeError(w http.ResponseWriter, e *apierr.Error) { errorWriter.Write(w, e) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		code, data = http.StatusInternalServerError, []byte(`{"error":{"code":500,"message":"cannot encode response","status":"INTERNAL"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_, _ = w.Write(data)
}

// ServeHTTP logs and meters every call, checks the shared secret, then
// routes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.logged.ServeHTTP(w, r) }

// logFields is one line per call with what hybrid's MART access log
// carries: path and query, status, method, client address and user agent
// (the Connect agent's is apigee-connect-agent-1.0, so `grep connect` finds
// the calls that came over the tether). Only the Apigee API's own query
// parameters keep their values in the log; any other value (a caller may
// put a key or a token anywhere) is logged as REDACTED.
func logFields(r *http.Request, rec httplog.Record) []zap.Field {
	return []zap.Field{
		zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.String("query", loggableQuery(r.URL.Query())),
		zap.Int("status", rec.Status), zap.String("userAgent", r.UserAgent()),
		zap.String("clientIP", clientIP(r)), zap.String("principal", principal(r)),
		zap.Int64("latencyMs", rec.Latency.Milliseconds()),
	}
}

// loggedParams are the query parameters of the MART API whose values are
// safe to log (paging, expansion, actions, filters).
var loggedParams = map[string]bool{
	"action": true, "expand": true, "count": true, "startKey": true, "pageSize": true, "pageToken": true,
	"status": true, "keyStatus": true, "apptype": true, "apiProduct": true, "includeCred": true, "shallowExpand": true,
	"rows": true,
}

// loggableQuery renders a query with the values of unknown parameters
// replaced, in a stable order.
func loggableQuery(q url.Values) string {
	if len(q) == 0 {
		return ""
	}
	safe := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if !loggedParams[k] {
				v = "REDACTED"
			}
			safe.Add(k, v)
		}
	}
	return safe.Encode()
}

// serve checks the shared secret and the body size, then routes.
func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(r) {
		msg := "Request is missing a valid MART shared secret (header " + SecretHeader + ")."
		if len(a.secret) == 0 {
			msg = "MART has no shared secret configured (auth.sharedSecret or HYBRID_MART_AUTH_SHAREDSECRET), so it refuses every API call."
		}
		writeError(w, apierr.Unauthenticated("%s", msg))
		return
	}
	if r.ContentLength > a.maxBody {
		writeError(w, tooLarge(a.maxBody))
		return
	}
	// Apigee's UI asks for collections with a trailing slash
	// (…/developers/?count=100); route them like the bare path.
	if p := r.URL.Path; len(p) > 1 && strings.HasSuffix(p, "/") {
		u := *r.URL
		u.Path = strings.TrimSuffix(u.Path, "/")
		u.RawPath = strings.TrimSuffix(u.RawPath, "/")
		r = r.WithContext(r.Context())
		r.URL = &u
	}
	a.router.ServeHTTP(w, r)
}

func (a *API) authorized(r *http.Request) bool {
	if len(a.secret) == 0 {
		return false
	}
	got := r.Header.Get(SecretHeader)
	return subtle.ConstantTimeCompare([]byte(got), a.secret) == 1
}

// unrouted tells 405 (the path exists for other methods) from 404. chi
// answers 405 for a method it does not know whatever the path, hence the
// probe.
func (a *API) unrouted(w http.ResponseWriter, r *http.Request) {
	for _, m := range a.router.Allowed(r) {
		if m != r.Method {
			writeError(w, apierr.Unimplemented("Method %s is not supported on %s.", r.Method, r.URL.Path))
			return
		}
	}
	writeError(w, apierr.NotFound("The requested URL %s was not found on this server.", r.URL.Path))
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		return xff + ", " + host
	}
	return host
}

func principal(r *http.Request) string {
	if p := r.Header.Get(PrincipalHeader); p != "" {
		return p
	}
	return "-"
}

func tooLarge(limit int64) *apierr.Error {
	return apierr.TooLarge("Request body is larger than %d bytes.", limit)
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle registers a route; the handler's error becomes a Google error
// response, and the path's org must be the one MART serves.
func (a *API) handle(pattern string, h handlerFunc) {
	a.route(pattern, func(w http.ResponseWriter, r *http.Request) {
		if org := r.PathValue("org"); org != a.org {
			writeError(w, apierr.NotFound("Organization %s is not served by this MART (it serves %s).", org, a.org))
			return
		}
		// apigeecli query-escapes a developer's email and then the URL is
		// escaped again ("a%2540b.com"); Apigee takes that as the email, so
		// the segment is unescaped once more when it still holds escapes.
		if d := r.PathValue("developer"); strings.Contains(d, "%") {
			if u, err := url.PathUnescape(d); err == nil {
				r.SetPathValue("developer", u)
			}
		}
		if err := h(w, r); err != nil {
			e := toAPIError(err)
			if e.Code >= 500 {
				a.log.Error("request failed", zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
			}
			writeError(w, e)
		}
	})
}

// route registers h for pattern ("METHOD /path"); the handler sees the
// path values decoded once, as net/http's mux gave them.
func (a *API) route(pattern string, h http.HandlerFunc) { a.router.Handle(pattern, h) }

// decode reads a JSON body into v. Bodies over the limit: 413; malformed
// JSON: 400; an empty body leaves v as is (required fields then fail).
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(mbe.Limit)
		}
		return apierr.InvalidArgument("Cannot read request body: %v", err)
	}
	if strings.TrimSpace(string(body)) == "" {
		return nil
	}
	if err := lenientjson.Unmarshal(body, v); err != nil {
		return apierr.InvalidArgument("Invalid JSON payload received. %v", err)
	}
	return nil
}

// Query parameters.

func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, apierr.InvalidArgument("Invalid value %q for query parameter %s: use true or false.", v, name)
	}
	return b, nil
}

// intParam reads a positive count; above max it is capped, as Apigee caps
// its page sizes.
func intParam(r *http.Request, name string, def, max int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, apierr.InvalidArgument("Invalid value %q for query parameter %s: use a positive integer.", v, name)
	}
	return min(n, max), nil
}

func ok(w http.ResponseWriter, v any) error { writeJSON(w, http.StatusOK, v); return nil }

func created(w http.ResponseWriter, v any) error { writeJSON(w, http.StatusCreated, v); return nil }

func noContent(w http.ResponseWriter) error { w.WriteHeader(http.StatusNoContent); return nil }
