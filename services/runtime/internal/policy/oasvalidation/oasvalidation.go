// Package oasvalidation implements the OASValidation policy: a request or
// response is checked against an OpenAPI 3.0 or 3.1 document (YAML or
// JSON) by github.com/getkin/kin-openapi, which does the routing and the
// parameter and schema validation; this package only maps Apigee's policy
// onto it.
//
// As in Apigee: the spec is an oas:// resource of the proxy revision
// (resources/oas/) or of the environment, compiled with the contract, so a
// missing, unparsable or non-OpenAPI spec fails the deployment
// (ResourceDoesNotExist, ResourceCompileFailed, BadResourceURL). At run
// time the path after the proxy's base path (the spec's servers are
// ignored) must match a path of the spec and its method an operation;
// path, query, header and cookie parameters are checked (required ones
// present, values matching their schemas); a required body must be there,
// and with <ValidateMessageBody> a JSON body must match the operation's
// schema (other content types pass unchecked). A response is checked
// against the operation of the flow's request: its status must be
// declared, its declared headers must match, and with
// <ValidateMessageBody> its JSON body too. <AllowUnspecifiedParameters>
// (Header, Query, Cookie; each true by default) refuses parameters the
// operation does not declare. Failures are steps.oasvalidation.Failed, 400
// for a request and 500 for a response, with Apigee's faultstring:
// OASValidation <policy> with resource "<url>": failed with reason:
// "[ERROR - <reason>: []]".
package oasvalidation

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// Apigee's OASValidation runtime error codes.
const (
	CodeFailed                    = "steps.oasvalidation.Failed"
	CodeSourceMessageNotAvailable = "steps.oasvalidation.SourceMessageNotAvailable"
	CodeNotMessageVariable        = "steps.oasvalidation.NotMessageVariable"
)

// Apigee's OASValidation deployment error names; they start the reason of
// the deployment error.
const (
	ResourceDoesNotExist  = "ResourceDoesNotExist"
	ResourceCompileFailed = "ResourceCompileFailed"
	BadResourceURL        = "BadResourceURL"
)

const element = "OASValidation/OASResource"

type policy struct {
	name, source, resource string
	spec                   *spec
	validateBody           bool
	// allow* are <AllowUnspecifiedParameters>: whether parameters the
	// operation does not declare are accepted.
	allowHeader, allowQuery, allowCookie bool
}

// Compile compiles an <OASValidation> policy and its OpenAPI document.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("OASValidation", "%v", err)
	}
	p := &policy{name: cc.Policy.Name, source: root.ChildText("Source"), resource: root.ChildText("OASResource")}
	if p.source == "" {
		p.source = "message"
	}
	opts := root.Child("Options")
	if p.validateBody, err = opts.Bool("ValidateMessageBody", false); err != nil {
		return nil, flow.Invalid("OASValidation/Options/ValidateMessageBody", "%v", err)
	}
	allow := opts.Child("AllowUnspecifiedParameters")
	for _, o := range []struct {
		name string
		dst  *bool
	}{{"Header", &p.allowHeader}, {"Query", &p.allowQuery}, {"Cookie", &p.allowCookie}} {
		if *o.dst, err = allow.Bool(o.name, true); err != nil {
			return nil, flow.Invalid("OASValidation/Options/AllowUnspecifiedParameters/"+o.name, "%v", err)
		}
	}
	file, err := p.checkURL()
	if err != nil {
		return nil, err
	}
	data, ok := cc.Resource(p.resource)
	if !ok {
		return nil, flow.Invalid(element, "%s: OASValidation %s: resource %s does not exist: it is neither in the proxy revision (resources/oas/%s) nor an environment resource file of type oas",
			ResourceDoesNotExist, p.name, p.resource, file)
	}
	if p.spec, err = compileSpec(context.Background(), file, data, cc.Resource); err != nil {
		return nil, flow.Invalid(element, "%s: OASValidation %s: resource %s: %v", ResourceCompileFailed, p.name, p.resource, err)
	}
	return p, nil
}

// checkURL checks the form of <OASResource> and returns its file name.
func (p *policy) checkURL() (string, error) {
	bad := func(why string) error {
		return flow.Invalid(element, "%s: OASValidation %s: resource URL %q %s", BadResourceURL, p.name, p.resource, why)
	}
	file, ok := strings.CutPrefix(p.resource, "oas://")
	switch {
	case p.resource == "":
		return "", bad("is empty: <OASResource> must name an OpenAPI document, e.g. oas://spec.yaml")
	case !ok:
		return "", bad("must be of type oas (oas://<file>)")
	case strings.ContainsAny(file, "{}"):
		// Apigee can pick the spec from a flow variable; this runtime
		// compiles every spec with the contract and cannot.
		return "", bad("holds a flow variable; this runtime needs a literal spec name")
	}
	switch strings.ToLower(ext(file)) {
	case ".json", ".yaml", ".yml":
		return file, nil
	}
	return "", bad("must name a .json, .yaml or .yml file")
}

// ext returns a file name's extension.
func ext(file string) string {
	if i := strings.LastIndexByte(file, '.'); i >= 0 {
		return file[i:]
	}
	return ""
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) (err error) {
	msg := mc.Message(p.source)
	if msg == nil {
		if _, ok := mc.Lookup(p.source); ok {
			return flow.Errorf(http.StatusInternalServerError, CodeNotMessageVariable, "Variable %s does not resolve to a message: OASValidation %s", p.source, p.name)
		}
		return flow.Errorf(http.StatusInternalServerError, CodeSourceMessageNotAvailable, "%s message is not available for OASValidation: %s", p.source, p.name)
	}
	status := http.StatusBadRequest
	if msg.Kind == message.Response {
		status = http.StatusInternalServerError
	}
	// The validator works on client input: whatever it trips over must
	// become the policy's fault, not take the message processor down.
	defer func() {
		if r := recover(); r != nil {
			if mc.Log != nil {
				mc.Log.Error("OpenAPI validator failure", zap.String("policy", p.name), zap.String("resource", p.resource),
					zap.Any("panic", r), zap.ByteString("stack", debug.Stack()))
			}
			err = p.failed(status, "the OpenAPI validator failed on this message")
		}
	}()
	if msg.Kind == message.Response {
		return p.validateResponse(ctx, mc, msg)
	}
	return p.validateRequest(ctx, mc, msg)
}

// failed is Apigee's steps.oasvalidation.Failed fault.
func (p *policy) failed(status int, reason string) error {
	return flow.Errorf(status, CodeFailed, "OASValidation %s with resource \"%s\": failed with reason: \"[ERROR - %s: []]\"", p.name, p.resource, reason)
}

// httpRequest is the request as the validator sees it: its path is the
// proxy path suffix when it is the flow's request (the spec's paths are
// relative to the proxy's base path), its own path otherwise.
func httpRequest(ctx context.Context, mc *flow.MessageContext, req *message.Message) *http.Request {
	p := req.Path
	if req == mc.Request {
		p = mc.PathSuffix
	}
	if p == "" {
		p = "/"
	}
	r := (&http.Request{
		Method: req.Method, URL: &url.URL{Path: p, RawQuery: req.Query.Encode()}, Host: req.Host,
		Header: req.Header.Clone(), Body: http.NoBody, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}).WithContext(ctx)
	if r.Header == nil {
		r.Header = http.Header{}
	}
	return r
}

func (p *policy) options() *openapi3filter.Options {
	o := &openapi3filter.Options{
		// Apigee's policy checks no credentials: that is VerifyAPIKey's
		// and OAuthV2's business.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		// Validation must not change the message (defaults filled in).
		SkipSettingDefaults: true,
	}
	o.WithCustomSchemaErrorFunc(schemaReason)
	return o
}

func (p *policy) validateRequest(ctx context.Context, mc *flow.MessageContext, msg *message.Message) error {
	r := httpRequest(ctx, mc, msg)
	route, params, reason := p.spec.route(r)
	if route == nil {
		return p.failed(http.StatusBadRequest, reason)
	}
	opts := p.options()
	checkBody := p.validateBody && isJSON(msg.Header)
	var body []byte
	rb := route.Operation.RequestBody
	if checkBody || (rb != nil && rb.Value != nil && rb.Value.Required) {
		var err error
		if body, err = msg.Content(); err != nil {
			return p.failed(http.StatusBadRequest, "cannot read the request body: "+err.Error())
		}
	}
	if checkBody {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	} else {
		opts.ExcludeRequestBody = true
		// Without body validation Apigee still checks that a required
		// body is there.
		if rb != nil && rb.Value != nil && rb.Value.Required && len(body) == 0 {
			return p.failed(http.StatusBadRequest, "A request body is required but none found.")
		}
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
		return p.failed(http.StatusBadRequest, errorReason(err))
	}
	if reason := p.unspecified(r, route); reason != "" {
		return p.failed(http.StatusBadRequest, reason)
	}
	return nil
}

func (p *policy) validateResponse(ctx context.Context, mc *flow.MessageContext, msg *message.Message) error {
	const status = http.StatusInternalServerError
	if mc.Request == nil {
		return p.failed(status, "no request to find the response's operation by")
	}
	r := httpRequest(ctx, mc, mc.Request)
	route, params, reason := p.spec.route(r)
	if route == nil {
		return p.failed(status, reason)
	}
	opts := p.options()
	opts.IncludeResponseStatus = true
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts},
		Status:                 msg.StatusCode, Header: msg.Header, Options: opts,
	}
	if p.validateBody && isJSON(msg.Header) {
		body, err := msg.Content()
		if err != nil {
			return p.failed(status, "cannot read the response body: "+err.Error())
		}
		in.SetBodyBytes(body)
	} else {
		opts.ExcludeResponseBody = true
		in.SetBodyBytes(nil)
	}
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		return p.failed(status, errorReason(err))
	}
	return nil
}

// isJSON reports whether a message is JSON, the only content Apigee
// validates against the spec's schemas.
func isJSON(h http.Header) bool {
	ct, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return false
	}
	return ct == "application/json" || (strings.HasPrefix(ct, "application/") && strings.HasSuffix(ct, "+json"))
}

// transportHeaders are request headers that clients, proxies and HTTP
// itself add and that no spec declares; <Header>false</Header> does not
// refuse them. The OpenAPI spec also ignores parameter definitions of
// Accept, Content-Type and Authorization.
var transportHeaders = map[string]bool{
	"Accept": true, "Accept-Encoding": true, "Accept-Language": true, "Authorization": true, "Cache-Control": true,
	"Connection": true, "Content-Length": true, "Content-Type": true, "Cookie": true, "Expect": true, "Host": true,
	"Keep-Alive": true, "Pragma": true, "Te": true, "Trailer": true, "Transfer-Encoding": true, "Upgrade": true,
	"User-Agent": true, "Via": true, "X-Forwarded-For": true, "X-Forwarded-Host": true, "X-Forwarded-Port": true,
	"X-Forwarded-Proto": true, "Forwarded": true,
}

// unspecified returns why the request carries a parameter the operation
// does not declare, for the kinds <AllowUnspecifiedParameters> refuses,
// or "".
func (p *policy) unspecified(r *http.Request, route *routers.Route) string {
	if p.allowHeader && p.allowQuery && p.allowCookie {
		return ""
	}
	declared := map[string]map[string]bool{}
	add := func(ps openapi3.Parameters) {
		for _, ref := range ps {
			if ref == nil || ref.Value == nil {
				continue
			}
			in, name := ref.Value.In, ref.Value.Name
			if in == openapi3.ParameterInHeader {
				name = http.CanonicalHeaderKey(name)
			}
			if declared[in] == nil {
				declared[in] = map[string]bool{}
			}
			declared[in][name] = true
		}
	}
	add(route.PathItem.Parameters)
	add(route.Operation.Parameters)
	op := route.Method + " " + route.Path
	// Names in sorted order, so the same request always gets the same
	// reason.
	if !p.allowQuery {
		for _, name := range slices.Sorted(maps.Keys(r.URL.Query())) {
			if !declared[openapi3.ParameterInQuery][name] {
				return fmt.Sprintf("Query parameter '%s' is not defined for %s", name, op)
			}
		}
	}
	if !p.allowHeader {
		for _, name := range slices.Sorted(maps.Keys(r.Header)) {
			name = http.CanonicalHeaderKey(name)
			if !transportHeaders[name] && !declared[openapi3.ParameterInHeader][name] && !p.securityHeader(route, name) {
				return fmt.Sprintf("Header parameter '%s' is not defined for %s", name, op)
			}
		}
	}
	if !p.allowCookie {
		for _, c := range r.Cookies() {
			if !declared[openapi3.ParameterInCookie][c.Name] {
				return fmt.Sprintf("Cookie parameter '%s' is not defined for %s", c.Name, op)
			}
		}
	}
	return ""
}

// securityHeader reports whether name is the header of an apiKey security
// scheme the operation uses: the spec declares it there, not as a
// parameter.
func (p *policy) securityHeader(route *routers.Route, name string) bool {
	reqs := route.Operation.Security
	if reqs == nil {
		reqs = &route.Spec.Security
	}
	if route.Spec.Components == nil {
		return false
	}
	for _, req := range *reqs {
		for scheme := range req {
			s := route.Spec.Components.SecuritySchemes[scheme]
			if s != nil && s.Value != nil && s.Value.Type == "apiKey" && s.Value.In == "header" && http.CanonicalHeaderKey(s.Value.Name) == name {
				return true
			}
		}
	}
	return false
}

// schemaReason is a schema violation without the schema and value dumps
// kin-openapi adds (multi-line, and the value may be sensitive), but with
// where in the document it is.
func schemaReason(e *openapi3.SchemaError) string {
	if ptr := e.JSONPointer(); len(ptr) > 0 {
		return "at '/" + strings.Join(ptr, "/") + "': " + e.Reason
	}
	return e.Reason
}

// jsonSchemaPrefix starts the errors of kin-openapi's JSON Schema 2020-12
// validator (OpenAPI 3.1), which name a placeholder schema URL.
const jsonSchemaPrefix = "jsonschema validation failed with "

// errorReason turns a validator error into one line for the faultstring.
func errorReason(err error) string {
	s := err.Error()
	head, rest, found := strings.Cut(s, jsonSchemaPrefix)
	if !found {
		return oneLine(s)
	}
	// Drop the quoted schema URL that follows the prefix, up to the end
	// of its line; each following line is one violation.
	_, rest, _ = strings.Cut(rest, "\n")
	var items []string
	for _, l := range strings.Split(rest, "\n") {
		l = strings.TrimPrefix(strings.TrimSpace(l), "- ")
		// The document root has the empty pointer; it says nothing.
		l = strings.TrimPrefix(l, "at '': ")
		if l != "" {
			items = append(items, l)
		}
	}
	return oneLine(strings.TrimSpace(head) + " " + strings.Join(items, "; "))
}

// oneLine joins the lines of a message with "; ".
func oneLine(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}
