package apigee

import (
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/state"
)

// flowHookPoints are the four points Apigee offers, in execution order.
var flowHookPoints = []string{"PreProxyFlowHook", "PreTargetFlowHook", "PostTargetFlowHook", "PostProxyFlowHook"}

// flowHookView is Apigee's FlowHook resource.
type flowHookView struct {
	FlowHookPoint   string `json:"flowHookPoint"`
	SharedFlow      string `json:"sharedFlow,omitempty"`
	ContinueOnError *bool  `json:"continueOnError,omitempty"`
	Description     string `json:"description,omitempty"`
}

type flowHookInput struct {
	SharedFlow      string `json:"sharedFlow"`
	ContinueOnError *bool  `json:"continueOnError"`
	Description     string `json:"description"`
}

func checkFlowHookPoint(p string) error {
	for _, x := range flowHookPoints {
		if x == p {
			return nil
		}
	}
	return apierr.InvalidArgument("Invalid flow hook point %q: must be one of %s.", p, strings.Join(flowHookPoints, ", "))
}

func hookView(point string, h *state.FlowHook) flowHookView {
	v := flowHookView{FlowHookPoint: point}
	if h != nil {
		coe := h.ContinueOnError
		v.SharedFlow, v.ContinueOnError, v.Description = h.SharedFlow, &coe, h.Description
	}
	return v
}

// listFlowHooks answers with the flow hook point names, as Apigee does.
func (a *API) listFlowHooks(w http.ResponseWriter, r *http.Request) error {
	err := a.viewEnv(r, func(*state.Org, *state.Environment) error { return nil })
	if err != nil {
		return err
	}
	return ok(w, flowHookPoints)
}

func (a *API) getFlowHook(w http.ResponseWriter, r *http.Request) error {
	point := r.PathValue("point")
	if err := checkFlowHookPoint(point); err != nil {
		return err
	}
	var v flowHookView
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		v = hookView(point, e.FlowHooks[point])
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// attachFlowHook serves PUT …/flowhooks/{point}: the shared flow must exist
// and be deployed to the environment; continueOnError defaults to true.
func (a *API) attachFlowHook(w http.ResponseWriter, r *http.Request) error {
	org, env, point := r.PathValue("org"), r.PathValue("env"), r.PathValue("point")
	if err := checkFlowHookPoint(point); err != nil {
		return err
	}
	var in flowHookInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.SharedFlow == "" {
		return apierr.InvalidArgument("sharedFlow is required to attach a shared flow to %s.", point)
	}
	var v flowHookView
	err := a.mutateEnv(r, func(_ *state.Tx, o *state.Org, e *state.Environment) error {
		if o.SharedFlows[in.SharedFlow] == nil {
			return apierr.NotFound("Shared flow %s not found in organization %s.", in.SharedFlow, org)
		}
		if o.FindDeployment(env, state.KindSharedFlow, in.SharedFlow) == nil {
			return apierr.FailedPrecondition("Shared flow %s is not deployed to environment %s; deploy it before attaching it to %s.", in.SharedFlow, env, point)
		}
		h := &state.FlowHook{SharedFlow: in.SharedFlow, ContinueOnError: true, Description: in.Description}
		if in.ContinueOnError != nil {
			h.ContinueOnError = *in.ContinueOnError
		}
		if e.FlowHooks == nil {
			e.FlowHooks = map[string]*state.FlowHook{}
		}
		e.FlowHooks[point] = h
		v = hookView(point, h)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// detachFlowHook serves DELETE …/flowhooks/{point} and returns what was
// attached.
func (a *API) detachFlowHook(w http.ResponseWriter, r *http.Request) error {
	env, point := r.PathValue("env"), r.PathValue("point")
	if err := checkFlowHookPoint(point); err != nil {
		return err
	}
	var v flowHookView
	err := a.mutateEnv(r, func(_ *state.Tx, _ *state.Org, e *state.Environment) error {
		h := e.FlowHooks[point]
		if h == nil {
			return apierr.NotFound("No shared flow is attached to %s in environment %s.", point, env)
		}
		delete(e.FlowHooks, point)
		v = hookView(point, h)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// targetServerView is Apigee's TargetServer resource.
type targetServerView struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Host        string            `json:"host"`
	Port        int               `json:"port"`
	IsEnabled   bool              `json:"isEnabled"`
	Protocol    string            `json:"protocol,omitempty"`
	SSLInfo     *contract.SSLInfo `json:"sSLInfo,omitempty"`
}

type targetServerInput struct {
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Host        string            `json:"host"`
	Port        int               `json:"port"`
	IsEnabled   *bool             `json:"isEnabled"`
	Protocol    string            `json:"protocol"`
	SSLInfo     *contract.SSLInfo `json:"sSLInfo"`
}

var (
	targetServerNameRE = regexp.MustCompile(`^[a-zA-Z0-9_\-.]{1,255}$`)
	targetProtocols    = map[string]bool{"HTTP": true, "HTTP2": true, "GRPC_TARGET": true, "GRPC": true, "EXTERNAL_CALLOUT": true}
)

// validate checks a target server and applies Apigee's defaults
// (isEnabled true, protocol HTTP).
func (in *targetServerInput) validate() (*state.TargetServer, error) {
	if err := checkName("TargetServer", in.Name, targetServerNameRE); err != nil {
		return nil, err
	}
	host := strings.TrimSpace(in.Host)
	if host == "" || strings.ContainsAny(host, "/ ") {
		return nil, apierr.InvalidArgument("TargetServer %s: host %q must be a host name or IP address.", in.Name, in.Host)
	}
	if in.Port < 1 || in.Port > 65535 {
		return nil, apierr.InvalidArgument("TargetServer %s: port %d is out of range 1-65535.", in.Name, in.Port)
	}
	proto := in.Protocol
	if proto == "" {
		proto = "HTTP"
	}
	if !targetProtocols[proto] {
		return nil, apierr.InvalidArgument("TargetServer %s: unknown protocol %q.", in.Name, in.Protocol)
	}
	ts := &state.TargetServer{Description: in.Description}
	ts.Name, ts.Host, ts.Port, ts.IsEnabled, ts.Protocol, ts.SSLInfo = in.Name, host, in.Port, true, proto, in.SSLInfo
	if in.IsEnabled != nil {
		ts.IsEnabled = *in.IsEnabled
	}
	return ts, nil
}

func tsView(ts *state.TargetServer) targetServerView {
	return targetServerView{Name: ts.Name, Description: ts.Description, Host: ts.Host, Port: ts.Port, IsEnabled: ts.IsEnabled, Protocol: ts.Protocol, SSLInfo: ts.SSLInfo}
}

// listTargetServers answers with the names, as Apigee does.
func (a *API) listTargetServers(w http.ResponseWriter, r *http.Request) error {
	var names []string
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		for n := range e.TargetServers {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, nonNil(names))
}

func (a *API) getTargetServer(w http.ResponseWriter, r *http.Request) error {
	var v targetServerView
	err := a.viewEnv(r, func(_ *state.Org, e *state.Environment) error {
		ts := e.TargetServers[r.PathValue("ts")]
		if ts == nil {
			return apierr.NotFound("TargetServer %s not found in environment %s.", r.PathValue("ts"), e.Name)
		}
		v = tsView(ts)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

func (a *API) createTargetServer(w http.ResponseWriter, r *http.Request) error {
	return a.putTargetServer(w, r, true)
}

func (a *API) updateTargetServer(w http.ResponseWriter, r *http.Request) error {
	return a.putTargetServer(w, r, false)
}

func (a *API) putTargetServer(w http.ResponseWriter, r *http.Request, create bool) error {
	env := r.PathValue("env")
	var in targetServerInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if !create {
		name := r.PathValue("ts")
		if in.Name != "" && in.Name != name {
			return apierr.InvalidArgument("TargetServer name %q in the body does not match %q in the path.", in.Name, name)
		}
		in.Name = name
	}
	ts, err := in.validate()
	if err != nil {
		return err
	}
	err = a.mutateEnv(r, func(_ *state.Tx, _ *state.Org, e *state.Environment) error {
		_, exists := e.TargetServers[ts.Name]
		switch {
		case create && exists:
			return apierr.AlreadyExists("TargetServer %s already exists in environment %s.", ts.Name, env)
		case !create && !exists:
			return apierr.NotFound("TargetServer %s not found in environment %s.", ts.Name, env)
		}
		if e.TargetServers == nil {
			e.TargetServers = map[string]*state.TargetServer{}
		}
		e.TargetServers[ts.Name] = ts
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, tsView(ts))
}

func (a *API) deleteTargetServer(w http.ResponseWriter, r *http.Request) error {
	env, name := r.PathValue("env"), r.PathValue("ts")
	var v targetServerView
	err := a.mutateEnv(r, func(_ *state.Tx, _ *state.Org, e *state.Environment) error {
		ts := e.TargetServers[name]
		if ts == nil {
			return apierr.NotFound("TargetServer %s not found in environment %s.", name, env)
		}
		delete(e.TargetServers, name)
		v = tsView(ts)
		return nil
	})
	if err != nil {
		return err
	}
	return ok(w, v)
}

// envRuntimeConfig copies an environment's flow hooks and target servers
// into its runtime contract.
func envRuntimeConfig(c *contract.Contract, e *state.Environment) {
	for point, h := range e.FlowHooks {
		if c.FlowHooks == nil {
			c.FlowHooks, c.FlowHookContinueOnError = map[string]string{}, map[string]bool{}
		}
		c.FlowHooks[point] = h.SharedFlow
		c.FlowHookContinueOnError[point] = h.ContinueOnError
	}
	names := make([]string, 0, len(e.TargetServers))
	for n := range e.TargetServers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c.TargetServers = append(c.TargetServers, e.TargetServers[n].TargetServer)
	}
}
