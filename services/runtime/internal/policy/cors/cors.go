// Package cors implements the CORS policy.
//
// On a preflight (OPTIONS with Origin and Access-Control-Request-Method)
// with <GeneratePreflightResponse> true (the default) the policy answers
// the request itself: flow execution jumps to the ProxyEndpoint response
// PreFlow, skipping the rest of the request flow, the route rules and the
// target (mc.EndRequestFlow), as Apigee documents. On any other request it
// sets the cross_origin_resource_sharing.* variables and registers the
// final "CORSResponseOrErrorFlowExecution" step, which adds
// Access-Control-Allow-Origin, Access-Control-Allow-Credentials and
// Access-Control-Expose-Headers to the response sent to the client,
// error responses included, from those (writable) variables.
package cors

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/template"
)

// CodeUnresolvedVariable is the policy's only runtime error.
const CodeUnresolvedVariable = "steps.cors.UnresolvedVariable"

// Documented defaults.
const (
	DefaultAllowMethods = "GET, POST, HEAD, OPTIONS"
	DefaultAllowHeaders = "Origin, Accept, X-Requested-With, Content-Type, Access-Control-Request-Method, Access-Control-Request-Headers"
	DefaultMaxAge       = 1800
	// maxHeaderListSize bounds <AllowHeaders>/<ExposeHeaders> (Apigee
	// rejects "too large" lists without documenting the bound; this is
	// the runtime's choice).
	maxHeaderListSize = 8192
)

// Variable names (cross_origin_resource_sharing.*).
const (
	vp             = "cross_origin_resource_sharing."
	varCredentials = vp + "allow.credentials"
	varHeaders     = vp + "allow.headers"
	varMethods     = vp + "allow.methods"
	varOrigin      = vp + "allow.origin"
	varOrigins     = vp + "allow.origins.list"
	varExpose      = vp + "expose.headers"
	varMaxAge      = vp + "max.age"
	varAccepted    = vp + "preflight.accepted"
	varReqHeaders  = vp + "request.headers"
	varReqMethod   = vp + "request.method"
	varReqOrigin   = vp + "request.origin"
	varReqType     = vp + "request.type"
)

type policy struct {
	name                     string
	origins, methods         *template.Template
	headers, expose          *template.Template // expose nil: not set
	maxAge                   int
	credentials              *bool
	generate, ignoreUnresolv bool
}

var httpMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true,
	"DELETE": true, "OPTIONS": true, "TRACE": true, "CONNECT": true}

// Compile compiles a <CORS> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("CORS", "%v", err)
	}
	p := &policy{name: cc.Policy.Name}
	tmpl := func(el, def string) (*template.Template, error) {
		src := def
		if c := root.Child(el); c != nil {
			src = c.Text
		}
		t, err := template.Compile(src)
		if err != nil {
			return nil, flow.Invalid("CORS/"+el, "%v", err)
		}
		return t, nil
	}
	if root.Child("AllowOrigins") == nil || root.ChildText("AllowOrigins") == "" {
		return nil, flow.Invalid("CORS/AllowOrigins", "MissingAllowOrigins: <AllowOrigins> is required")
	}
	if p.origins, err = tmpl("AllowOrigins", ""); err != nil {
		return nil, err
	}
	if p.methods, err = tmpl("AllowMethods", DefaultAllowMethods); err != nil {
		return nil, err
	}
	if p.methods.Static() {
		for _, m := range splitList(p.methods.Source()) {
			if m != "*" && !httpMethods[strings.ToUpper(m)] {
				return nil, flow.Invalid("CORS/AllowMethods", "InvalidHTTPMethods: %q is not a valid HTTP method", m)
			}
		}
	}
	if p.headers, err = tmpl("AllowHeaders", DefaultAllowHeaders); err != nil {
		return nil, err
	}
	if len(p.headers.Source()) > maxHeaderListSize {
		return nil, flow.Invalid("CORS/AllowHeaders", "AllowHeadersSizeTooLarge: the list is longer than %d characters", maxHeaderListSize)
	}
	if root.Child("ExposeHeaders") != nil {
		if p.expose, err = tmpl("ExposeHeaders", ""); err != nil {
			return nil, err
		}
		if len(p.expose.Source()) > maxHeaderListSize {
			return nil, flow.Invalid("CORS/ExposeHeaders", "ExposeHeadersSizeTooLarge: the list is longer than %d characters", maxHeaderListSize)
		}
	}
	if p.maxAge, err = root.Int("MaxAge", DefaultMaxAge); err != nil {
		return nil, flow.Invalid("CORS/MaxAge", "InvalidMaxAge: %v", err)
	}
	if root.ChildText("AllowCredentials") != "" {
		b, err := root.Bool("AllowCredentials", false)
		if err != nil {
			return nil, flow.Invalid("CORS/AllowCredentials", "%v", err)
		}
		p.credentials = &b
	}
	if p.generate, err = root.Bool("GeneratePreflightResponse", true); err != nil {
		return nil, flow.Invalid("CORS/GeneratePreflightResponse", "%v", err)
	}
	if p.ignoreUnresolv, err = root.Bool("IgnoreUnresolvedVariables", true); err != nil {
		return nil, flow.Invalid("CORS/IgnoreUnresolvedVariables", "%v", err)
	}
	return p, nil
}

// splitList splits a comma separated list, trimming blanks and dropping
// empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if v == "*" || strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func (p *policy) render(mc *flow.MessageContext, t *template.Template) (string, error) {
	out, missing := t.Execute(mc)
	if missing != "" && !p.ignoreUnresolv {
		return "", flow.Errorf(http.StatusInternalServerError, CodeUnresolvedVariable, "CORS[%s]: unable to resolve variable %s", p.name, missing)
	}
	return out, nil
}

func (p *policy) Execute(_ context.Context, mc *flow.MessageContext) error {
	origins, err := p.render(mc, p.origins)
	if err != nil {
		return err
	}
	methods, err := p.render(mc, p.methods)
	if err != nil {
		return err
	}
	headers, err := p.render(mc, p.headers)
	if err != nil {
		return err
	}
	expose := ""
	if p.expose != nil {
		if expose, err = p.render(mc, p.expose); err != nil {
			return err
		}
	}
	req := mc.Request
	origin := req.Header.Get("Origin")
	reqMethod := req.Header.Get("Access-Control-Request-Method")
	reqHeaders := strings.Join(req.Header.Values("Access-Control-Request-Headers"), ", ")
	preflight := strings.EqualFold(req.Method, http.MethodOptions) && origin != "" && reqMethod != ""

	originList := splitList(origins)
	allowOrigin := ""
	if origin != "" {
		for _, o := range originList {
			if o == "*" {
				// Any origin: "*" unless credentials are allowed, which
				// browsers refuse with a wildcard, so echo the origin then.
				allowOrigin = "*"
				if p.credentials != nil && *p.credentials {
					allowOrigin = origin
				}
				break
			}
			if strings.EqualFold(o, origin) {
				allowOrigin = origin
				break
			}
		}
	}
	accepted := false
	if preflight && allowOrigin != "" && containsFold(splitList(methods), reqMethod) {
		accepted = true
		allowed := splitList(headers)
		for _, h := range splitList(reqHeaders) {
			if !containsFold(allowed, h) {
				accepted = false
				break
			}
		}
	}

	typ := "ACTUAL"
	if preflight {
		typ = "PRE_FLIGHT"
	}
	if p.credentials != nil {
		mc.SetVar(varCredentials, *p.credentials)
	}
	mc.SetVar(varHeaders, headers)
	mc.SetVar(varMethods, methods)
	mc.SetVar(varOrigin, allowOrigin)
	mc.SetVar(varOrigins, origins)
	if p.expose != nil {
		mc.SetVar(varExpose, expose)
	}
	mc.SetVar(varMaxAge, p.maxAge)
	mc.SetVar(varAccepted, accepted)
	mc.SetVar(varReqHeaders, reqHeaders)
	mc.SetVar(varReqMethod, reqMethod)
	mc.SetVar(varReqOrigin, origin)
	mc.SetVar(varReqType, typ)

	if preflight && p.generate {
		resp := message.NewResponse()
		resp.StatusCode = http.StatusOK
		resp.Reason = "OK"
		if accepted {
			h := resp.Header
			h.Set("Access-Control-Allow-Origin", allowOrigin)
			h.Set("Access-Control-Allow-Methods", methods)
			h.Set("Access-Control-Allow-Headers", headers)
			h.Set("Access-Control-Max-Age", strconv.Itoa(p.maxAge))
			if p.credentials != nil && *p.credentials {
				h.Set("Access-Control-Allow-Credentials", "true")
			}
		}
		if mc.Response != nil {
			mc.Response.Close()
		}
		mc.Response = resp
		mc.EndRequestFlow = true
		return nil
	}
	if origin != "" && !registered(mc) {
		mc.BeforeSend = append(mc.BeforeSend, addHeaders)
		mc.SetVar(registeredVar, true)
	}
	return nil
}

// registeredVar marks that the final CORS step is registered (a second
// CORS policy in the flow only updates the variables it reads).
const registeredVar = vp + "response.step"

func registered(mc *flow.MessageContext) bool {
	v, ok := mc.Vars()[registeredVar]
	return ok && v == true
}

// addHeaders is Apigee's CORSResponseOrErrorFlowExecution: it adds the CORS
// response headers to the final response, success or error, from the
// cross_origin_resource_sharing.* variables.
func addHeaders(mc *flow.MessageContext) {
	origin, _ := mc.GetString(varOrigin)
	if origin == "" {
		return
	}
	h := mc.EnsureResponse().Header
	h.Set("Access-Control-Allow-Origin", origin)
	if v, ok := mc.GetString(varCredentials); ok && v == "true" {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if v, _ := mc.GetString(varExpose); v != "" {
		h.Set("Access-Control-Expose-Headers", v)
	}
}
