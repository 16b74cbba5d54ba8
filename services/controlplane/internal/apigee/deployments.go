package apigee

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/iam"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// InstanceTTL is how long a runtime instance's last status report counts
// towards deployment states; instances silent for longer are ignored.
const InstanceTTL = 5 * time.Minute

// Deployment states.
const (
	StateProgressing = "PROGRESSING"
	StateReady       = "READY"
	StateError       = "ERROR"
)

func revisionOf(o *state.Org, d *state.Deployment) *state.Revision {
	if api := o.Collection(d.Kind)[d.Name]; api != nil {
		return api.Revisions[d.Revision]
	}
	return nil
}

func basePaths(o *state.Org, d *state.Deployment) []string {
	if r := revisionOf(o, d); r != nil {
		return r.BasePaths
	}
	return nil
}

func normBasePath(p string) string {
	if p = strings.TrimRight(p, "/"); p == "" {
		return "/"
	}
	return p
}

func sharedBasePaths(a, b []string) []string {
	var out []string
	for _, x := range a {
		for _, y := range b {
			if normBasePath(x) == normBasePath(y) {
				out = append(out, x)
			}
		}
	}
	return out
}

// deploymentViewOf computes a deployment's public view: its state from the
// runtime instances' reports, pods, instances and route conflicts.
func deploymentViewOf(o *state.Org, d *state.Deployment, now time.Time) deploymentView {
	v := deploymentView{
		Environment: d.Environment, APIProxy: d.Name, Revision: strconv.Itoa(d.Revision),
		DeployStartTime: d.DeployStartTime, State: StateProgressing, ServiceAccount: d.ServiceAccount,
		Errors: []rpcStatusView{}, Instances: []instanceStatusView{}, Pods: []podStatusView{}, RouteConflicts: []routeConflictView{},
	}
	if d.Kind == state.KindProxy {
		v.ProxyDeploymentType = "STANDARD"
	}
	env := o.Environments[d.Environment]
	if env == nil {
		return v
	}
	groups := o.GroupsOf(d.Environment)
	paths := basePaths(o, d)
	attached := attachedInstances(o, d.Environment)
	names := make([]string, 0, len(env.Instances))
	for n := range env.Instances {
		if attached == nil || attached[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	rev := strconv.Itoa(d.Revision)
	// An instance the environment is attached to counts until it reports:
	// the deployment is not READY while one of them has not loaded it.
	considered, ready, failed := len(attached), 0, 0
	seenErr := map[string]bool{}
	for _, n := range names {
		inst := env.Instances[n]
		if now.Sub(time.UnixMilli(inst.ReportedAt)) > InstanceTTL {
			continue
		}
		if attached == nil {
			considered++
		}
		if inst.ContractVersion < d.ContractVersion {
			continue // this instance has not loaded the deployment's contract yet
		}
		var st *state.ReportedStatus
		for i := range inst.Deployments {
			s := &inst.Deployments[i]
			if s.Kind == d.Kind && s.Name == d.Name && s.Revision == rev {
				st = s
				break
			}
		}
		if st == nil {
			continue
		}
		pod := podStatusView{DeploymentStatus: "deployed", PodStatus: "active", StatusCode: "200",
			DeploymentStatusTime: inst.ReportedAt, DeploymentTime: st.Since, PodStatusTime: inst.ReportedAt}
		switch st.State {
		case StateReady:
			ready++
			iv := instanceStatusView{Instance: n, DeployedRevisions: []deployedRevisionView{{Revision: rev, Percentage: 100}}}
			for _, g := range groups {
				for _, p := range paths {
					iv.DeployedRoutes = append(iv.DeployedRoutes, deployedRouteView{Basepath: p, Envgroup: g.Name, Environment: d.Environment, Percentage: 100})
				}
			}
			v.Instances = append(v.Instances, iv)
		case StateError:
			failed++
			pod.DeploymentStatus, pod.StatusCode = "error", "500"
			pod.StatusCodeDetails = strings.Join(st.Errors, "; ")
			for _, m := range st.Errors {
				if !seenErr[m] {
					seenErr[m] = true
					v.Errors = append(v.Errors, rpcStatusView{Code: 3, Message: m})
				}
			}
		default:
			continue
		}
		for _, p := range inst.Pods {
			pv := pod
			pv.PodName, pv.AppVersion = p.PodName, p.AppVersion
			v.Pods = append(v.Pods, pv)
		}
	}
	switch {
	case failed > 0:
		v.State = StateError
	case ready > 0 && ready == considered:
		v.State = StateReady
	}
	if d.Kind == state.KindProxy {
		v.RouteConflicts = routeConflicts(o, d, groups, paths)
	}
	return v
}

// attachedInstances names the instances environment env is attached to
// (organizations.instances.attachments), or nil when the org attaches it
// to none: then every instance that reports on env runs it, the way a
// hybrid install without instance attachments decides in its overrides.
// A silent attached instance keeps the deployment PROGRESSING, as a
// region whose watcher has not reported does in hybrid; an instance that
// reports but is not attached does not decide the state.
func attachedInstances(o *state.Org, env string) map[string]bool {
	var out map[string]bool
	for name, in := range o.Instances {
		for _, at := range in.Attachments {
			if at.Environment == env {
				if out == nil {
					out = map[string]bool{}
				}
				out[name] = true
			}
		}
	}
	return out
}

// deployedBefore orders deployments of a base path in an environment
// group: the earlier one serves it (ties: the lower environment name).
func deployedBefore(a, b *state.Deployment) bool {
	return a.DeployStartTime < b.DeployStartTime ||
		a.DeployStartTime == b.DeployStartTime && a.Environment < b.Environment
}

// routeConflicts lists the earlier deployments, in other environments of
// the same environment groups, that already serve one of d's base paths.
func routeConflicts(o *state.Org, d *state.Deployment, groups []*state.EnvGroup, paths []string) []routeConflictView {
	out := []routeConflictView{}
	for _, g := range groups {
		for _, at := range g.Attachments {
			if at.Environment == d.Environment {
				continue
			}
			for _, d2 := range o.DeploymentsWhere(func(x *state.Deployment) bool {
				return x.Environment == at.Environment && x.Kind == state.KindProxy
			}) {
				if !deployedBefore(d2, d) {
					continue
				}
				for _, p := range sharedBasePaths(paths, basePaths(o, d2)) {
					out = append(out, routeConflictView{
						ConflictingDeployment: routingDeploymentView{APIProxy: d2.Name, Basepath: p, Environment: d2.Environment, Revision: strconv.Itoa(d2.Revision)},
						Description: fmt.Sprintf("basepath %s of environment group %s is already served by API proxy %s revision %d in environment %s",
							p, g.Name, d2.Name, d2.Revision, d2.Environment),
						EnvironmentGroup: g.Name,
					})
				}
			}
		}
	}
	return out
}

// checkDeploy applies the rules a deploy of rev in env must pass and
// returns the deployment of name it would replace (nil if none): another
// revision already deployed needs override (FAILED_PRECONDITION), and a
// proxy's base path may not be served in env by another proxy
// (ALREADY_EXISTS). The same revision without override is no change and
// passes. The change reports share it.
func checkDeploy(o *state.Org, c collection, env, name string, rev *state.Revision, override bool) (*state.Deployment, error) {
	cur := o.FindDeployment(env, c.kind, name)
	if cur != nil && cur.Revision == rev.Revision && !override {
		return cur, nil // already there: nothing to check
	}
	if cur != nil && cur.Revision != rev.Revision && !override {
		return cur, apierr.FailedPrecondition("revision %d of %s %s is already deployed in environment %s; deploy revision %d with override=true to replace it",
			cur.Revision, c.noun, name, env, rev.Revision)
	}
	if c.kind == state.KindProxy {
		for _, other := range o.DeploymentsWhere(func(x *state.Deployment) bool {
			return x.Environment == env && x.Kind == state.KindProxy && x.Name != name
		}) {
			if shared := sharedBasePaths(rev.BasePaths, basePaths(o, other)); len(shared) > 0 {
				return cur, apierr.AlreadyExists("base path %s is already served in environment %s by API proxy %s (revision %d); undeploy it or change the base path",
					shared[0], env, other.Name, other.Revision)
			}
		}
	}
	return cur, nil
}

// deploy serves POST …/environments/{env}/{apis|sharedflows}/{name}/revisions/{rev}/deployments.
func (a *API) deploy(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		env, name := r.PathValue("env"), r.PathValue("name")
		override, err := boolParam(r, "override")
		if err != nil {
			return err
		}
		if _, err := boolParam(r, "sequencedRollout"); err != nil { // accepted; rollouts are immediate here
			return err
		}
		serviceAccount := strings.TrimSpace(r.URL.Query().Get("serviceAccount"))
		if err := a.checkServiceAccount(r, serviceAccount); err != nil {
			return err
		}
		var v deploymentView
		err = a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
			if _, err := lookupEnv(o, env); err != nil {
				return err
			}
			_, rev, err := lookupRevision(o, c, name, r.PathValue("rev"))
			if err != nil {
				return err
			}
			cur, err := checkDeploy(o, c, env, name, rev, override)
			if err != nil {
				return err
			}
			if serviceAccount == "" && rev.GoogleAuthentication {
				return apierr.FailedPrecondition("deployment validations failed; MISSING_SERVICE_ACCOUNT: Deployment of %q requires a service account identity, but one was not provided with the request.",
					fmt.Sprintf("organizations/%s/environments/%s/%s/%s/revisions/%d", o.Name, env, c.path, name, rev.Revision))
			}
			if cur != nil {
				// The same revision again is no change, unless it now runs
				// as another service account.
				if cur.Revision == rev.Revision && !override && cur.ServiceAccount == serviceAccount {
					tx.Unchanged()
					v = deploymentViewOf(o, cur, tx.Now)
					return nil
				}
				o.RemoveDeployment(cur)
			}
			tx.Touch(o, env)
			d := &state.Deployment{
				Environment: env, Kind: c.kind, Name: name, Revision: rev.Revision,
				DeployStartTime: tx.Millis(), ContractVersion: o.Environments[env].ContractVersion,
				ServiceAccount: serviceAccount,
			}
			o.Deployments = append(o.Deployments, d)
			v = deploymentViewOf(o, d, tx.Now)
			return nil
		})
		if err != nil {
			return err
		}
		return ok(w, v)
	}
}

// ServiceAccounts is implemented by Authorizers that know the service
// accounts a deployment may name (IAMAuth).
type ServiceAccounts interface {
	// ServiceAccountProject returns the project of an account (email).
	ServiceAccountProject(email string) (project string, ok bool)
}

// checkServiceAccount applies the deploy call's serviceAccount rules: an
// email of an existing account on which the caller holds
// iam.serviceAccounts.actAs (roles/iam.serviceAccountUser), as Apigee
// requires of the identity a proxy runs with. It runs before the state is
// locked: the IAM consults the state to map orgs to projects.
func (a *API) checkServiceAccount(r *http.Request, email string) error {
	if email == "" {
		return nil
	}
	if !strings.Contains(email, "@") || strings.ContainsAny(email, "/ ") {
		return apierr.InvalidArgument("Invalid serviceAccount %q: it must be a service account email, {ACCOUNT_ID}@{PROJECT}.iam.gserviceaccount.com.", email)
	}
	project, known := "-", true
	if sas, ok := a.authz.(ServiceAccounts); ok {
		var p string
		if p, known = sas.ServiceAccountProject(email); known {
			project = p
		}
	}
	if err := a.authz.Authorize(r.Context(), principalOf(r.Context()), iam.PermSAActAs, "projects/"+project+"/serviceAccounts/"+email); err != nil {
		return err
	}
	if !known {
		return apierr.InvalidArgument("Service account %s does not exist.", email)
	}
	return nil
}

func notDeployed(c collection, name, rev, env string) error {
	return apierr.NotFound("revision %s of %s %s is not deployed in environment %s", rev, c.noun, name, env)
}

// getDeployment serves GET on the deploy path: the one deployment of that
// revision in that environment (apigeecli polls it until READY).
func (a *API) getDeployment(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		env, name, rev := r.PathValue("env"), r.PathValue("name"), r.PathValue("rev")
		var v deploymentView
		err := a.viewEnv(r, func(o *state.Org, _ *state.Environment) error {
			n, err := parseRevision(rev)
			if err != nil {
				return err
			}
			cur := o.FindDeployment(env, c.kind, name)
			if cur == nil || cur.Revision != n {
				return notDeployed(c, name, rev, env)
			}
			v = deploymentViewOf(o, cur, a.store.Now())
			return nil
		})
		if err != nil {
			return err
		}
		return ok(w, v)
	}
}

func (a *API) undeploy(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		env, name, rev := r.PathValue("env"), r.PathValue("name"), r.PathValue("rev")
		if _, err := boolParam(r, "sequencedRollout"); err != nil {
			return err
		}
		var v deploymentView
		err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
			if _, err := lookupEnv(o, env); err != nil {
				return err
			}
			n, err := parseRevision(rev)
			if err != nil {
				return err
			}
			cur := o.FindDeployment(env, c.kind, name)
			if cur == nil || cur.Revision != n {
				return apierr.FailedPrecondition("revision %s of %s %s is not deployed in environment %s", rev, c.noun, name, env)
			}
			v = deploymentViewOf(o, cur, tx.Now)
			o.RemoveDeployment(cur)
			tx.Touch(o, env)
			return nil
		})
		if err != nil {
			return err
		}
		return ok(w, v)
	}
}

// listDeployments answers {"deployments":[…]} for the deployments keep
// selects; the org lookup and route values are the caller's.
func (a *API) listDeployments(w http.ResponseWriter, r *http.Request, check func(o *state.Org) error, keep func(d *state.Deployment) bool) error {
	var out struct {
		Deployments []deploymentView `json:"deployments"`
	}
	out.Deployments = []deploymentView{}
	err := a.viewOrg(r, func(o *state.Org) error {
		if check != nil {
			if err := check(o); err != nil {
				return err
			}
		}
		now := a.store.Now()
		for _, dep := range o.DeploymentsWhere(keep) {
			out.Deployments = append(out.Deployments, deploymentViewOf(o, dep, now))
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, out)
}

// kindParam reads the sharedFlows flag of the org/env deployment lists.
func kindParam(r *http.Request) (state.Kind, error) {
	sf, err := boolParam(r, "sharedFlows")
	if err != nil {
		return "", err
	}
	if sf {
		return state.KindSharedFlow, nil
	}
	return state.KindProxy, nil
}

func (a *API) listOrgDeployments(w http.ResponseWriter, r *http.Request) error {
	k, err := kindParam(r)
	if err != nil {
		return err
	}
	return a.listDeployments(w, r, nil, func(d *state.Deployment) bool { return d.Kind == k })
}

func (a *API) listEnvDeployments(w http.ResponseWriter, r *http.Request) error {
	k, err := kindParam(r)
	if err != nil {
		return err
	}
	env := r.PathValue("env")
	return a.listDeployments(w, r,
		func(o *state.Org) error { _, err := lookupEnv(o, env); return err },
		func(d *state.Deployment) bool { return d.Kind == k && d.Environment == env })
}

func (a *API) listAPIDeployments(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		return a.listDeployments(w, r,
			func(o *state.Org) error { _, err := lookupAPI(o, c, name); return err },
			func(d *state.Deployment) bool { return d.Kind == c.kind && d.Name == name })
	}
}

func (a *API) listRevisionDeployments(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		name := r.PathValue("name")
		var n int
		return a.listDeployments(w, r,
			func(o *state.Org) error {
				_, rev, err := lookupRevision(o, c, name, r.PathValue("rev"))
				if err == nil {
					n = rev.Revision
				}
				return err
			},
			func(d *state.Deployment) bool { return d.Kind == c.kind && d.Name == name && d.Revision == n })
	}
}

func (a *API) listEnvAPIDeployments(c collection) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		name, env := r.PathValue("name"), r.PathValue("env")
		return a.listDeployments(w, r,
			func(o *state.Org) error {
				if _, err := lookupEnv(o, env); err != nil {
					return err
				}
				_, err := lookupAPI(o, c, name)
				return err
			},
			func(d *state.Deployment) bool { return d.Kind == c.kind && d.Name == name && d.Environment == env })
	}
}
