package watcher

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/cpclient"
)

// ApigeeRoute is the route a watcher publishes for one environment group
// on its instance, in the shape of hybrid's ApigeeRoute custom resource
// (apigee.cloud.google.com/v1alpha1): the group's hostnames, the ingress
// port, and — where hybrid keeps them in the ingress's own configuration —
// the group's base-path rules, limited to the environments this instance
// runs.
type ApigeeRoute struct {
	APIVersion string          `json:"apiVersion"`
	Kind       string          `json:"kind"`
	Metadata   routeMetadata   `json:"metadata"`
	Spec       apigeeRouteSpec `json:"spec"`
}

type routeMetadata struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace"`
	Labels    map[string]string `json:"labels"`
}

type apigeeRouteSpec struct {
	Hostnames []string          `json:"hostnames"`
	Ports     []routePort       `json:"ports"`
	Selector  map[string]string `json:"selector"`
	Rules     []routeRule       `json:"rules"`
}

type routePort struct {
	Number   int    `json:"number"`
	Protocol string `json:"protocol"`
}

// routeRule sends a base path of the group to an environment (and names
// the deployment that claims it, and any conflicting environments).
type routeRule struct {
	Basepath     string   `json:"basepath"`
	Environment  string   `json:"environment"`
	Receiver     string   `json:"receiver,omitempty"`
	OtherTargets []string `json:"otherTargets,omitempty"`
}

// routeSet is what GET /v1/watcher/routes serves: the routes of the
// ingress configuration revision they were made from.
type routeSet struct {
	Revision int64         `json:"revision,string"`
	Items    []ApigeeRoute `json:"items"`
}

// routesFor builds the instance's routes: a group is published when one
// of its rules routes to an environment this instance runs, with the
// rules of those environments only (the others are served elsewhere).
func routesFor(org, instance string, envs []string, ic *cpclient.IngressConfig) *routeSet {
	out := &routeSet{Revision: ic.RevisionID, Items: []ApigeeRoute{}}
	for _, g := range ic.EnvironmentGroups {
		group := g.Name[strings.LastIndex(g.Name, "/")+1:]
		r := ApigeeRoute{
			APIVersion: "apigee.cloud.google.com/v1alpha1", Kind: "ApigeeRoute",
			Metadata: routeMetadata{Name: org + "-" + group, Namespace: "apigee",
				Labels: map[string]string{"org": org, "envgroup": group, "instance": instance}},
			Spec: apigeeRouteSpec{Hostnames: g.Hostnames, Ports: []routePort{{Number: 443, Protocol: "HTTPS"}},
				Selector: map[string]string{"app": "apigee-ingressgateway"}, Rules: []routeRule{}},
		}
		runsHere := false
		for _, rule := range g.RoutingRules {
			env := rule.Environment[strings.LastIndex(rule.Environment, "/")+1:]
			if !slices.Contains(envs, env) {
				continue
			}
			runsHere = true
			r.Spec.Rules = append(r.Spec.Rules, routeRule{Basepath: rule.Basepath, Environment: env, Receiver: rule.Receiver, OtherTargets: rule.OtherTargets})
		}
		if runsHere {
			out.Items = append(out.Items, r)
		}
	}
	return out
}

// runsHere keeps the environments of envs this instance runs: an
// environment attached to some instance (organizations.instances
// .attachments) runs only on those; one attached to none runs on every
// instance given it, as the message processors decide from the contract.
func runsHere(instance string, envs []string, attached map[string][]string) []string {
	var out []string
	for _, env := range envs {
		anywhere, here := false, false
		for in, list := range attached {
			if slices.Contains(list, env) {
				anywhere, here = true, here || in == instance
			}
		}
		if !anywhere || here {
			out = append(out, env)
		}
	}
	return out
}

func (w *watcher) refreshRoutes(ctx context.Context) error {
	ic, err := w.cp.DeployedIngressConfig(ctx, w.cfg.Org)
	if err != nil {
		return err
	}
	attached, err := w.cp.InstanceEnvironments(ctx, w.cfg.Org)
	if err != nil {
		return err
	}
	next := routesFor(w.cfg.Org, w.cfg.InstanceID, runsHere(w.cfg.InstanceID, w.cfg.Environments, attached), ic)
	if prev := w.routes.Load().(*routeSet); prev.Revision != next.Revision {
		w.log.Info("published routes", zap.Int64("ingressRevision", next.Revision), zap.Int("apigeeRoutes", len(next.Items)))
	}
	w.routes.Store(next)
	return nil
}

func (w *watcher) serveRoutes(rw http.ResponseWriter, _ *http.Request) {
	rw.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(rw).Encode(w.routes.Load())
}
