// Package servicecallout implements the ServiceCallout policy: it builds a
// request (AssignMessage-style Set/Add/Remove/Copy on a new or existing
// request variable), calls a URL through an <HTTPTargetConnection> the
// engine compiles like a TargetEndpoint's (SSLInfo, Properties,
// Authentication) and stores the response in a message variable
// (calloutResponse by default).
package servicecallout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/assignmessage"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/template"
)

// Error codes of ServiceCallout.
const (
	CodeExecutionFailed       = "steps.servicecallout.ExecutionFailed"
	CodeRequestVariableNotMsg = "steps.servicecallout.RequestVariableNotMessageType"
	CodeRequestVariableNotReq = "steps.servicecallout.RequestVariableNotRequestMessageType"
)

type policy struct {
	name    string
	reqVar  string
	clear   bool
	ops     *assignmessage.Ops
	respVar string
	url     *template.Template
	timeout time.Duration
	client  *http.Client
	// success decides which statuses are not errors (success.codes);
	// nil: below 400.
	success func(code int) bool
	// authorize adds the <Authentication> token; nil without one.
	authorize func(ctx context.Context, mc *flow.MessageContext, req *http.Request) error
}

// Elements ServiceCallout has; anything else fails the deployment rather
// than being ignored.
var (
	rootElements    = []string{"DisplayName", "Description", "Properties", "FaultRules", "Request", "Response", "Timeout", "HTTPTargetConnection", "LocalTargetConnection"}
	requestElements = []string{"IgnoreUnresolvedVariables", "Set", "Add", "Remove", "Copy", "AssignVariable"}
)

// onlyChildren refuses children of el not in allowed.
func onlyChildren(where string, el *xmltree.Element, allowed []string) error {
	for _, c := range el.Children {
		if !slices.Contains(allowed, c.Name) {
			return flow.Invalid(where+"/"+c.Name, "element <%s> is not allowed in <%s> (allowed: %s)", c.Name, el.Name, strings.Join(allowed, ", "))
		}
	}
	return nil
}

// Compile compiles a <ServiceCallout>.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("ServiceCallout", "%v", err)
	}
	if err := onlyChildren("ServiceCallout", root, rootElements); err != nil {
		return nil, err
	}
	// Policy-level <Properties> tune Java callouts elsewhere; a
	// ServiceCallout has none of its own (its connection's are inside
	// <HTTPTargetConnection>).
	if props := root.Child("Properties"); props != nil && len(props.Children) > 0 {
		return nil, flow.Invalid("ServiceCallout/Properties", "ServiceCallout has no policy <Properties>; connection properties go in <HTTPTargetConnection><Properties>")
	}
	p := &policy{name: cc.Policy.Name, client: cc.HTTPClient, respVar: root.ChildText("Response")}
	if req := root.Child("Request"); req != nil {
		if err := onlyChildren("ServiceCallout/Request", req, requestElements); err != nil {
			return nil, err
		}
		p.reqVar = req.Attr("variable")
		if p.clear, err = req.BoolAttr("clearPayload", false); err != nil {
			return nil, flow.Invalid("ServiceCallout/Request", "%v", err)
		}
		if p.ops, err = assignmessage.CompileOps(req, "ServiceCallout/Request"); err != nil {
			return nil, err
		}
	}
	if t := root.ChildText("Timeout"); t != "" {
		ms, err := strconv.Atoi(t)
		if err != nil || ms <= 0 {
			return nil, flow.Invalid("ServiceCallout/Timeout", "%q is not a positive number of milliseconds", t)
		}
		p.timeout = time.Duration(ms) * time.Millisecond
	}
	if root.Child("LocalTargetConnection") != nil {
		return nil, flow.Invalid("ServiceCallout/LocalTargetConnection", "local target connections in ServiceCallout are not supported by this runtime; use an HTTPTargetConnection URL")
	}
	el := root.Child("HTTPTargetConnection")
	if el == nil {
		return nil, flow.Invalid("ServiceCallout/HTTPTargetConnection", "ServiceCallout needs an <HTTPTargetConnection>")
	}
	const where = "ServiceCallout/HTTPTargetConnection"
	// The connection is read with the model and rules of a TargetEndpoint's.
	htc, err := bundle.DecodeHTTPTargetConnection(cc.Policy.File, []byte("<HTTPTargetConnection>"+el.Inner+"</HTTPTargetConnection>"))
	if err != nil {
		return nil, flow.Invalid(where, "%v", err)
	}
	raw := strings.TrimSpace(htc.URL)
	if raw == "" {
		if htc.LoadBalancer != nil {
			return nil, flow.Invalid(where+"/LoadBalancer", "load-balanced ServiceCallouts are not supported by this runtime; use a <URL>")
		}
		return nil, flow.Invalid(where+"/URL", "a <URL> is required")
	}
	if p.url, err = template.Compile(raw); err != nil {
		return nil, flow.Invalid(where+"/URL", "%v", err)
	}
	if p.url.Static() {
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, flow.Invalid(where+"/URL", "%q is not an http(s) URL", raw)
		}
	}
	switch {
	case cc.HTTPTarget != nil:
		t, err := cc.HTTPTarget(htc, where)
		if err != nil {
			return nil, err
		}
		p.client, p.success, p.authorize = t.Client, t.Success, t.Authorize
	case htc.SSLInfo != nil || len(htc.Properties) > 0 || htc.Authentication != nil || htc.LoadBalancer != nil || len(htc.Unknown) > 0:
		// Without an engine (policy unit tests) there is nothing to build
		// these with; never ignore them.
		return nil, flow.Invalid(where, "SSLInfo, Properties and Authentication need the engine's target support")
	}
	return p, nil
}

func (p *policy) fail(format string, args ...any) error {
	return flow.Errorf(http.StatusInternalServerError, CodeExecutionFailed, "Execution of ServiceCallout %s failed. Reason: %s", p.name, fmt.Sprintf(format, args...))
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	req, err := p.request(mc)
	if err != nil {
		return err
	}
	target, err := url.Parse(p.url.String(mc))
	if err != nil || target.Host == "" {
		return p.fail("invalid URL %q", p.url.String(mc))
	}
	if q := req.QueryString(); q != "" {
		if target.RawQuery != "" {
			target.RawQuery += "&" + q
		} else {
			target.RawQuery = q
		}
	}
	mc.SetVar("servicecallout."+p.name+".target.url", target.String())
	mc.SetVar("servicecallout.requesturi", target.RequestURI())
	body, err := req.Content()
	if err != nil {
		return p.fail("%v", err)
	}
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	out, err := http.NewRequestWithContext(ctx, req.Method, target.String(), rd)
	if err != nil {
		return p.fail("%v", err)
	}
	out.Header = req.Header.Clone()
	out.Header.Del("Content-Length")
	out.Header.Del("Host")
	if p.authorize != nil {
		if err := p.authorize(ctx, mc, out); err != nil {
			return err
		}
	}
	resp, err := p.client.Do(out)
	if p.clear {
		req.SetContent(nil)
	}
	if err != nil {
		if timedOut(ctx, err) {
			return p.fail("Timeout occurred while calling %s", target.String())
		}
		return p.fail("%v", err)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, message.MaxContentBytes))
	_ = resp.Body.Close()
	if err != nil {
		if timedOut(ctx, err) {
			return p.fail("Timeout occurred while calling %s", target.String())
		}
		return p.fail("reading response: %v", err)
	}
	m := message.NewResponse()
	m.StatusCode = resp.StatusCode
	m.Reason = strings.TrimSpace(strings.TrimPrefix(resp.Status, strconv.Itoa(resp.StatusCode)))
	m.Header = resp.Header
	m.SetContent(data)
	respVar := p.respVar
	if respVar == "" {
		respVar = "calloutResponse"
	}
	mc.SetMessage(respVar, m)
	ok := resp.StatusCode < 400
	if p.success != nil {
		ok = p.success(resp.StatusCode)
	}
	if !ok {
		return p.fail("ResponseCode %d is treated as error", resp.StatusCode)
	}
	return nil
}

// timedOut reports whether a call failed on <Timeout> (ctx) or on the
// connection's connect.timeout.millis / io.timeout.millis.
func timedOut(ctx context.Context, err error) bool {
	var ne net.Error
	return ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout())
}

// request builds the callout request: an existing request variable, or a
// new GET request, modified by the Request element's operations.
func (p *policy) request(mc *flow.MessageContext) (*message.Message, error) {
	var req *message.Message
	if p.reqVar != "" {
		if v, ok := mc.Lookup(p.reqVar); ok && v != nil {
			m, isMsg := v.(*message.Message)
			if !isMsg {
				return nil, flow.Errorf(http.StatusInternalServerError, CodeRequestVariableNotMsg, "Message variable %s is not of type Message", p.reqVar)
			}
			if m.Kind != message.Request {
				return nil, flow.Errorf(http.StatusInternalServerError, CodeRequestVariableNotReq, "Message variable %s is not of type Request", p.reqVar)
			}
			req = m
		}
	}
	if req == nil {
		req = message.NewRequest()
		if p.reqVar != "" {
			mc.SetMessage(p.reqVar, req)
		}
	}
	if p.ops != nil {
		if err := p.ops.Apply(mc, req); err != nil {
			return nil, err
		}
	}
	return req, nil
}
