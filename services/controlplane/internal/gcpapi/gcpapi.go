// Package gcpapi is the request plumbing and filter lexing shared by the
// control plane's mock Google Cloud APIs (Cloud Monitoring, Cloud
// Logging): who may call on a project, how a JSON body is read and an
// answer written, and how a filter string splits into tokens. What the
// APIs mean (their fields, filter semantics and stores) stays in their
// packages; this one only makes them answer alike, as Google's front end
// does for every API.
package gcpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
)

// Authorizer is the emulated IAM as the APIs use it (*iam.IAM).
type Authorizer interface {
	AuthenticateFor(r *http.Request, audience string) (iam.Principal, error)
	Authorize(ctx context.Context, p iam.Principal, permission, resource string) error
}

// Projects tells which projects exist.
type Projects interface {
	ProjectExists(project string) bool
}

// Gate admits callers to an API's projects. Its zero value lets everyone
// in, which is what unit tests of an API's behaviour want.
type Gate struct {
	// Auth authenticates and authorizes callers; nil admits every caller
	// as iam.AdminPrincipal.
	Auth Authorizer
	// Projects, when set, makes calls on other projects a 404.
	Projects Projects
	// Audience is the API's self-signed JWT audience.
	Audience string
}

// Authenticate identifies the caller: a 401 without credentials. APIs call
// it before reading the body, as Google's front end answers a 401 first.
func (g Gate) Authenticate(r *http.Request) (iam.Principal, error) {
	if g.Auth == nil {
		return iam.AdminPrincipal, nil
	}
	return g.Auth.AuthenticateFor(r, g.Audience)
}

// Authorize admits p to permission on each project ("projects/{id}" to the
// IAM), in order: the IAM's 403 without it, then a 404 for a project that
// does not exist. Only admins get as far as the 404: IAM denies everyone
// else on an unknown project, as Google does, so the 404 leaks nothing.
func (g Gate) Authorize(ctx context.Context, p iam.Principal, permission string, projects ...string) error {
	for _, id := range projects {
		if g.Auth != nil {
			if err := g.Auth.Authorize(ctx, p, permission, "projects/"+id); err != nil {
				return err
			}
		}
		if g.Projects != nil && !g.Projects.ProjectExists(id) {
			return apierr.NotFound("Project %s does not exist or is not reachable.", id)
		}
	}
	return nil
}

// WriteCounter returns the counter of what an API stores, registered with
// reg when reg is set: a store without a registry (a unit test's) still
// counts, so its tests can read the counter.
func WriteCounter(reg prometheus.Registerer, name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	if reg != nil {
		reg.MustRegister(c)
	}
	return c
}

// MethodNotAllowed answers any method on a route other than allow (e.g.
// "GET, POST") in Google's error shape. Registered on the bare path, it
// also keeps a mux whose "/" is another API from answering for it.
func MethodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		apierr.Write(w, apierr.Unimplemented("Method %s is not allowed on %s; it takes %s.", r.Method, r.URL.Path, allow))
	})
}

// WriteJSON answers v as JSON, or a 500 in Google's error shape when v
// does not encode (nothing is written before it is known to encode).
func WriteJSON(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		apierr.Write(w, apierr.Internal("encode response: %v", err))
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(data)
}

// DecodeBody reads a JSON body of at most limit bytes into v, refusing
// unknown fields as the real APIs do ("Invalid JSON payload received.
// Unknown name …"): a field the mock would ignore is one Google would
// refuse. An empty body is an error (the JSON decoder's EOF).
func DecodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	raw, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	return unmarshalStrict(raw, v)
}

// DecodeOptionalBody is DecodeBody for methods whose every field is
// optional: an empty body (or only white space) is the empty request and
// leaves v as it is, rather than a JSON error, so the method answers it
// with its own validation.
func DecodeOptionalBody(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	raw, err := readBody(w, r, limit)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	return unmarshalStrict(raw, v)
}

// readBody reads the whole body, a 413 past limit (the reader also makes
// the server close the connection rather than drain an oversized body).
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, apierr.TooLarge("Request payload size exceeds the limit: %d bytes.", mbe.Limit)
		}
		return nil, apierr.InvalidArgument("Cannot read request body: %v", err)
	}
	return raw, nil
}

func unmarshalStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return apierr.InvalidArgument("Invalid JSON payload received. %v", err)
	}
	return nil
}
