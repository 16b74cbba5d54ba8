package workspace

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// Applier makes an Apigee organization hold what a Plan asks for, with the
// Apigee API's own requests (import, deploy, target servers, flow hooks,
// products, developers, apps and their keys, key value map entries), so
// it works against any Apigee API: over the network (hybridctl apply) or
// in-process (the control plane's emulator API, through HandlerTransport).
//
// It is idempotent: what already matches is left alone and reported
// "unchanged"; a bundle is imported only when no revision with the same
// content (ContentHash) exists, so applying twice makes no new revision.
// It adds and updates; it never deletes what the workspace does not name.
type Applier struct {
	// Client sends the requests (http.DefaultClient when nil).
	Client *http.Client
	// BaseURL is the API's root, e.g. "http://127.0.0.1:8080".
	BaseURL string
	Org     string
	// Token is sent as "Authorization: Bearer …" unless Header carries an
	// Authorization of its own.
	Token string
	// Header is added to every request.
	Header http.Header
	// Wait bounds how long a deployment may take to become READY; zero
	// does not wait.
	Wait time.Duration
	// Progress, when set, is called with each change as it is made.
	Progress func(Change)
}

// Change is one thing Apply looked at.
type Change struct {
	Kind   string `json:"kind"` // proxy, sharedflow, targetserver, flowhook, kvm, kvmentry, product, developer, app, key
	Name   string `json:"name"`
	Env    string `json:"environment,omitempty"`
	Action string `json:"action"` // created, updated, unchanged, imported, deployed, attached, detached, deleted
	// Revision is a deployed bundle's revision.
	Revision string `json:"revision,omitempty"`
	State    string `json:"state,omitempty"`
}

// Result lists what Apply did.
type Result struct {
	Changes []Change `json:"changes"`
}

// Changed counts the changes that were not "unchanged".
func (r *Result) Changed() int {
	n := 0
	for _, c := range r.Changes {
		if c.Action != "unchanged" {
			n++
		}
	}
	return n
}

// ApplyOptions choose what of a plan to apply and where.
type ApplyOptions struct {
	// Env applies only environments/<Env>/ (an error when the plan has
	// environment folders but not this one). Empty applies every folder.
	Env string
	// TargetEnv applies the chosen folder to another environment of the
	// organization (the emulator's deploy?environment= names a folder that
	// need not exist in the org). Needs Env or a plan with one folder.
	TargetEnv string
	// DefaultEnv receives every bundle when the plan has no environments/
	// folder, and the test data's environment-scoped maps that name none.
	DefaultEnv string
	// SkipTestData leaves the plan's test data out.
	SkipTestData bool
}

// APIError is a refused request.
type APIError struct {
	Method, Path string
	Status       int
	// Code is Google's status name from the answer (error.status, e.g.
	// NOT_FOUND), "" when the answer had none.
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s %s: %d: %s", e.Method, e.Path, e.Status, e.Message)
}

// IsNotFound reports whether err is the API's 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// Apply applies plan (see Applier).
func (a *Applier) Apply(ctx context.Context, plan *Plan, opts ApplyOptions) (*Result, error) {
	res := &Result{}
	type target struct {
		env EnvConfig
		to  string
	}
	var targets []target
	switch {
	case len(plan.Envs) == 0:
		to := firstNonEmpty(opts.TargetEnv, opts.Env, opts.DefaultEnv)
		if to == "" && len(plan.Proxies)+len(plan.SharedFlows) > 0 {
			return nil, errors.New("the workspace has no environments/ folder: name the environment to deploy to")
		}
		env := EnvConfig{Name: to, HasDeployments: true}
		for _, b := range plan.SharedFlows {
			env.SharedFlows = append(env.SharedFlows, Deployment{Name: b.Name})
		}
		for _, b := range plan.Proxies {
			env.Proxies = append(env.Proxies, Deployment{Name: b.Name})
		}
		if to != "" {
			targets = append(targets, target{env, to})
		}
	default:
		var names []string
		for _, e := range plan.Envs {
			names = append(names, e.Name)
			if opts.Env == "" || e.Name == opts.Env {
				targets = append(targets, target{e, firstNonEmpty(opts.TargetEnv, e.Name)})
			}
		}
		if len(targets) == 0 {
			return nil, fmt.Errorf("no environments/%s/ in the workspace (it has %s)", opts.Env, strings.Join(names, ", "))
		}
		if opts.TargetEnv != "" && len(targets) > 1 {
			return nil, fmt.Errorf("the workspace has %d environments (%s): choose the one to apply to %s", len(targets), strings.Join(names, ", "), opts.TargetEnv)
		}
	}
	bundles := map[string]Bundle{}
	for _, b := range plan.Proxies {
		bundles["apis/"+b.Name] = b
	}
	for _, b := range plan.SharedFlows {
		bundles["sharedflows/"+b.Name] = b
	}
	defEnv := opts.DefaultEnv
	if defEnv == "" && len(targets) > 0 {
		defEnv = targets[0].to
	}
	for _, t := range targets {
		for _, ts := range t.env.TargetServers {
			if err := a.targetServer(ctx, res, t.to, ts); err != nil {
				return res, err
			}
		}
		for _, k := range t.env.KVMs {
			k.Env = t.to
			if err := a.kvm(ctx, res, k); err != nil {
				return res, err
			}
		}
	}
	if !opts.SkipTestData {
		if err := a.applyTestData(ctx, res, &plan.TestData, defEnv); err != nil {
			return res, err
		}
	}
	for _, t := range targets {
		for _, d := range t.env.SharedFlows {
			if err := a.bundle(ctx, res, bundles["sharedflows/"+d.Name], t.to, d.ServiceAccount); err != nil {
				return res, err
			}
		}
		for _, fh := range t.env.FlowHooks {
			if err := a.flowHook(ctx, res, t.to, fh); err != nil {
				return res, err
			}
		}
		for _, d := range t.env.Proxies {
			if err := a.bundle(ctx, res, bundles["apis/"+d.Name], t.to, d.ServiceAccount); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// ApplyTestData applies test data alone; env receives the
// environment-scoped maps that name no environment.
func (a *Applier) ApplyTestData(ctx context.Context, td *TestData, env string) (*Result, error) {
	res := &Result{}
	return res, a.applyTestData(ctx, res, td, env)
}

func (a *Applier) applyTestData(ctx context.Context, res *Result, td *TestData, env string) error {
	for _, p := range td.Products {
		if err := a.object(ctx, res, "product", "/apiproducts", p, productFields, nil); err != nil {
			return err
		}
	}
	for _, d := range td.Developers {
		if err := a.object(ctx, res, "developer", "/developers", d, developerFields, developerDefaults); err != nil {
			return err
		}
	}
	for _, app := range td.Apps {
		if err := a.app(ctx, res, app); err != nil {
			return err
		}
	}
	for _, k := range td.Maps {
		if k.Scope == "environment" && k.Env == "" {
			if env == "" {
				return &FieldError{File: k.Source, Problem: fmt.Sprintf("map %q: no environment to put it in", k.Name)}
			}
			k.Env = env
		}
		if err := a.kvm(ctx, res, k); err != nil {
			return err
		}
	}
	return nil
}

// DeleteTestData deletes the apps, developers, products and maps td names
// (what exists of them): the emulator's clear/test.
func (a *Applier) DeleteTestData(ctx context.Context, td *TestData, env string) (*Result, error) {
	res := &Result{}
	del := func(kind, name, path string) error {
		switch _, err := a.do(ctx, http.MethodDelete, path, nil, nil); {
		case IsNotFound(err):
			return nil
		case err != nil:
			return err
		}
		a.record(res, Change{Kind: kind, Name: name, Action: "deleted"})
		return nil
	}
	for _, app := range td.Apps {
		if err := del("app", app.Name, "/developers/"+esc(app.Developer)+"/apps/"+esc(app.Name)); err != nil {
			return res, err
		}
	}
	for _, d := range td.Developers {
		if err := del("developer", d.Key, "/developers/"+esc(d.Key)); err != nil {
			return res, err
		}
	}
	for _, p := range td.Products {
		if err := del("product", p.Key, "/apiproducts/"+esc(p.Key)); err != nil {
			return res, err
		}
	}
	for _, k := range td.Maps {
		if k.Scope == "environment" && k.Env == "" {
			k.Env = env
		}
		if err := del("kvm", k.Name, kvmBase(k)+"/"+esc(k.Name)); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (a *Applier) record(res *Result, c Change) {
	res.Changes = append(res.Changes, c)
	if a.Progress != nil {
		a.Progress(c)
	}
}

func esc(s string) string { return url.PathEscape(s) }

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// do sends one request under /v1/organizations/{org}; body is []byte
// (sent as application/octet-stream) or a value sent as JSON; out, when
// not nil, receives the JSON answer.
func (a *Applier) do(ctx context.Context, method, path string, body any, out any) ([]byte, error) {
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ct = bytes.NewReader(b), "application/octet-stream"
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, err
		}
		rd, ct = bytes.NewReader(data), "application/json"
	}
	full := strings.TrimSuffix(a.BaseURL, "/") + "/v1/organizations/" + esc(a.Org) + path
	req, err := http.NewRequestWithContext(ctx, method, full, rd)
	if err != nil {
		return nil, err
	}
	for k, vs := range a.Header {
		req.Header[k] = append([]string(nil), vs...)
	}
	if req.Header.Get("Authorization") == "" && a.Token != "" {
		req.Header.Set("Authorization", "Bearer "+a.Token)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	client := a.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxZipBytes))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var ge struct {
			Error struct {
				Message string `json:"message"`
				Status  string `json:"status"`
			} `json:"error"`
		}
		msg := strings.TrimSpace(string(data))
		if json.Unmarshal(data, &ge) == nil && ge.Error.Message != "" {
			msg = ge.Error.Message
		}
		return nil, &APIError{Method: method, Path: path, Status: resp.StatusCode, Code: ge.Error.Status, Message: msg}
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return data, nil
}

// get is do(GET) that reports a 404 as found == false.
func (a *Applier) get(ctx context.Context, path string, out any) (bool, error) {
	_, err := a.do(ctx, http.MethodGet, path, nil, out)
	if IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// bundle makes a revision with b's content deployed in env: the deployed
// one if it matches, else the latest if it matches, else a new import.
func (a *Applier) bundle(ctx context.Context, res *Result, b Bundle, env, serviceAccount string) error {
	coll, kind := "apis", "proxy"
	if b.SharedFlow {
		coll, kind = "sharedflows", "sharedflow"
	}
	var deps struct {
		Deployments []struct {
			Revision string `json:"revision"`
		} `json:"deployments"`
	}
	if _, err := a.get(ctx, "/environments/"+esc(env)+"/"+coll+"/"+esc(b.Name)+"/deployments", &deps); err != nil {
		return err
	}
	for _, d := range deps.Deployments {
		same, err := a.sameRevision(ctx, coll, b, d.Revision)
		if err != nil {
			return err
		}
		if same {
			state, err := a.waitReady(ctx, coll, b.Name, env, d.Revision)
			if err != nil {
				return err
			}
			a.record(res, Change{Kind: kind, Name: b.Name, Env: env, Action: "unchanged", Revision: d.Revision, State: state})
			return nil
		}
	}
	action := "deployed"
	rev := ""
	var info struct {
		Revision []string `json:"revision"`
	}
	found, err := a.get(ctx, "/"+coll+"/"+esc(b.Name), &info)
	if err != nil {
		return err
	}
	if found && len(info.Revision) > 0 {
		latest := info.Revision[0]
		for _, r := range info.Revision {
			if revNum(r) > revNum(latest) {
				latest = r
			}
		}
		same, err := a.sameRevision(ctx, coll, b, latest)
		if err != nil {
			return err
		}
		if same {
			rev = latest
		}
	}
	if rev == "" {
		var imp struct {
			Revision string `json:"revision"`
		}
		if _, err := a.do(ctx, http.MethodPost, "/"+coll+"?action=import&name="+url.QueryEscape(b.Name), b.Zip, &imp); err != nil {
			return fmt.Errorf("%s: %w", b.Source, err)
		}
		rev, action = imp.Revision, "imported"
	}
	q := "?override=true"
	if serviceAccount != "" {
		q += "&serviceAccount=" + url.QueryEscape(serviceAccount)
	}
	if _, err := a.do(ctx, http.MethodPost, "/environments/"+esc(env)+"/"+coll+"/"+esc(b.Name)+"/revisions/"+esc(rev)+"/deployments"+q, nil, nil); err != nil {
		return err
	}
	state, err := a.waitReady(ctx, coll, b.Name, env, rev)
	if err != nil {
		return err
	}
	a.record(res, Change{Kind: kind, Name: b.Name, Env: env, Action: action, Revision: rev, State: state})
	return nil
}

func revNum(s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int(c-'0')
	}
	return n
}

func (a *Applier) sameRevision(ctx context.Context, coll string, b Bundle, rev string) (bool, error) {
	data, err := a.do(ctx, http.MethodGet, "/"+coll+"/"+esc(b.Name)+"/revisions/"+esc(rev)+"?format=bundle", nil, nil)
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	h, err := ContentHash(data)
	if err != nil {
		return false, fmt.Errorf("%s revision %s: %w", b.Name, rev, err)
	}
	return h == b.Hash, nil
}

// waitReady polls the deployment until READY (an error on ERROR) for at
// most a.Wait; it returns the last state seen.
func (a *Applier) waitReady(ctx context.Context, coll, name, env, rev string) (string, error) {
	path := "/environments/" + esc(env) + "/" + coll + "/" + esc(name) + "/revisions/" + esc(rev) + "/deployments"
	deadline := time.Now().Add(a.Wait)
	for {
		var d struct {
			State  string `json:"state"`
			Errors []struct {
				Message string `json:"message"`
			} `json:"errors"`
		}
		if _, err := a.do(ctx, http.MethodGet, path, nil, &d); err != nil {
			return "", err
		}
		switch {
		case d.State == "READY":
			return d.State, nil
		case d.State == "ERROR":
			var msgs []string
			for _, e := range d.Errors {
				msgs = append(msgs, e.Message)
			}
			return d.State, fmt.Errorf("%s revision %s in %s: ERROR: %s", name, rev, env, strings.Join(msgs, "; "))
		case a.Wait <= 0 || time.Now().After(deadline):
			if a.Wait > 0 {
				return d.State, fmt.Errorf("%s revision %s in %s: still %s after %s", name, rev, env, d.State, a.Wait)
			}
			return d.State, nil
		}
		select {
		case <-ctx.Done():
			return d.State, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (a *Applier) targetServer(ctx context.Context, res *Result, env string, ts TargetServer) error {
	body := map[string]any{"name": ts.Name, "host": ts.Host, "port": ts.Port, "isEnabled": ts.IsEnabled}
	if ts.Description != "" {
		body["description"] = ts.Description
	}
	if ts.Protocol != "" {
		body["protocol"] = ts.Protocol
	}
	if ts.SSLInfo != nil {
		body["sSLInfo"] = ts.SSLInfo
	}
	base := "/environments/" + esc(env) + "/targetservers"
	var have map[string]any
	found, err := a.get(ctx, base+"/"+esc(ts.Name), &have)
	if err != nil {
		return err
	}
	c := Change{Kind: "targetserver", Name: ts.Name, Env: env}
	switch {
	case !found:
		_, err = a.do(ctx, http.MethodPost, base, body, nil)
		c.Action = "created"
	case subset(normalize(body), have):
		c.Action = "unchanged"
	default:
		_, err = a.do(ctx, http.MethodPut, base+"/"+esc(ts.Name), body, nil)
		c.Action = "updated"
	}
	if err != nil {
		return err
	}
	a.record(res, c)
	return nil
}

func (a *Applier) flowHook(ctx context.Context, res *Result, env string, fh FlowHook) error {
	path := "/environments/" + esc(env) + "/flowhooks/" + esc(fh.Point)
	var have struct {
		SharedFlow      string `json:"sharedFlow"`
		ContinueOnError bool   `json:"continueOnError"`
		Description     string `json:"description"`
	}
	if _, err := a.get(ctx, path, &have); err != nil {
		return err
	}
	c := Change{Kind: "flowhook", Name: fh.Point, Env: env}
	var err error
	switch {
	case fh.SharedFlow == "" && have.SharedFlow == "":
		c.Action = "unchanged"
	case fh.SharedFlow == "":
		_, err = a.do(ctx, http.MethodDelete, path, nil, nil)
		c.Action = "detached"
	case have.SharedFlow == fh.SharedFlow && have.ContinueOnError == fh.ContinueOnError && have.Description == fh.Description:
		c.Action = "unchanged"
	default:
		_, err = a.do(ctx, http.MethodPut, path, map[string]any{
			"sharedFlow": fh.SharedFlow, "continueOnError": fh.ContinueOnError, "description": fh.Description}, nil)
		c.Action = "attached"
	}
	if err != nil {
		return err
	}
	a.record(res, c)
	return nil
}

func kvmBase(k KVM) string {
	switch k.Scope {
	case "organization":
		return "/keyvaluemaps"
	case "apiproxy":
		return "/apis/" + esc(k.API) + "/keyvaluemaps"
	}
	return "/environments/" + esc(k.Env) + "/keyvaluemaps"
}

func (a *Applier) kvm(ctx context.Context, res *Result, k KVM) error {
	base := kvmBase(k)
	found, err := a.get(ctx, base+"/"+esc(k.Name), nil)
	if err != nil {
		return err
	}
	c := Change{Kind: "kvm", Name: k.Name, Env: k.Env, Action: "unchanged"}
	if !found {
		if _, err := a.do(ctx, http.MethodPost, base, map[string]any{"name": k.Name, "encrypted": true}, nil); err != nil {
			return err
		}
		c.Action = "created"
	}
	a.record(res, c)
	for _, e := range k.Entries {
		path := base + "/" + esc(k.Name) + "/entries"
		var have struct {
			Value string `json:"value"`
		}
		found, err := a.get(ctx, path+"/"+esc(e.Name), &have)
		if err != nil {
			return err
		}
		c := Change{Kind: "kvmentry", Name: k.Name + "/" + e.Name, Env: k.Env}
		body := map[string]string{"name": e.Name, "value": e.Value}
		switch {
		case !found:
			_, err = a.do(ctx, http.MethodPost, path, body, nil)
			c.Action = "created"
		case have.Value == e.Value:
			c.Action = "unchanged"
		default:
			_, err = a.do(ctx, http.MethodPut, path+"/"+esc(e.Name), body, nil)
			c.Action = "updated"
		}
		if err != nil {
			return err
		}
		a.record(res, c)
	}
	return nil
}

// The fields compared to decide whether a product or developer changed
// (the API adds others of its own, and echoes some differently).
var (
	productFields = []string{"displayName", "description", "approvalType", "environments", "proxies", "apiResources",
		"quota", "quotaInterval", "quotaTimeUnit", "scopes", "attributes", "operationGroup"}
	developerFields = []string{"firstName", "lastName", "userName", "attributes"}
	appFields       = []string{"callbackUrl", "attributes", "scopes"}
)

// developerDefaults fills what the API requires and the emulator's
// developers.json may leave out.
func developerDefaults(body map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range body {
		out[k] = v
	}
	email, _ := body["email"].(string)
	user, _, _ := strings.Cut(email, "@")
	for _, k := range []string{"userName", "firstName", "lastName"} {
		if s, _ := out[k].(string); s == "" {
			out[k] = user
		}
	}
	return out
}

func pick(m map[string]any, keys []string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// object creates or updates a product or developer.
func (a *Applier) object(ctx context.Context, res *Result, kind, coll string, o Object, fields []string, defaults func(map[string]any) map[string]any) error {
	body := o.Body
	if defaults != nil {
		body = defaults(body)
	}
	var have map[string]any
	found, err := a.get(ctx, coll+"/"+esc(o.Key), &have)
	if err != nil {
		return err
	}
	c := Change{Kind: kind, Name: o.Key}
	switch {
	case !found:
		_, err = a.do(ctx, http.MethodPost, coll, body, nil)
		c.Action = "created"
	case subset(normalize(pick(o.Body, fields)), have):
		c.Action = "unchanged"
	default:
		_, err = a.do(ctx, http.MethodPut, coll+"/"+esc(o.Key), body, nil)
		c.Action = "updated"
	}
	if err != nil {
		return fmt.Errorf("%s: %s %q: %w", o.Source, kind, o.Key, err)
	}
	a.record(res, c)
	return nil
}

type appView struct {
	Credentials []credView `json:"credentials"`
}

type credView struct {
	ConsumerKey string `json:"consumerKey"`
	APIProducts []struct {
		APIProduct string `json:"apiproduct"`
	} `json:"apiProducts"`
}

func (c credView) products() map[string]bool {
	m := map[string]bool{}
	for _, p := range c.APIProducts {
		m[p.APIProduct] = true
	}
	return m
}

// app creates or updates a developer app and makes it hold the
// credentials the workspace names.
func (a *Applier) app(ctx context.Context, res *Result, app App) error {
	path := "/developers/" + esc(app.Developer) + "/apps"
	body := map[string]any{}
	for k, v := range app.Body {
		body[k] = v
	}
	if len(app.Credentials) > 0 {
		// The keys carry the products; an app created with products would
		// get a generated key too.
		delete(body, "apiProducts")
	}
	var have map[string]any
	found, err := a.get(ctx, path+"/"+esc(app.Name), &have)
	if err != nil {
		return err
	}
	wrap := func(err error) error { return fmt.Errorf("%s: app %q: %w", app.Source, app.Name, err) }
	c := Change{Kind: "app", Name: app.Name}
	var view appView
	switch {
	case !found:
		if _, err := a.do(ctx, http.MethodPost, path, body, &view); err != nil {
			return wrap(err)
		}
		c.Action = "created"
		if len(app.Credentials) > 0 {
			// Replace the generated key by the workspace's own.
			for _, cr := range app.Credentials {
				if err := a.createKey(ctx, path+"/"+esc(app.Name), cr); err != nil {
					return wrap(err)
				}
			}
			for _, gen := range view.Credentials {
				if !hasKey(app.Credentials, gen.ConsumerKey) {
					if _, err := a.do(ctx, http.MethodDelete, path+"/"+esc(app.Name)+"/keys/"+esc(gen.ConsumerKey), nil, nil); err != nil {
						return wrap(err)
					}
				}
			}
		}
		a.record(res, c)
		return nil
	case subset(normalize(pick(app.Body, appFields)), have) && a.appProductsHeld(app, have):
		c.Action = "unchanged"
	default:
		if _, err := a.do(ctx, http.MethodPut, path+"/"+esc(app.Name), body, nil); err != nil {
			return wrap(err)
		}
		c.Action = "updated"
	}
	a.record(res, c)
	for _, cr := range app.Credentials {
		kpath := path + "/" + esc(app.Name) + "/keys/" + esc(cr.ConsumerKey)
		var key credView
		found, err := a.get(ctx, kpath, &key)
		if err != nil {
			return wrap(err)
		}
		kc := Change{Kind: "key", Name: app.Name + "/" + cr.ConsumerKey, Action: "unchanged"}
		switch {
		case !found:
			if err := a.createKey(ctx, path+"/"+esc(app.Name), cr); err != nil {
				return wrap(err)
			}
			kc.Action = "created"
		default:
			held := key.products()
			var missing []string
			for _, p := range cr.APIProducts {
				if !held[p] {
					missing = append(missing, p)
				}
			}
			if len(missing) > 0 {
				if _, err := a.do(ctx, http.MethodPost, kpath, map[string]any{"apiProducts": missing}, nil); err != nil {
					return wrap(err)
				}
				kc.Action = "updated"
			}
		}
		a.record(res, kc)
	}
	return nil
}

func hasKey(creds []Credential, key string) bool {
	for _, c := range creds {
		if c.ConsumerKey == key {
			return true
		}
	}
	return false
}

// appProductsHeld reports whether an app without explicit credentials
// already holds every product it names on some key.
func (a *Applier) appProductsHeld(app App, have map[string]any) bool {
	if len(app.Credentials) > 0 {
		return true
	}
	want, _ := app.Body["apiProducts"].([]any)
	if len(want) == 0 {
		return true
	}
	data, _ := json.Marshal(have)
	var view appView
	_ = json.Unmarshal(data, &view)
	held := map[string]bool{}
	for _, c := range view.Credentials {
		for p := range c.products() {
			held[p] = true
		}
	}
	for _, p := range want {
		if s, _ := p.(string); !held[s] {
			return false
		}
	}
	return true
}

func (a *Applier) createKey(ctx context.Context, appPath string, cr Credential) error {
	body := map[string]any{"consumerKey": cr.ConsumerKey, "apiProducts": cr.APIProducts}
	if cr.ConsumerSecret != "" {
		body["consumerSecret"] = cr.ConsumerSecret
	}
	_, err := a.do(ctx, http.MethodPost, appPath+"/keys", body, nil)
	return err
}

// normalize turns v into what encoding/json decodes (maps, slices,
// float64 numbers), so a plan's values compare with an API answer's.
func normalize(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}

// subset reports whether want is contained in have: every key of an
// object, every element of an array (matched anywhere in have's), and
// scalars equal as text ("100" and 100 are the same quota). An empty want
// matches a missing have.
func subset(want, have any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, _ := have.(map[string]any)
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !subset(w[k], h[k]) {
				return false
			}
		}
		return true
	case []any:
		h, _ := have.([]any)
		for _, we := range w {
			found := false
			for _, he := range h {
				if subset(we, he) {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	case nil:
		return true
	}
	ws, hs := scalar(want), scalar(have)
	return ws == hs || (ws == "" && have == nil) || (ws == "false" && have == nil)
}

func scalar(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case float64:
		return fmt.Sprintf("%v", v)
	case bool:
		return fmt.Sprintf("%t", v)
	}
	return fmt.Sprintf("%v", v)
}

// Call sends one request under /v1/organizations/{org} with the Applier's
// client and credentials (for callers that need more of the API than
// Apply uses); see APIError for refusals.
func (a *Applier) Call(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	return a.do(ctx, method, path, body, out)
}
