package flow

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/condition"
	"github.com/hybrid-emulator/hybrid/pkg/contract"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// Policy is a compiled policy. Policies are compiled once per contract and
// executed concurrently by many requests; all per-request state lives in
// the MessageContext. Execute returns a *Fault to raise an Apigee fault.
type Policy interface {
	Execute(ctx context.Context, mc *MessageContext) error
}

// PolicyFunc adapts a function to Policy.
type PolicyFunc func(ctx context.Context, mc *MessageContext) error

// Execute implements Policy.
func (f PolicyFunc) Execute(ctx context.Context, mc *MessageContext) error { return f(ctx, mc) }

// Runner runs a compiled shared flow in a caller's message context.
type Runner interface {
	Run(ctx context.Context, mc *MessageContext) error
}

// CompileContext is what a policy compiler may use.
type CompileContext struct {
	Bundle *bundle.Bundle
	Policy *bundle.Policy
	Org    string
	Env    string
	// HTTPClient calls out (ServiceCallout, JavaScript httpClient).
	HTTPClient *http.Client
	Log        *zap.Logger
	// SharedFlow returns a deployed shared flow of the environment.
	SharedFlow func(name string) (Runner, bool)
	// TargetServers are the environment's target servers by name.
	TargetServers map[string]contract.TargetServer
	// Data is the organization's runtime data (keys, tokens, KVMs, quota
	// counters) in Cassandra; nil where the engine runs without it (unit
	// tests, tools), and then policies that need it refuse to compile.
	Data *rtdata.Store
	// Resources resolves a resource URL ("jsc://a.js", "xsl://t.xsl",
	// "oas://spec.yaml") as Apigee does: the bundle's own resources first,
	// then the environment's resource files. Nil means the bundle only
	// (unit tests); policies call Resource, not this.
	Resources func(url string) ([]byte, bool)
	// HTTPTarget compiles a policy's <HTTPTargetConnection> (ServiceCallout)
	// as the engine compiles a TargetEndpoint's: SSLInfo over the
	// environment's keystores, Properties, Authentication with the
	// deployment's service account. element is the connection's path in
	// the policy ("ServiceCallout/HTTPTargetConnection"); errors are
	// *InvalidPolicyError naming the element below it. Nil where no engine
	// compiles (policy unit tests): then only a plain URL connection works.
	HTTPTarget func(htc *bundle.HTTPTargetConnection, element string) (*HTTPTarget, error)
}

// HTTPTarget is a compiled HTTPTargetConnection a policy calls through.
type HTTPTarget struct {
	// Client sends requests: TLS, connect and I/O timeouts applied,
	// redirects not followed.
	Client *http.Client
	// Success reports whether a response status is a success
	// (success.codes; nil: below 400).
	Success func(code int) bool
	// Authorize puts the <Authentication> token on a request; nil when
	// the connection has none.
	Authorize func(ctx context.Context, mc *MessageContext, req *http.Request) error
}

// Resource returns a resource's content through Resources, or from the
// bundle alone when there is no resolver.
func (cc *CompileContext) Resource(url string) ([]byte, bool) {
	if cc.Resources != nil {
		return cc.Resources(url)
	}
	if cc.Bundle == nil {
		return nil, false
	}
	data, ok := cc.Bundle.Resources[url]
	return data, ok
}

// NeedData returns cc.Data, or a compile error naming the policy type when
// the runtime has no runtime data store.
func (cc *CompileContext) NeedData() (*rtdata.Store, error) {
	if cc.Data == nil {
		return nil, Invalid(cc.Policy.Type, "policy type %s needs the runtime data store (Cassandra), which this runtime does not have", cc.Policy.Type)
	}
	return cc.Data, nil
}

// Step is a compiled <Step>: a policy with its condition and attributes.
type Step struct {
	Name string
	// Type is the policy's root element; Namespace prefixes its
	// "<namespace>.<name>.failed" variable.
	Type, Namespace string
	Condition       *condition.Condition
	Policy          Policy
	Enabled         bool
	ContinueOnError bool
}

// Steps is a sequence of steps.
type Steps []*Step

// Run executes the steps in order. A step whose policy fails stops the
// sequence with the policy's fault, unless the policy has
// continueOnError="true", in which case only <ns>.<name>.failed is set.
func (s Steps) Run(ctx context.Context, mc *MessageContext) error {
	for _, st := range s {
		if err := st.run(ctx, mc); err != nil {
			return err
		}
		if mc.EndRequestFlow && !mc.State.IsResponse() {
			return nil
		}
	}
	return nil
}

func (st *Step) run(ctx context.Context, mc *MessageContext) error {
	if !st.Enabled {
		return nil
	}
	if mc.Debug != nil {
		return st.traced(ctx, mc)
	}
	if st.Condition != nil && !st.Condition.Eval(mc) {
		return nil
	}
	err := st.Policy.Execute(ctx, mc)
	if err == nil {
		return nil
	}
	f := AsFault(err, st.Type, st.Name)
	mc.SetVar(st.Namespace+"."+st.Name+".failed", true)
	if st.ContinueOnError {
		if mc.Log != nil {
			mc.Log.Debug("policy failed; continueOnError", zap.String("policy", st.Name), zap.String("errorcode", f.Code))
		}
		return nil
	}
	return f
}

// execute is run's policy call for a traced step (run keeps its own copy
// so that an untraced step pays no extra call); failed is the policy's
// error even when continueOnError swallowed it (then err is nil).
func (st *Step) execute(ctx context.Context, mc *MessageContext) (err, failed error) {
	perr := st.Policy.Execute(ctx, mc)
	if perr == nil {
		return nil, nil
	}
	f := AsFault(perr, st.Type, st.Name)
	mc.SetVar(st.Namespace+"."+st.Name+".failed", true)
	if st.ContinueOnError {
		if mc.Log != nil {
			mc.Log.Debug("policy failed; continueOnError", zap.String("policy", st.Name), zap.String("errorcode", f.Code))
		}
		return nil, f
	}
	return f, f
}

// traced runs a step of a transaction a debug session captures and tells
// the session's tracer what happened.
func (st *Step) traced(ctx context.Context, mc *MessageContext) error {
	start := time.Now()
	if st.Condition != nil && !st.Condition.Eval(mc) {
		mc.Debug.StepDone(mc, st, false, start, nil)
		return nil
	}
	err, failed := st.execute(ctx, mc)
	mc.Debug.StepDone(mc, st, true, start, failed)
	return err
}

// RunFaultRule executes the steps of a fault rule. Unlike a flow, an error
// in one step does not stop the rule: Apigee goes on with the remaining
// steps, and a fault raised here (RaiseFault) replaces the error response.
// raised reports whether any step raised a fault.
func (s Steps) RunFaultRule(ctx context.Context, mc *MessageContext) (raised bool) {
	for _, st := range s {
		err := st.run(ctx, mc)
		if err == nil {
			continue
		}
		raised = true
		f := err.(*Fault)
		mc.Fault = f
		mc.Response = f.DefaultResponse()
	}
	return raised
}

// Empty reports whether there is nothing to run.
func (s Steps) Empty() bool { return len(s) == 0 }

func parseURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		return nil
	}
	return u
}
