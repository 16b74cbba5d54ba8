package apigee

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/analyticsfile"
	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Analytics is the analytics backend the API serves UDCA's datalocation,
// the stats API and the analytics fault switch from (the server wires
// the mock storage, the ingest and the store behind it).
type Analytics interface {
	// SignedURL signs an upload of an environment's buffer file; base is
	// the scheme and host the caller reached this API at.
	SignedURL(base, org, env, dataset, file string) (signed, destination string, expiry time.Time, err error)
	// Stats answers a stats query; dims is the comma-joined dimensions.
	Stats(ctx context.Context, org, env, dims string, params url.Values) (any, error)
	// SetFault makes a service of the analytics path (FaultStorage,
	// FaultDataLocation) answer status for an organization (0 clears).
	SetFault(org, service string, status int) error
	// Fault is the status set for a service (0: none).
	Fault(org, service string) int
}

// The services the analytics fault switch can break.
const (
	FaultStorage      = "storage"
	FaultDataLocation = "datalocation"
)

// PermInjectFaults guards the emulator's fault switch (no Apigee
// equivalent: a test switch, held by owners and org admins).
const PermInjectFaults = "apigee.emulator.injectFaults"

// signedURLTTL is how long a datalocation URL is good for.
const signedURLTTL = 15 * time.Minute

type dataLocationView struct {
	URL         string `json:"url"`
	Destination string `json:"destination"`
	Expiry      string `json:"expiry"`
}

// dataLocation serves GET {o}/environments/{env}/datalocation
// ?repo=edge&dataset=api&relative_file_path={file}: a signed URL to PUT
// one of UDCA's buffer files to. The file must be named for this
// organization, environment and dataset.
func (a *API) dataLocation(w http.ResponseWriter, r *http.Request) error {
	if a.analytics == nil {
		return apierr.Unavailable("Analytics is not configured on this control plane.")
	}
	org, env := r.PathValue("org"), r.PathValue("env")
	if err := a.viewEnv(r, func(*state.Org, *state.Environment) error { return nil }); err != nil {
		return err
	}
	if code := a.analytics.Fault(org, FaultDataLocation); code != 0 {
		return apierr.New(code, statusName(code), "%s \"organizations/%s/environments/%s/datalocation\" (or it may not exist)", http.StatusText(code), org, env)
	}
	q := r.URL.Query()
	if repo := q.Get("repo"); repo != "edge" {
		return apierr.InvalidField("repo", "Invalid repo %q: edge is the only repository.", repo)
	}
	ds := q.Get("dataset")
	if !analyticsfile.ValidDataset(ds) {
		return apierr.InvalidField("dataset", "Invalid dataset %q: one of api, trace, event.", ds)
	}
	file := q.Get("relative_file_path")
	n, err := analyticsfile.ParseName(file)
	if err != nil {
		return apierr.InvalidField("relative_file_path", "Invalid relative_file_path: %v.", err)
	}
	if n.Org != org || n.Env != env || n.Dataset != ds {
		return apierr.InvalidField("relative_file_path", "relative_file_path %q names %s/%s dataset %s, not this environment's %s dataset.", file, n.Org, n.Env, n.Dataset, ds)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	signed, dest, exp, err := a.analytics.SignedURL(scheme+"://"+r.Host, org, env, ds, file)
	if err != nil {
		return err
	}
	return ok(w, dataLocationView{URL: signed, Destination: dest, Expiry: exp.UTC().Format(time.RFC3339)})
}

// getStats serves GET {o}/environments/{env}/stats/{dimensions}
// (organizations.environments.stats.get).
func (a *API) getStats(w http.ResponseWriter, r *http.Request) error {
	if a.analytics == nil {
		return apierr.Unavailable("Analytics is not configured on this control plane.")
	}
	if err := a.viewEnv(r, func(*state.Org, *state.Environment) error { return nil }); err != nil {
		return err
	}
	out, err := a.analytics.Stats(r.Context(), r.PathValue("org"), r.PathValue("env"), r.PathValue("dimensions"), r.URL.Query())
	if err != nil {
		return err
	}
	return ok(w, out)
}

type faultView struct {
	Service    string `json:"service"`
	HTTPStatus int    `json:"httpStatus"`
}

// setFault serves PUT {o}/emulator/faults/{service} {"httpStatus": 500}:
// the analytics path's test switch (storage or datalocation answer that
// status for the organization until DELETE clears it).
func (a *API) setFault(w http.ResponseWriter, r *http.Request) error {
	var in faultView
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.HTTPStatus < 400 || in.HTTPStatus > 599 {
		return apierr.InvalidField("httpStatus", "httpStatus must be an error status (400-599).")
	}
	return a.applyFault(w, r, in.HTTPStatus)
}

// clearFault serves DELETE {o}/emulator/faults/{service}.
func (a *API) clearFault(w http.ResponseWriter, r *http.Request) error { return a.applyFault(w, r, 0) }

func (a *API) applyFault(w http.ResponseWriter, r *http.Request, status int) error {
	if a.analytics == nil {
		return apierr.Unavailable("Analytics is not configured on this control plane.")
	}
	if err := a.viewOrg(r, func(*state.Org) error { return nil }); err != nil {
		return err
	}
	svc := r.PathValue("service")
	if svc != FaultStorage && svc != FaultDataLocation {
		return apierr.NotFound("Unknown fault service %q: storage or datalocation.", svc)
	}
	if err := a.analytics.SetFault(r.PathValue("org"), svc, status); err != nil {
		return err
	}
	return ok(w, faultView{Service: svc, HTTPStatus: status})
}

// statusName is Google's canonical code for an HTTP status.
func statusName(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	}
	if code >= 500 {
		return "INTERNAL"
	}
	return "FAILED_PRECONDITION"
}
