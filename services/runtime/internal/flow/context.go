// Package flow is the per-request execution state of the message processor:
// the MessageContext with its flow variables, faults, the Policy interface
// and step execution. The engine drives the order of flows; policies work
// on the MessageContext.
package flow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
)

// State is where in the proxy a flow runs; it is the value of error.state
// and decides what "message" means.
type State uint8

const (
	ProxyRequest State = iota
	TargetRequest
	TargetResponse
	ProxyResponse
	PostClient
)

var stateNames = [...]string{"PROXY_REQ_FLOW", "TARGET_REQ_FLOW", "TARGET_RESP_FLOW", "PROXY_RESP_FLOW", "PROXY_POST_CLIENT_FLOW"}

func (s State) String() string { return stateNames[s] }

// IsResponse reports whether the state is on the response path.
func (s State) IsResponse() bool { return s == TargetResponse || s == ProxyResponse || s == PostClient }

// Proxy describes the deployed proxy a request runs in.
type Proxy struct {
	Org, Env       string
	Name, Revision string
	Endpoint       string
	BasePath       string
	// PropertySets are read as propertyset.<set>.<key>.
	PropertySets PropertySets
}

// MessageContext is one request's state. It is used by one goroutine.
type MessageContext struct {
	Proxy *Proxy
	// Request and Response are the flow's messages. Response is nil until
	// the target answers or a policy creates it.
	Request  *message.Message
	Response *message.Message
	State    State
	// Fault is the active fault while the error flow runs.
	Fault *Fault
	// InError is true from the first fault on.
	InError bool

	PathSuffix string
	ClientIP   string
	ClientPort string
	// ClientScheme is the client's transport, http or https (client.scheme).
	ClientScheme string
	MessageID    string
	Start        time.Time
	FlowName     string

	// Target state; TargetURL is writable (target.url) in the target
	// request flow.
	TargetName     string
	TargetBasePath string
	TargetURL      string
	// CopyPathSuffix / CopyQueryParams are target.copy.pathsuffix /
	// target.copy.queryparams.
	CopyPathSuffix  bool
	CopyQueryParams bool

	Log *zap.Logger

	// EndRequestFlow, set by a policy that answers the request itself (the
	// CORS policy on a preflight, with the response in Response), ends the
	// request flow: the rest of the request steps, the route rules and the
	// target are skipped and execution goes on at the ProxyEndpoint
	// response PreFlow.
	EndRequestFlow bool
	// BeforeSend are run on the final response (success or error) just
	// before it is sent to the client (the CORS policy's
	// CORSResponseOrErrorFlowExecution step).
	BeforeSend []func(mc *MessageContext)

	// Debug, when a debug session captures this transaction, is told
	// about every step and variable write (nil otherwise).
	Debug Tracer

	vars map[string]any
	// depth bounds nested FlowCallouts.
	depth int
}

// New returns a context for a request.
func New(p *Proxy, req *message.Message, remoteAddr string, log *zap.Logger) *MessageContext {
	mc := &MessageContext{Proxy: p, Request: req, Start: time.Now(), Log: log, CopyPathSuffix: true, CopyQueryParams: true}
	if req != nil {
		mc.ClientScheme = req.Scheme
	}
	if h, port, err := net.SplitHostPort(remoteAddr); err == nil {
		mc.ClientIP, mc.ClientPort = h, port
	} else {
		mc.ClientIP = remoteAddr
	}
	return mc
}

// ErrReadOnly is the error for assigning a read-only flow variable.
type ErrReadOnly struct{ Name string }

func (e *ErrReadOnly) Error() string { return fmt.Sprintf("variable %s is read only", e.Name) }

// Depth is the nesting depth of FlowCallouts and local target calls.
func (mc *MessageContext) Depth() int { return mc.depth }

// SetDepth sets the nesting depth (for a chained local proxy call).
func (mc *MessageContext) SetDepth(d int) { mc.depth = d }

// Enter increments the nesting depth and returns it with a func to undo.
func (mc *MessageContext) Enter() (int, func()) {
	mc.depth++
	return mc.depth, func() { mc.depth-- }
}

// messageFor resolves the message-typed variables.
func (mc *MessageContext) messageFor(name string) *message.Message {
	switch name {
	case "request":
		return mc.Request
	case "response":
		return mc.Response
	case "message":
		if mc.InError || mc.State.IsResponse() {
			return mc.Response
		}
		return mc.Request
	case "error":
		if mc.InError {
			return mc.Response
		}
		return nil
	}
	if m, ok := mc.vars[name].(*message.Message); ok {
		return m
	}
	return nil
}

// Message returns the message a variable names (request, response, message,
// error or a custom message variable), or nil.
func (mc *MessageContext) Message(name string) *message.Message { return mc.messageFor(name) }

// SetMessage stores a message under a name: request and response replace
// the flow's messages; other names become message-typed variables.
func (mc *MessageContext) SetMessage(name string, m *message.Message) {
	switch name {
	case "request":
		mc.Request = m
	case "response", "message", "error":
		if name == "message" && !mc.InError && !mc.State.IsResponse() {
			mc.Request = m
			return
		}
		mc.Response = m
	default:
		mc.setVar(name, m)
	}
}

// EnsureResponse returns the response, creating an empty one (200) when the
// flow has none yet, as Apigee does for policies that write the response in
// the request flow.
func (mc *MessageContext) EnsureResponse() *message.Message {
	if mc.Response == nil {
		mc.Response = message.NewResponse()
	}
	return mc.Response
}

// Lookup implements condition.Resolver and template.Resolver.
func (mc *MessageContext) Lookup(name string) (any, bool) {
	if v, ok := mc.builtin(name); ok {
		return v, v != nil
	}
	if v, ok := mc.vars[name]; ok {
		return v, v != nil
	}
	prefix, rest, dotted := strings.Cut(name, ".")
	if !dotted {
		if m := mc.messageFor(name); m != nil {
			return m, true
		}
		return nil, false
	}
	if prefix == "error" && mc.InError {
		switch rest {
		case "message":
			return mc.Fault.Message, true
		case "state":
			return mc.State.String(), true
		}
	}
	if m := mc.messageFor(prefix); m != nil {
		return m.Lookup(rest)
	}
	return nil, false
}

// Get returns a variable's value (nil when unset).
func (mc *MessageContext) Get(name string) any {
	v, _ := mc.Lookup(name)
	return v
}

// GetString returns a variable as a string ("" when unset).
func (mc *MessageContext) GetString(name string) (string, bool) {
	v, ok := mc.Lookup(name)
	if !ok {
		return "", false
	}
	return message.ToString(v), true
}

// builtin resolves the runtime's own variables; ok is false when name is
// not one of them.
func (mc *MessageContext) builtin(name string) (any, bool) {
	switch name {
	case "proxy.pathsuffix":
		return mc.PathSuffix, true
	case "proxy.basepath", "apiproxy.basepath":
		return mc.Proxy.BasePath, true
	case "proxy.name":
		return mc.Proxy.Endpoint, true
	case "proxy.url":
		return mc.Request.URL(), true
	case "apiproxy.name":
		return mc.Proxy.Name, true
	case "apiproxy.revision":
		return mc.Proxy.Revision, true
	case "environment.name":
		return mc.Proxy.Env, true
	case "organization.name":
		return mc.Proxy.Org, true
	case "client.ip", "proxy.client.ip":
		return mc.ClientIP, true
	case "client.port":
		return mc.ClientPort, true
	case "client.scheme":
		return mc.ClientScheme, true
	case "client.ssl.enabled":
		return mc.ClientScheme == "https", true
	case "messageid":
		if mc.MessageID == "" {
			mc.MessageID = uuid.NewString()
		}
		return mc.MessageID, true
	case "current.flow.name":
		return mc.FlowName, true
	case "target.name":
		return nilIfEmpty(mc.TargetName), true
	case "target.url":
		return nilIfEmpty(mc.TargetURL), true
	case "target.basepath":
		return nilIfEmpty(mc.TargetBasePath), true
	case "target.copy.pathsuffix":
		return mc.CopyPathSuffix, true
	case "target.copy.queryparams":
		return mc.CopyQueryParams, true
	case "is.error":
		return mc.InError, true
	case "fault.name":
		if mc.Fault == nil {
			return nil, true
		}
		return mc.Fault.FaultName(), true
	case "fault.category":
		if mc.Fault == nil {
			return nil, true
		}
		if mc.Fault.Policy != "" {
			return "Step", true
		}
		return "Messaging", true
	case "system.uuid":
		return uuid.NewString(), true
	case "system.timestamp":
		return time.Now().UnixMilli(), true
	case "system.time":
		return time.Now().UTC().Format("Mon, 2 Jan 2006 15:04:05 MST"), true
	}
	if strings.HasPrefix(name, "system.time.") {
		t := time.Now().UTC()
		switch name[len("system.time."):] {
		case "year":
			return t.Year(), true
		case "month":
			return int(t.Month()), true
		case "day":
			return t.Day(), true
		case "dayofweek":
			return int(t.Weekday()) + 1, true
		case "hour":
			return t.Hour(), true
		case "minute":
			return t.Minute(), true
		case "second":
			return t.Second(), true
		case "millisecond":
			return t.Nanosecond() / 1e6, true
		case "zone":
			return "UTC", true
		}
	}
	if rest, ok := strings.CutPrefix(name, "propertyset."); ok {
		if v, ok := mc.Proxy.PropertySets.Lookup(rest); ok {
			return v, true
		}
		return nil, true
	}
	if rest, ok := strings.CutPrefix(name, "target."); ok && mc.TargetURL != "" {
		switch rest {
		case "host", "port", "scheme":
			u := parseURL(mc.TargetURL)
			if u == nil {
				return nil, true
			}
			switch rest {
			case "host":
				return u.Hostname(), true
			case "scheme":
				return u.Scheme, true
			}
			p := u.Port()
			if p == "" {
				p = map[bool]string{true: "443", false: "80"}[u.Scheme == "https"]
			}
			n, _ := strconv.Atoi(p)
			return n, true
		}
	}
	return nil, false
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// readOnly reports whether a built-in variable may not be assigned.
func readOnly(name string) bool {
	switch name {
	case "target.url", "target.copy.pathsuffix", "target.copy.queryparams":
		return false
	}
	for _, p := range readOnlyPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	switch name {
	case "messageid", "is.error", "fault.name", "fault.category", "request.path", "request.uri", "request.url", "proxy.url":
		return true
	}
	return false
}

var readOnlyPrefixes = []string{
	"proxy.", "apiproxy.", "environment.", "organization.", "system.", "client.", "current.", "target.", "virtualhost.",
	"propertyset.",
}

// Set assigns a flow variable. Built-in read-only variables give
// *ErrReadOnly; request.*/response.*/message.* assign parts of the message.
func (mc *MessageContext) Set(name string, value any) error {
	switch name {
	case "target.url":
		mc.TargetURL = message.ToString(value)
		return nil
	case "target.copy.pathsuffix":
		mc.CopyPathSuffix = truthy(value)
		return nil
	case "target.copy.queryparams":
		mc.CopyQueryParams = truthy(value)
		return nil
	}
	if readOnly(name) {
		return &ErrReadOnly{Name: name}
	}
	prefix, rest, dotted := strings.Cut(name, ".")
	if dotted {
		if prefix == "error" && mc.InError && rest == "message" {
			mc.Fault.Message = message.ToString(value)
			return nil
		}
		m := mc.messageFor(prefix)
		if m == nil && (prefix == "response" || prefix == "message" && mc.State.IsResponse()) {
			m = mc.EnsureResponse()
		}
		if m != nil {
			err := m.Set(rest, value)
			switch {
			case errors.Is(err, message.ErrReadOnly):
				return &ErrReadOnly{Name: name}
			case errors.Is(err, message.ErrNotFound):
				// Not a message part: an ordinary variable with a dotted name.
			default:
				return err
			}
		}
	} else if m, ok := value.(*message.Message); ok {
		mc.SetMessage(name, m)
		return nil
	}
	mc.setVar(name, value)
	return nil
}

func (mc *MessageContext) setVar(name string, value any) {
	if mc.Debug != nil {
		mc.Debug.VarSet(name, value)
	}
	if mc.vars == nil {
		mc.vars = make(map[string]any, 8)
	}
	mc.vars[name] = value
}

// SetVar stores a policy output variable without read-only checks; for
// variables a policy owns (e.g. servicecallout.<name>.failed).
func (mc *MessageContext) SetVar(name string, value any) { mc.setVar(name, value) }

// Var is a flow variable's name and value.
type Var struct {
	Name  string
	Value any
}

// SetVars stores policy output variables like SetVar, in order; a policy
// that sets many (VerifyAPIKey sets ~45) sizes the map once.
func (mc *MessageContext) SetVars(vs []Var) {
	if mc.vars == nil {
		mc.vars = make(map[string]any, len(vs)+8)
	}
	for _, v := range vs {
		if mc.Debug != nil {
			mc.Debug.VarSet(v.Name, v.Value)
		}
		mc.vars[v.Name] = v.Value
	}
}

// Remove deletes a variable (or a header/parameter of a message).
func (mc *MessageContext) Remove(name string) error {
	if readOnly(name) {
		return &ErrReadOnly{Name: name}
	}
	if _, ok := mc.vars[name]; ok {
		delete(mc.vars, name)
		return nil
	}
	prefix, rest, dotted := strings.Cut(name, ".")
	if dotted {
		if m := mc.messageFor(prefix); m != nil {
			if err := m.Set(rest, nil); err == nil {
				return nil
			}
		}
	}
	return nil
}

// Vars returns the custom variables (for debugging and tests).
func (mc *MessageContext) Vars() map[string]any { return mc.vars }

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return strings.EqualFold(x, "true")
	}
	return v != nil
}

// Context carries the message context through policy calls that need a
// context.Context only.
type ctxKey struct{}

// WithContext returns ctx carrying mc.
func WithContext(ctx context.Context, mc *MessageContext) context.Context {
	return context.WithValue(ctx, ctxKey{}, mc)
}

// FromContext returns the message context ctx carries.
func FromContext(ctx context.Context) *MessageContext {
	mc, _ := ctx.Value(ctxKey{}).(*MessageContext)
	return mc
}
