// Package emulator serves the Apigee Emulator's control API under
// /v1/emulator/ on the mock control plane, so tooling written for Google's
// emulator (the Cloud Code extension, the curl scripts of devrel pipelines)
// can drive this one: deploy a workspace zip, load test data, read the
// test apps' keys, look at what is deployed, reset, and trace.
//
// Every call is carried out with the Apigee API's own requests (package
// workspace's Applier) sent in-process to the control plane's API
// handler, with the caller's credentials: the emulator API adds no way
// around the API's validation or its authorization. Unlike Google's
// emulator, which has no authentication, every call needs a bearer token
// (the admin token, or a principal allowed apigee.emulator.injectFaults).
package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/workspace"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/apigee"
)

// Prefix is where the emulator API is served. /v1/emulator/outage (the
// outage switch, package faults) is registered on its own, more specific
// pattern and is not this package's.
const Prefix = "/v1/emulator/"

// Options configure the emulator API.
type Options struct {
	// API is the control plane's Apigee API handler, called in-process.
	API http.Handler
	// Authorize vets every call (nil refuses every call).
	Authorize func(r *http.Request) error
	// Org is the organization the emulator stands for; ?organization=
	// chooses another.
	Org string
	// Env receives a deployment whose environment the organization lacks
	// (Cloud Code's folders are often named local or dev), and the test
	// data's environment maps.
	Env string
	// Version is reported by /v1/emulator/version.
	Version string
	// DeployWait bounds how long deploy waits for the runtime to report
	// the deployments READY (Google's emulator answers once they serve).
	DeployWait time.Duration
}

// Emulator is the emulator API's handler.
type Emulator struct {
	opts Options
	mux  *http.ServeMux

	mu sync.Mutex
	// testData is what setup/tests loaded last, per organization: what
	// test/developerapps and test/maps show and clear/test deletes.
	testData map[string]*loaded
	// revisions counts each environment's deploys (the emulator answers a
	// deploy with the environment's new revision).
	revisions map[string]int
	// traces maps a trace session to its debug session.
	traces map[string]traceRef
}

type loaded struct {
	data *workspace.TestData
	env  string
}

type traceRef struct{ org, env, api, rev string }

// New returns the emulator API.
func New(opts Options) *Emulator {
	if opts.Env == "" {
		opts.Env = "test"
	}
	if opts.Version == "" {
		opts.Version = "hybrid-emulator"
	}
	e := &Emulator{opts: opts, mux: http.NewServeMux(), testData: map[string]*loaded{}, revisions: map[string]int{}, traces: map[string]traceRef{}}
	h := func(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
		e.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			if err := fn(w, r); err != nil {
				apierr.Write(w, err)
			}
		})
	}
	h("GET /v1/emulator/healthz", e.healthz)
	h("GET /v1/emulator/version", e.version)
	h("POST /v1/emulator/deploy", e.deploy)
	h("POST /v1/emulator/setup/tests", e.setupTests)
	h("GET /v1/emulator/test/developerapps", e.testApps)
	h("GET /v1/emulator/test/maps", e.testMaps)
	h("DELETE /v1/emulator/clear/test", e.clearTest)
	h("POST /v1/emulator/clear/test", e.clearTest)
	h("POST /v1/emulator/reset", e.reset)
	h("GET /v1/emulator/tree", e.tree)
	h("POST /v1/emulator/trace", e.startTrace)
	h("GET /v1/emulator/trace/transactions", e.traceTransactions)
	h("DELETE /v1/emulator/trace", e.stopTrace)
	h("/v1/emulator/", func(http.ResponseWriter, *http.Request) error {
		return apierr.NotFound("No such emulator endpoint (see docs/SEED_FOLDERS.md).")
	})
	return e
}

// ServeHTTP authorizes the call, then serves it.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e.opts.Authorize == nil {
		apierr.Write(w, apierr.PermissionDenied("The emulator API is not enabled."))
		return
	}
	if err := e.opts.Authorize(r); err != nil {
		apierr.Write(w, err)
		return
	}
	e.mux.ServeHTTP(w, r)
}

// applier sends the caller's own credentials to the API in-process.
func (e *Emulator) applier(r *http.Request, wait time.Duration) *workspace.Applier {
	h := http.Header{}
	if v := r.Header.Get("Authorization"); v != "" {
		h.Set("Authorization", v)
	}
	return &workspace.Applier{
		Client:  &http.Client{Transport: workspace.HandlerTransport{Handler: e.opts.API}},
		BaseURL: "http://controlplane.internal", Org: e.org(r), Header: h, Wait: wait,
	}
}

func (e *Emulator) org(r *http.Request) string {
	if o := r.URL.Query().Get("organization"); o != "" {
		return o
	}
	return e.opts.Org
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// apiError turns a refused in-process call into the same answer for our
// caller (the message already names the call).
func apiError(err error) error {
	var ae *workspace.APIError
	if errors.As(err, &ae) {
		code := ae.Code
		if code == "" {
			code = "FAILED_PRECONDITION"
		}
		return apierr.New(ae.Status, code, "%s", ae.Message)
	}
	var ae2 *apierr.Error
	if errors.As(err, &ae2) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	// The workspace asks for something it cannot have (an environment
	// folder it lacks, a deployment that failed or never became READY).
	return apierr.FailedPrecondition("%v", err)
}

func (e *Emulator) healthz(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (e *Emulator) version(w http.ResponseWriter, _ *http.Request) error {
	return writeJSON(w, http.StatusOK, map[string]string{"version": e.opts.Version})
}

// readZip reads a zip sent raw (application/zip, application/octet-stream,
// curl --data-binary) or as the "file" part of a multipart form (curl -F).
func readZip(r *http.Request) ([]byte, error) {
	body := http.MaxBytesReader(nil, r.Body, workspace.MaxZipBytes+1<<20)
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return nil, apierr.InvalidArgument("The multipart body has no file part.")
			}
			if err != nil {
				return nil, apierr.InvalidArgument("Cannot read the multipart body: %v", err)
			}
			if part.FormName() == "file" || part.FileName() != "" {
				data, err := io.ReadAll(part)
				if err != nil {
					return nil, apierr.InvalidArgument("Cannot read the file part: %v", err)
				}
				return data, nil
			}
		}
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return nil, apierr.InvalidArgument("Cannot read the request body: %v", err)
	}
	if len(data) == 0 {
		return nil, apierr.InvalidArgument("The request body is empty: send the zip.")
	}
	return data, nil
}

// envExists reports whether the organization has env.
func envExists(ctx context.Context, a *workspace.Applier, env string) (bool, error) {
	_, err := a.Call(ctx, http.MethodGet, "/environments/"+url.PathEscape(env), nil, nil)
	if workspace.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// deploy applies environments/<environment>/ of a workspace zip (Cloud
// Code sends src/main/apigee) to the environment, as Google's emulator
// does: the environment then runs what the zip lists and nothing else.
func (e *Emulator) deploy(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	env := r.URL.Query().Get("environment")
	if env == "" {
		return apierr.InvalidField("environment", "Missing the environment query parameter.")
	}
	data, err := readZip(r)
	if err != nil {
		return err
	}
	plan, err := workspace.ParseZip(data)
	if err != nil {
		return apierr.InvalidArgument("%v", err)
	}
	a := e.applier(r, e.opts.DeployWait)
	opts := workspace.ApplyOptions{SkipTestData: true, DefaultEnv: env}
	if len(plan.Envs) > 0 {
		opts.Env = env
	}
	target := env
	ok, err := envExists(ctx, a, env)
	if err != nil {
		return apiError(err)
	}
	if !ok {
		target = e.opts.Env
	}
	opts.TargetEnv, opts.DefaultEnv = target, target
	res, err := a.Apply(ctx, plan, opts)
	if err != nil {
		return apiError(err)
	}
	// What the environment ran before and the zip no longer lists goes.
	keep := map[string]bool{}
	for _, c := range res.Changes {
		if c.Kind == "proxy" || c.Kind == "sharedflow" {
			keep[c.Kind+"/"+c.Name] = true
		}
	}
	removed, err := e.undeployAll(ctx, a, target, func(kind, name string) bool { return !keep[kind+"/"+name] })
	if err != nil {
		return apiError(err)
	}
	e.mu.Lock()
	key := a.Org + "/" + target
	e.revisions[key]++
	rev := e.revisions[key]
	e.mu.Unlock()
	return writeJSON(w, http.StatusOK, map[string]any{
		"environment": target, "revision": strconv.Itoa(rev), "changes": res.Changes, "undeployed": removed,
	})
}

type deployment struct {
	APIProxy string `json:"apiProxy"`
	Revision string `json:"revision"`
	State    string `json:"state"`
}

func (e *Emulator) deployments(ctx context.Context, a *workspace.Applier, env string, sharedFlows bool) ([]deployment, error) {
	var out struct {
		Deployments []deployment `json:"deployments"`
	}
	_, err := a.Call(ctx, http.MethodGet, "/environments/"+url.PathEscape(env)+"/deployments?sharedFlows="+strconv.FormatBool(sharedFlows), nil, &out)
	return out.Deployments, err
}

// undeployAll undeploys env's deployments that drop says to (proxies
// first: a shared flow may be in use by one).
func (e *Emulator) undeployAll(ctx context.Context, a *workspace.Applier, env string, drop func(kind, name string) bool) ([]string, error) {
	var removed []string
	for _, k := range []struct {
		kind, coll string
		shared     bool
	}{{"proxy", "apis", false}, {"sharedflow", "sharedflows", true}} {
		deps, err := e.deployments(ctx, a, env, k.shared)
		if err != nil {
			return removed, err
		}
		for _, d := range deps {
			if !drop(k.kind, d.APIProxy) {
				continue
			}
			path := "/environments/" + url.PathEscape(env) + "/" + k.coll + "/" + url.PathEscape(d.APIProxy) + "/revisions/" + d.Revision + "/deployments"
			if _, err := a.Call(ctx, http.MethodDelete, path, nil, nil); err != nil && !workspace.IsNotFound(err) {
				return removed, err
			}
			removed = append(removed, k.kind+" "+d.APIProxy)
		}
	}
	return removed, nil
}

// setupTests loads a test bundle zip, replacing the test data loaded
// before: what the new bundle no longer names is deleted, the rest is
// created or updated (unchanged items are left alone).
func (e *Emulator) setupTests(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	data, err := readZip(r)
	if err != nil {
		return err
	}
	td, err := workspace.ParseTestDataZip(data)
	if err != nil {
		return apierr.InvalidArgument("%v", err)
	}
	a := e.applier(r, 0)
	env := r.URL.Query().Get("environment")
	if env == "" {
		env = e.opts.Env
	} else if ok, err := envExists(ctx, a, env); err != nil {
		return apiError(err)
	} else if !ok {
		env = e.opts.Env
	}
	e.mu.Lock()
	prev := e.testData[a.Org]
	e.mu.Unlock()
	res, err := a.ApplyTestData(ctx, td, env)
	if err != nil {
		return apiError(err)
	}
	if prev != nil {
		gone := minus(prev.data, td)
		del, err := a.DeleteTestData(ctx, gone, prev.env)
		if err != nil {
			return apiError(err)
		}
		res.Changes = append(res.Changes, del.Changes...)
	}
	e.mu.Lock()
	e.testData[a.Org] = &loaded{data: td, env: env}
	e.mu.Unlock()
	return writeJSON(w, http.StatusOK, map[string]any{"changes": res.Changes})
}

// minus is what old names and cur does not.
func minus(old, cur *workspace.TestData) *workspace.TestData {
	has := map[string]bool{}
	for _, p := range cur.Products {
		has["p/"+p.Key] = true
	}
	for _, d := range cur.Developers {
		has["d/"+d.Key] = true
	}
	for _, a := range cur.Apps {
		has["a/"+a.Developer+"/"+a.Name] = true
	}
	for _, m := range cur.Maps {
		has["m/"+m.Scope+"/"+m.Env+"/"+m.API+"/"+m.Name] = true
	}
	out := &workspace.TestData{}
	for _, p := range old.Products {
		if !has["p/"+p.Key] {
			out.Products = append(out.Products, p)
		}
	}
	for _, d := range old.Developers {
		if !has["d/"+d.Key] {
			out.Developers = append(out.Developers, d)
		}
	}
	for _, a := range old.Apps {
		if !has["a/"+a.Developer+"/"+a.Name] {
			out.Apps = append(out.Apps, a)
		}
	}
	for _, m := range old.Maps {
		if !has["m/"+m.Scope+"/"+m.Env+"/"+m.API+"/"+m.Name] {
			out.Maps = append(out.Maps, m)
		}
	}
	return out
}

func (e *Emulator) loadedData(org string) *loaded {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.testData[org]
}

// testApps lists the loaded test data's apps as the API returns them,
// with their credentials (.[0].credentials[0].consumerKey is how scripts
// read a key to call with).
func (e *Emulator) testApps(w http.ResponseWriter, r *http.Request) error {
	a := e.applier(r, 0)
	out := []json.RawMessage{}
	if l := e.loadedData(a.Org); l != nil {
		for _, app := range l.data.Apps {
			data, err := a.Call(r.Context(), http.MethodGet, "/developers/"+url.PathEscape(app.Developer)+"/apps/"+url.PathEscape(app.Name), nil, nil)
			if workspace.IsNotFound(err) {
				continue
			}
			if err != nil {
				return apiError(err)
			}
			out = append(out, data)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// testMaps lists the loaded maps with their keys, without values (as
// Google's emulator answers).
func (e *Emulator) testMaps(w http.ResponseWriter, r *http.Request) error {
	type entry struct {
		Name string `json:"name"`
	}
	type kvm struct {
		Name        string  `json:"name"`
		Scope       string  `json:"scope"`
		Environment string  `json:"environment,omitempty"`
		Proxy       string  `json:"proxy,omitempty"`
		Entry       []entry `json:"entry"`
	}
	out := []kvm{}
	a := e.applier(r, 0)
	if l := e.loadedData(a.Org); l != nil {
		for _, m := range l.data.Maps {
			env := m.Env
			if m.Scope == "environment" && env == "" {
				env = l.env
			}
			k := kvm{Name: m.Name, Scope: m.Scope, Environment: env, Proxy: m.API, Entry: []entry{}}
			for _, en := range m.Entries {
				k.Entry = append(k.Entry, entry{Name: en.Name})
			}
			out = append(out, k)
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

func (e *Emulator) clearTest(w http.ResponseWriter, r *http.Request) error {
	a := e.applier(r, 0)
	res, err := e.clear(r.Context(), a)
	if err != nil {
		return apiError(err)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"changes": res})
}

func (e *Emulator) clear(ctx context.Context, a *workspace.Applier) ([]workspace.Change, error) {
	l := e.loadedData(a.Org)
	if l == nil {
		return []workspace.Change{}, nil
	}
	res, err := a.DeleteTestData(ctx, l.data, l.env)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	delete(e.testData, a.Org)
	e.mu.Unlock()
	return res.Changes, nil
}

// reset empties the runtime as Google's emulator's reset does: every
// deployment of every environment of the organization is undeployed and
// the loaded test data deleted.
func (e *Emulator) reset(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a := e.applier(r, 0)
	envs, err := e.envs(ctx, a)
	if err != nil {
		return apiError(err)
	}
	var removed []string
	for _, env := range envs {
		got, err := e.undeployAll(ctx, a, env, func(string, string) bool { return true })
		if err != nil {
			return apiError(err)
		}
		for _, g := range got {
			removed = append(removed, g+" in "+env)
		}
	}
	cleared, err := e.clear(ctx, a)
	if err != nil {
		return apiError(err)
	}
	e.mu.Lock()
	for k, ref := range e.traces {
		if ref.org == a.Org {
			delete(e.traces, k)
		}
	}
	e.mu.Unlock()
	return writeJSON(w, http.StatusOK, map[string]any{"undeployed": removed, "changes": cleared})
}

func (e *Emulator) envs(ctx context.Context, a *workspace.Applier) ([]string, error) {
	var envs []string
	_, err := a.Call(ctx, http.MethodGet, "/environments", nil, &envs)
	sort.Strings(envs)
	return envs, err
}

// tree is what is deployed: organizations → environments → proxies and
// shared flows → revisions, with each proxy revision's base paths.
func (e *Emulator) tree(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a := e.applier(r, 0)
	envs, err := e.envs(ctx, a)
	if err != nil {
		return apiError(err)
	}
	type revision struct {
		BasePath  string   `json:"basepath,omitempty"`
		BasePaths []string `json:"basepaths,omitempty"`
		State     string   `json:"state"`
	}
	type bundle struct {
		Revisions map[string]revision `json:"revisions"`
	}
	type envTree struct {
		Proxies     map[string]bundle `json:"proxies"`
		SharedFlows map[string]bundle `json:"sharedflows"`
	}
	out := map[string]envTree{}
	for _, env := range envs {
		t := envTree{Proxies: map[string]bundle{}, SharedFlows: map[string]bundle{}}
		for _, shared := range []bool{false, true} {
			deps, err := e.deployments(ctx, a, env, shared)
			if err != nil {
				return apiError(err)
			}
			for _, d := range deps {
				rv := revision{State: d.State}
				into := t.SharedFlows
				if !shared {
					into = t.Proxies
					var info struct {
						Basepaths []string `json:"basepaths"`
					}
					if _, err := a.Call(ctx, http.MethodGet, "/apis/"+url.PathEscape(d.APIProxy)+"/revisions/"+d.Revision, nil, &info); err == nil {
						rv.BasePaths = info.Basepaths
						if len(info.Basepaths) > 0 {
							rv.BasePath = info.Basepaths[0]
						}
					}
				}
				b, ok := into[d.APIProxy]
				if !ok {
					b = bundle{Revisions: map[string]revision{}}
					into[d.APIProxy] = b
				}
				b.Revisions[d.Revision] = rv
			}
		}
		out[env] = t
	}
	return writeJSON(w, http.StatusOK, map[string]any{"organizations": map[string]any{a.Org: out}})
}

// startTrace opens a debug session on the deployed revision of proxyName
// (in ?environment=, else the first environment that runs it).
func (e *Emulator) startTrace(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	a := e.applier(r, 0)
	proxy := r.URL.Query().Get("proxyName")
	if proxy == "" {
		return apierr.InvalidField("proxyName", "Missing the proxyName query parameter.")
	}
	envs := []string{r.URL.Query().Get("environment")}
	if envs[0] == "" {
		var err error
		if envs, err = e.envs(ctx, a); err != nil {
			return apiError(err)
		}
	}
	for _, env := range envs {
		var deps struct {
			Deployments []deployment `json:"deployments"`
		}
		if _, err := a.Call(ctx, http.MethodGet, "/environments/"+url.PathEscape(env)+"/apis/"+url.PathEscape(proxy)+"/deployments", nil, &deps); err != nil {
			if workspace.IsNotFound(err) {
				continue
			}
			return apiError(err)
		}
		if len(deps.Deployments) == 0 {
			continue
		}
		rev := deps.Deployments[0].Revision
		var s struct {
			Name    string `json:"name"`
			Timeout any    `json:"timeout"`
		}
		q := url.Values{}
		for _, k := range []string{"timeout"} {
			if v := r.URL.Query().Get(k); v != "" {
				q.Set(k, v)
			}
		}
		path := "/environments/" + url.PathEscape(env) + "/apis/" + url.PathEscape(proxy) + "/revisions/" + rev + "/debugsessions"
		if len(q) > 0 {
			path += "?" + q.Encode()
		}
		if _, err := a.Call(ctx, http.MethodPost, path, map[string]any{}, &s); err != nil {
			return apiError(err)
		}
		e.mu.Lock()
		e.traces[s.Name] = traceRef{org: a.Org, env: env, api: proxy, rev: rev}
		e.mu.Unlock()
		return writeJSON(w, http.StatusCreated, map[string]any{
			"name": s.Name, "sessionId": s.Name, "application": proxy, "apiProxy": proxy,
			"organization": a.Org, "environment": env, "revision": rev, "timeout": s.Timeout,
		})
	}
	return apierr.NotFound("API proxy %s is not deployed.", proxy)
}

func (e *Emulator) traceRef(r *http.Request) (traceRef, string, error) {
	id := r.URL.Query().Get("sessionid")
	if id == "" {
		id = r.URL.Query().Get("sessionId")
	}
	if id == "" {
		return traceRef{}, "", apierr.InvalidField("sessionid", "Missing the sessionid query parameter.")
	}
	e.mu.Lock()
	ref, ok := e.traces[id]
	e.mu.Unlock()
	if !ok {
		return traceRef{}, "", apierr.NotFound("Trace session %s not found.", id)
	}
	return ref, id, nil
}

func (ref traceRef) path(id string) string {
	return "/environments/" + url.PathEscape(ref.env) + "/apis/" + url.PathEscape(ref.api) + "/revisions/" + ref.rev + "/debugsessions/" + url.PathEscape(id)
}

// traceTransactions answers in the trace format Google's emulator and
// Edge use: {"DebugSession": {…}, "Messages": [{"completed", "point"}…]}.
func (e *Emulator) traceTransactions(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ref, id, err := e.traceRef(r)
	if err != nil {
		return err
	}
	a := e.applier(r, 0)
	a.Org = ref.org
	var ids []string
	if _, err := a.Call(ctx, http.MethodGet, ref.path(id)+"/data", nil, &ids); err != nil {
		return apiError(err)
	}
	msgs := []json.RawMessage{}
	for _, tx := range ids {
		data, err := a.Call(ctx, http.MethodGet, ref.path(id)+"/data/"+url.PathEscape(tx), nil, nil)
		if workspace.IsNotFound(err) {
			continue
		}
		if err != nil {
			return apiError(err)
		}
		msgs = append(msgs, bytes.TrimSpace(data))
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"DebugSession": map[string]string{
			"SessionId": id, "Organization": ref.org, "Environment": ref.env, "Application": ref.api,
			"Revision": ref.rev, "Retrieved": time.Now().UTC().Format(time.RFC3339),
		},
		"Messages": msgs,
	})
}

func (e *Emulator) stopTrace(w http.ResponseWriter, r *http.Request) error {
	ref, id, err := e.traceRef(r)
	if err != nil {
		return err
	}
	a := e.applier(r, 0)
	a.Org = ref.org
	if _, err := a.Call(r.Context(), http.MethodDelete, ref.path(id)+"/data", nil, nil); err != nil && !workspace.IsNotFound(err) {
		return apiError(err)
	}
	e.mu.Lock()
	delete(e.traces, id)
	e.mu.Unlock()
	return writeJSON(w, http.StatusOK, map[string]string{"name": id, "state": fmt.Sprintf("deleted %s", id)})
}

// ForSeed is New for the control plane: the emulator stands for the first
// seeded organization and its first environment, authorizes calls with
// authorize (the outage switch's: the admin token, or a principal allowed
// apigee.emulator.injectFaults) and waits up to 30 s for deployments to be
// READY.
func ForSeed(api http.Handler, authorize func(*http.Request) error, seeds []apigee.OrgSeed) *Emulator {
	opts := Options{API: api, Authorize: authorize, DeployWait: 30 * time.Second}
	if len(seeds) > 0 {
		opts.Org = seeds[0].Name
		if len(seeds[0].Environments) > 0 {
			opts.Env = seeds[0].Environments[0]
		}
	}
	return New(opts)
}
