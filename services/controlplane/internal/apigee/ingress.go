package apigee

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// The deployed ingress configuration (organizations.getDeployedIngressConfig
// and organizations.envgroups.getDeployedIngressConfig) is what a runtime
// instance's watcher polls to publish its routes: per environment group,
// its hostnames and one routing rule per base path deployed in one of its
// environments. A base path deployed in two environments of a group is
// routed to the earlier deployment; the later one is listed in the rule's
// otherTargets, which is how the real API shows a route conflict.

type ingressConfigView struct {
	Name               string               `json:"name"`
	RevisionCreateTime string               `json:"revisionCreateTime,omitempty"`
	RevisionID         int64                `json:"revisionId,string,omitempty"`
	UID                string               `json:"uid"`
	EnvironmentGroups  []envGroupConfigView `json:"environmentGroups"`
}

type envGroupConfigView struct {
	Name         string            `json:"name"`
	Hostnames    []string          `json:"hostnames"`
	RoutingRules []routingRuleView `json:"routingRules"`
	RevisionID   int64             `json:"revisionId,string,omitempty"`
	UID          string            `json:"uid"`
}

type routingRuleView struct {
	Basepath         string   `json:"basepath"`
	Environment      string   `json:"environment"`
	OtherTargets     []string `json:"otherTargets,omitempty"`
	Receiver         string   `json:"receiver,omitempty"`
	EnvGroupRevision int64    `json:"envGroupRevision,string,omitempty"`
	UpdateTime       string   `json:"updateTime,omitempty"`
}

// ingressView is the view query parameter: BASIC (the default) or FULL,
// which adds each rule's receiver, revision and update time.
func ingressView(r *http.Request) (full bool, err error) {
	switch v := r.URL.Query().Get("view"); v {
	case "", "BASIC", "INGRESS_CONFIG_VIEW_UNSPECIFIED":
		return false, nil
	case "FULL":
		return true, nil
	default:
		return false, apierr.InvalidArgument("Invalid value at 'view' (type.googleapis.com/google.cloud.apigee.v1.IngressConfigView), %q", v)
	}
}

// groupIngress is one environment group's deployed routing configuration.
// Its revision is the newest change that shaped it (the group itself or a
// deployment in one of its environments), in milliseconds, so it only
// grows.
func groupIngress(o *state.Org, g *state.EnvGroup, full bool) envGroupConfigView {
	v := envGroupConfigView{
		Name:         "organizations/" + o.Name + "/envgroups/" + g.Name,
		Hostnames:    append([]string{}, g.Hostnames...),
		RoutingRules: []routingRuleView{},
		RevisionID:   g.LastModifiedAt,
		UID:          uuid.NewSHA1(uuid.NameSpaceURL, fmt.Appendf(nil, "apigee:%s/envgroups/%s/%d", o.Name, g.Name, g.CreatedAt)).String(),
	}
	envs := map[string]bool{}
	for _, at := range g.Attachments {
		envs[at.Environment] = true
		v.RevisionID = max(v.RevisionID, at.CreatedAt)
	}
	deps := o.DeploymentsWhere(func(d *state.Deployment) bool { return envs[d.Environment] && d.Kind == state.KindProxy })
	sort.Slice(deps, func(i, j int) bool { return deployedBefore(deps[i], deps[j]) })
	byPath := map[string]int{} // normalised base path → index in v.RoutingRules
	for _, d := range deps {
		v.RevisionID = max(v.RevisionID, d.DeployStartTime)
		for _, p := range basePaths(o, d) {
			envName := "organizations/" + o.Name + "/environments/" + d.Environment
			if i, taken := byPath[normBasePath(p)]; taken {
				if v.RoutingRules[i].Environment != envName {
					v.RoutingRules[i].OtherTargets = append(v.RoutingRules[i].OtherTargets, envName)
				}
				continue
			}
			rule := routingRuleView{Basepath: p, Environment: envName}
			if full {
				rule.Receiver = "organizations/" + o.Name + "/apis/" + d.Name + "/revisions/" + strconv.Itoa(d.Revision)
				rule.EnvGroupRevision = max(g.LastModifiedAt, d.DeployStartTime)
				rule.UpdateTime = time.UnixMilli(rule.EnvGroupRevision).UTC().Format(time.RFC3339Nano)
			}
			byPath[normBasePath(p)] = len(v.RoutingRules)
			v.RoutingRules = append(v.RoutingRules, rule)
		}
	}
	sort.SliceStable(v.RoutingRules, func(i, j int) bool { return v.RoutingRules[i].Basepath < v.RoutingRules[j].Basepath })
	return v
}

// getDeployedIngressConfig serves GET /v1/organizations/{org}/deployedIngressConfig.
func (a *API) getDeployedIngressConfig(w http.ResponseWriter, r *http.Request) error {
	full, err := ingressView(r)
	if err != nil {
		return err
	}
	var v ingressConfigView
	err = a.viewOrg(r, func(o *state.Org) error {
		v = ingressConfigView{
			Name:              "organizations/" + o.Name + "/deployedIngressConfig",
			UID:               uuid.NewSHA1(uuid.NameSpaceURL, fmt.Appendf(nil, "apigee:%s/deployedIngressConfig", o.Name)).String(),
			EnvironmentGroups: []envGroupConfigView{},
		}
		names := make([]string, 0, len(o.EnvGroups))
		for n := range o.EnvGroups {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			g := groupIngress(o, o.EnvGroups[n], full)
			v.RevisionID = max(v.RevisionID, g.RevisionID)
			v.EnvironmentGroups = append(v.EnvironmentGroups, g)
		}
		if v.RevisionID > 0 {
			v.RevisionCreateTime = time.UnixMilli(v.RevisionID).UTC().Format(time.RFC3339Nano)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// getGroupDeployedIngressConfig serves GET
// /v1/organizations/{org}/envgroups/{group}/deployedIngressConfig.
func (a *API) getGroupDeployedIngressConfig(w http.ResponseWriter, r *http.Request) error {
	full, err := ingressView(r)
	if err != nil {
		return err
	}
	var v envGroupConfigView
	err = a.viewGroup(r, func(o *state.Org, g *state.EnvGroup) error {
		v = groupIngress(o, g, full)
		v.Name += "/deployedIngressConfig"
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}
