package apigee

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/pkg/seal"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// Long-poll bounds of GET …/contract/version.
const (
	DefaultWait = 30 * time.Second
	MaxWait     = 60 * time.Second
)

// HeartbeatPersist is how stale an instance's stored report time may get
// before an otherwise identical report is written to the snapshot again.
const HeartbeatPersist = time.Minute

type runtimeReport struct {
	Instance        string            `json:"instance"`
	ContractVersion string            `json:"contractVersion"`
	Pods            []state.PodReport `json:"pods"`
	Deployments     []struct {
		APIProxy string `json:"apiProxy"`
		Kind     string `json:"kind"`
		Revision string `json:"revision"`
		State    string `json:"state"`
		Errors   []struct {
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"deployments"`
}

// runtimeStatus serves POST …/environments/{env}/runtimeStatus: a runtime
// instance (the watcher) reports which contract version it runs and the
// state of each deployment, which makes deployments READY or ERROR.
func (a *API) runtimeStatus(w http.ResponseWriter, r *http.Request) error {
	env := r.PathValue("env")
	var in runtimeReport
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Instance == "" {
		return apierr.InvalidArgument("runtime status: instance is required")
	}
	if !contract.ValidVersion(in.ContractVersion) {
		return apierr.InvalidArgument("runtime status: contractVersion %q is not a contract version (%s)", in.ContractVersion, contract.VersionLayout)
	}
	rep := &state.InstanceReport{Instance: in.Instance, ContractVersion: in.ContractVersion}
	for _, p := range in.Pods {
		if p.PodName == "" {
			return apierr.InvalidArgument("runtime status: every pod needs a podName")
		}
		rep.Pods = append(rep.Pods, p)
	}
	for _, d := range in.Deployments {
		k := state.Kind(d.Kind)
		switch k {
		case "":
			k = state.KindProxy
		case state.KindProxy, state.KindSharedFlow:
		default:
			return apierr.InvalidArgument("runtime status: kind %q of %s must be apiproxy or sharedflow", d.Kind, d.APIProxy)
		}
		switch d.State {
		case StateReady, StateError, StateProgressing:
		default:
			return apierr.InvalidArgument("runtime status: state %q of %s must be READY, ERROR or PROGRESSING", d.State, d.APIProxy)
		}
		if d.APIProxy == "" || d.Revision == "" {
			return apierr.InvalidArgument("runtime status: every deployment needs apiProxy and revision")
		}
		st := state.ReportedStatus{Kind: k, Name: d.APIProxy, Revision: d.Revision, State: d.State}
		for _, e := range d.Errors {
			st.Errors = append(st.Errors, e.Message)
		}
		rep.Deployments = append(rep.Deployments, st)
	}
	err := a.mutateOrg(r, func(tx *state.Tx, o *state.Org) error {
		e, err := lookupEnv(o, env)
		if err != nil {
			return err
		}
		prev := e.Instances[in.Instance]
		for i := range rep.Deployments {
			rep.Deployments[i].Since = tx.Millis()
			if prev == nil {
				continue
			}
			for _, p := range prev.Deployments {
				s := rep.Deployments[i]
				if p.Kind == s.Kind && p.Name == s.Name && p.Revision == s.Revision && p.State == s.State {
					rep.Deployments[i].Since = p.Since
				}
			}
		}
		if prev != nil {
			rep.ReportedAt = prev.ReportedAt
			if reflect.DeepEqual(prev, rep) && tx.Now.Sub(time.UnixMilli(prev.ReportedAt)) < HeartbeatPersist {
				// A mere heartbeat: the stored report is recent enough, so
				// the snapshot is not rewritten for it.
				tx.Unchanged()
				return nil
			}
		}
		rep.ReportedAt = tx.Millis()
		if e.Instances == nil {
			e.Instances = map[string]*state.InstanceReport{}
		}
		e.Instances[in.Instance] = rep
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, struct{}{})
}

func parseWait(s string) (time.Duration, error) {
	if s == "" {
		return DefaultWait, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		n, nerr := strconv.ParseFloat(s, 64)
		if nerr != nil {
			return 0, apierr.InvalidArgument("timeout %q is not a duration (e.g. 30s)", s)
		}
		d = time.Duration(n * float64(time.Second))
	}
	if d < 0 {
		d = 0
	}
	return min(d, MaxWait), nil
}

// contractVersion serves GET …/contract/version[?waitForChangeFrom=v&timeout=30s].
// With waitForChangeFrom it long-polls: it answers as soon as the current
// version differs, or with the unchanged version at the timeout.
func (a *API) contractVersion(w http.ResponseWriter, r *http.Request) error {
	org, env := r.PathValue("org"), r.PathValue("env")
	notFound := func() error {
		return apierr.NotFound("environment %s not found in organization %s", env, org)
	}
	from := r.URL.Query().Get("waitForChangeFrom")
	var v string
	var err error
	if from == "" {
		v, err = a.store.ContractVersion(org, env)
	} else {
		wait, perr := parseWait(r.URL.Query().Get("timeout"))
		if perr != nil {
			return perr
		}
		ctx, cancel := context.WithTimeout(r.Context(), wait)
		defer cancel()
		go a.cancelOnDrain(ctx, cancel)
		v, err = a.store.WaitContractChange(ctx, org, env, from)
	}
	if errors.Is(err, state.ErrNotFound) {
		return notFound()
	}
	if err != nil {
		return err
	}
	return ok(w, map[string]string{"version": v})
}

// drainCheck is how often a long-poll looks for a shutdown in progress.
const drainCheck = 250 * time.Millisecond

// cancelOnDrain ends a long-poll once the service starts draining, so a
// shutdown does not wait for it to time out.
func (a *API) cancelOnDrain(ctx context.Context, cancel context.CancelFunc) {
	t := time.NewTicker(drainCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if a.draining() {
				cancel()
				return
			}
		}
	}
}

// getContract serves GET …/contract: the environment's current runtime
// contract with every deployed bundle inlined.
func (a *API) getContract(w http.ResponseWriter, r *http.Request) error {
	org, env := r.PathValue("org"), r.PathValue("env")
	var body []byte
	err := a.viewEnv(r, func(o *state.Org, e *state.Environment) error {
		c := &contract.Contract{Organization: org, Environment: env, Version: e.ContractVersion, Hostnames: o.Hostnames(env)}
		if len(e.Properties) > 0 {
			c.Properties = map[string]string{}
			for _, p := range e.Properties {
				c.Properties[p.Name] = p.Value
			}
		}
		for name := range attachedInstances(o, env) {
			c.Instances = append(c.Instances, name)
		}
		envRuntimeConfig(c, e)
		if err := envKeystores(c, e, func() (*seal.Sealer, error) { return a.store.ContractSealer(org) }); err != nil {
			return err
		}
		envResourceFiles(c, e)
		envDebugSessions(c, e, time.Now())
		for _, dep := range o.DeploymentsWhere(func(x *state.Deployment) bool { return x.Environment == env }) {
			zip, err := a.store.ReadBundle(org, dep.Kind, dep.Name, dep.Revision)
			if err != nil {
				return apierr.Internal("contract %s/%s: %v", org, env, err)
			}
			cd := contract.Deployment{Name: dep.Name, Revision: strconv.Itoa(dep.Revision), DeployStartTime: time.UnixMilli(dep.DeployStartTime).UTC(), Bundle: zip,
				ServiceAccount: dep.ServiceAccount}
			if dep.Kind == state.KindSharedFlow {
				c.SharedFlows = append(c.SharedFlows, cd)
			} else {
				c.APIProxies = append(c.APIProxies, cd)
			}
		}
		c.Sort()
		var err error
		body, err = contract.Marshal(c)
		return err
	})
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_, _ = w.Write(body)
	return nil
}
