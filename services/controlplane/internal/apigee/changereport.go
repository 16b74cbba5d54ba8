package apigee

import (
	"fmt"
	"math"
	"net/http"
	"strconv"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Deploy change reports: the dry runs apigeecli and the Maven plugin ask
// for before a deploy or undeploy (GoogleCloudApigeeV1DeploymentChangeReport).
// They apply the deploy's own rules (checkDeploy) and the route conflict
// analysis of deployments (routeConflicts, deployedBefore) to a deployment
// that does not exist yet, and change nothing.

type changeReportView struct {
	RoutingChanges   []routingChangeView      `json:"routingChanges"`
	RoutingConflicts []routeConflictView      `json:"routingConflicts"`
	ValidationErrors *preconditionFailureView `json:"validationErrors,omitempty"`
}

type routingChangeView struct {
	Description           string                 `json:"description"`
	EnvironmentGroup      string                 `json:"environmentGroup"`
	FromDeployment        *routingDeploymentView `json:"fromDeployment,omitempty"`
	ShouldSequenceRollout bool                   `json:"shouldSequenceRollout"`
	ToDeployment          *routingDeploymentView `json:"toDeployment,omitempty"`
}

// preconditionFailureView is google.rpc.PreconditionFailure.
type preconditionFailureView struct {
	Violations []violationView `json:"violations"`
}

type violationView struct {
	Type        string `json:"type"`
	Subject     string `json:"subject"`
	Description string `json:"description"`
}

func newChangeReport() *changeReportView {
	return &changeReportView{RoutingChanges: []routingChangeView{}, RoutingConflicts: []routeConflictView{}}
}

// violate records err, a refusal the real request would get, as a
// violation: its canonical code is the type, subject the revision.
func (rep *changeReportView) violate(err error, subject string) {
	e := apierr.From(err)
	if rep.ValidationErrors == nil {
		rep.ValidationErrors = &preconditionFailureView{}
	}
	rep.ValidationErrors.Violations = append(rep.ValidationErrors.Violations,
		violationView{Type: e.Status, Subject: subject, Description: e.Message})
}

func revisionSubject(r *http.Request) string {
	return fmt.Sprintf("organizations/%s/environments/%s/apis/%s/revisions/%s",
		r.PathValue("org"), r.PathValue("env"), r.PathValue("name"), r.PathValue("rev"))
}

// generateDeployChangeReport serves POST …/environments/{env}/apis/{name}/revisions/{rev}/deployments:generateDeployChangeReport
// (?override): what deploying the revision would change, without deploying.
func (a *API) generateDeployChangeReport(w http.ResponseWriter, r *http.Request) error {
	env, name := r.PathValue("env"), r.PathValue("name")
	override, err := boolParam(r, "override")
	if err != nil {
		return err
	}
	rep := newChangeReport()
	err = a.viewEnv(r, func(o *state.Org, _ *state.Environment) error {
		_, rev, err := lookupRevision(o, proxies, name, r.PathValue("rev"))
		if err != nil {
			return err
		}
		cur, err := checkDeploy(o, proxies, env, name, rev, override)
		if err != nil {
			rep.violate(err, revisionSubject(r))
		}
		if cur != nil && cur.Revision == rev.Revision && !override {
			return nil // a deploy would change nothing
		}
		next := &state.Deployment{Environment: env, Kind: state.KindProxy, Name: name, Revision: rev.Revision,
			DeployStartTime: math.MaxInt64} // deployed now: after every other
		rep.RoutingConflicts = routeConflicts(o, next, o.GroupsOf(env), rev.BasePaths)
		rep.RoutingChanges = routingChanges(o, env, cur, next, rev.BasePaths)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, rep)
}

// generateUndeployChangeReport serves POST …/environments/{env}/apis/{name}/revisions/{rev}/deployments:generateUndeployChangeReport:
// what undeploying the revision would change, without undeploying.
func (a *API) generateUndeployChangeReport(w http.ResponseWriter, r *http.Request) error {
	env, name, rev := r.PathValue("env"), r.PathValue("name"), r.PathValue("rev")
	rep := newChangeReport()
	err := a.viewEnv(r, func(o *state.Org, _ *state.Environment) error {
		n, err := parseRevision(rev)
		if err != nil {
			return err
		}
		cur := o.FindDeployment(env, state.KindProxy, name)
		if cur == nil || cur.Revision != n {
			rep.violate(apierr.FailedPrecondition("revision %s of %s %s is not deployed in environment %s", rev, proxies.noun, name, env), revisionSubject(r))
			return nil
		}
		rep.RoutingChanges = routingChanges(o, env, cur, nil, nil)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, rep)
}

// routingChanges lists, per environment group of env and base path, where
// traffic goes when next (nil for an undeploy) replaces cur (nil for a
// first deploy) in env. A base path goes to the earliest deployment that
// serves it in the group (routeConflicts); one cur serves and next does not
// take over goes to the next earliest deployment in another environment,
// or nowhere.
func routingChanges(o *state.Org, env string, cur, next *state.Deployment, nextPaths []string) []routingChangeView {
	out := []routingChangeView{}
	var curPaths []string
	if cur != nil {
		curPaths = basePaths(o, cur)
	}
	for _, g := range o.GroupsOf(env) {
		groups := []*state.EnvGroup{g}
		seen := map[string]bool{}
		for _, p := range append(append([]string{}, nextPaths...), curPaths...) {
			if seen[normBasePath(p)] {
				continue
			}
			seen[normBasePath(p)] = true
			var from, to *routingDeploymentView
			if cur != nil && len(sharedBasePaths([]string{p}, curPaths)) > 0 &&
				len(routeConflicts(o, cur, groups, []string{p})) == 0 {
				from = routingDeploymentOf(cur, p)
			}
			switch {
			case next != nil && len(sharedBasePaths([]string{p}, nextPaths)) > 0 &&
				len(routeConflicts(o, next, groups, []string{p})) == 0:
				to = routingDeploymentOf(next, p)
			case from != nil:
				if s := successor(o, g, p, env); s != nil {
					to = routingDeploymentOf(s, p)
				}
			}
			if from == nil && to == nil || from != nil && to != nil && *from == *to {
				continue
			}
			out = append(out, routingChangeView{
				Description:      routingChangeText(g.Name, p, from, to),
				EnvironmentGroup: g.Name, FromDeployment: from, ToDeployment: to,
				// Sequencing helps when traffic moves from one deployment to
				// another: the new route is up before the old one goes.
				ShouldSequenceRollout: from != nil && to != nil,
			})
		}
	}
	return out
}

// successor is the deployment in another environment of g than env that
// serves base path p once env's deployment of it is gone: the earliest.
func successor(o *state.Org, g *state.EnvGroup, p, env string) *state.Deployment {
	var best *state.Deployment
	for _, at := range g.Attachments {
		if at.Environment == env {
			continue
		}
		for _, d := range o.DeploymentsWhere(func(x *state.Deployment) bool {
			return x.Environment == at.Environment && x.Kind == state.KindProxy
		}) {
			if len(sharedBasePaths([]string{p}, basePaths(o, d))) > 0 && (best == nil || deployedBefore(d, best)) {
				best = d
			}
		}
	}
	return best
}

func routingDeploymentOf(d *state.Deployment, p string) *routingDeploymentView {
	return &routingDeploymentView{APIProxy: d.Name, Basepath: p, Environment: d.Environment, Revision: strconv.Itoa(d.Revision)}
}

func describeRouting(d *routingDeploymentView) string {
	return fmt.Sprintf("API proxy %s revision %s in environment %s", d.APIProxy, d.Revision, d.Environment)
}

func routingChangeText(group, p string, from, to *routingDeploymentView) string {
	switch {
	case from == nil:
		return fmt.Sprintf("basepath %s of environment group %s will be routed to %s", p, group, describeRouting(to))
	case to == nil:
		return fmt.Sprintf("basepath %s of environment group %s will no longer be routed to %s; no other deployment serves it", p, group, describeRouting(from))
	default:
		return fmt.Sprintf("basepath %s of environment group %s will be routed to %s instead of %s", p, group, describeRouting(to), describeRouting(from))
	}
}
