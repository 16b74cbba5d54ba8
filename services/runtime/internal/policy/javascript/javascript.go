// Package javascript implements the Javascript policy on goja, a pure-Go
// ECMAScript 5.1+ engine, with Apigee's JavaScript object model: context
// (getVariable/setVariable/removeVariable, proxyRequest, proxyResponse,
// targetRequest, targetResponse, flow, session), the request/response
// shortcuts, httpClient, crypto, print, properties, <IncludeURL> and
// timeLimit.
//
// Scripts are compiled once per contract. Runtimes are pooled per policy;
// each execution binds the pooled runtime to the request's message context,
// runs the included scripts and then the main script, and then resets the
// globals the scripts created, so no state leaks between requests.
package javascript

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dop251/goja"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
)

// CodeScriptExecutionFailed is the error code of every script failure.
const CodeScriptExecutionFailed = "steps.javascript.ScriptExecutionFailed"

// DefaultTimeLimit applies when the policy sets no timeLimit.
const DefaultTimeLimit = 10 * time.Second

type script struct {
	url  string
	prog *goja.Program
}

type policy struct {
	name       string
	scripts    []script // includes first, the main script last
	timeLimit  time.Duration
	properties map[string]string
	client     *http.Client
	log        *zap.Logger
	pool       sync.Pool
}

// Compile compiles a <Javascript> policy and its scripts.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("Javascript", "%v", err)
	}
	p := &policy{name: cc.Policy.Name, timeLimit: DefaultTimeLimit, properties: map[string]string{}, client: cc.HTTPClient, log: cc.Log}
	if tl := root.Attr("timeLimit"); tl != "" {
		ms, err := strconv.Atoi(tl)
		if err != nil || ms <= 0 {
			return nil, flow.Invalid("Javascript", "timeLimit %q is not a positive number of milliseconds", tl)
		}
		p.timeLimit = time.Duration(ms) * time.Millisecond
	}
	for _, pr := range root.Child("Properties").All("Property") {
		p.properties[pr.Attr("name")] = pr.Text
	}
	load := func(element, url string) error {
		// The proxy revision's script, else the environment's (Apigee's
		// resource resolution order).
		src, ok := cc.Resource(url)
		if !ok {
			return flow.Invalid("Javascript/"+element, "resource %s is neither in the bundle nor an environment resource file", url)
		}
		prog, err := goja.Compile(strings.TrimPrefix(url, "jsc://"), string(src), false)
		if err != nil {
			return flow.Invalid("Javascript/"+element, "%s: %v", url, err)
		}
		p.scripts = append(p.scripts, script{url: url, prog: prog})
		return nil
	}
	for _, inc := range root.All("IncludeURL") {
		if err := load("IncludeURL", inc.Text); err != nil {
			return nil, err
		}
	}
	switch {
	case root.ChildText("ResourceURL") != "":
		if err := load("ResourceURL", root.ChildText("ResourceURL")); err != nil {
			return nil, err
		}
	case root.Child("Source") != nil:
		prog, err := goja.Compile(p.name+".js", root.Child("Source").Text, false)
		if err != nil {
			return nil, flow.Invalid("Javascript/Source", "%v", err)
		}
		p.scripts = append(p.scripts, script{url: p.name, prog: prog})
	default:
		return nil, flow.Invalid("Javascript", "needs a <ResourceURL> or a <Source>")
	}
	p.pool.New = func() any { return p.newVM() }
	return p, nil
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	v := p.pool.Get().(*vm)
	defer p.pool.Put(v)
	ctx, cancel := context.WithTimeout(ctx, p.timeLimit)
	defer cancel()
	v.bind(ctx, mc)
	defer v.unbind()
	defer v.reset()
	stop := context.AfterFunc(ctx, func() { v.rt.Interrupt(errTimeout) })
	defer func() {
		stop()
		v.rt.ClearInterrupt()
	}()
	for _, s := range p.scripts {
		if _, err := v.rt.RunProgram(s.prog); err != nil {
			return p.fault(err)
		}
	}
	return nil
}

var errTimeout = errors.New("timeout")

// fault turns a script error into Apigee's ScriptExecutionFailed fault,
// with the "Javascript runtime error" text and the script position.
func (p *policy) fault(err error) error {
	var msg string
	var ie *goja.InterruptedError
	var ex *goja.Exception
	switch {
	case errors.As(err, &ie):
		msg = fmt.Sprintf("Execution of %s failed with error: Javascript runtime exceeded limit of %dms", p.name, p.timeLimit.Milliseconds())
	case errors.As(err, &ex):
		text := ex.Value().String()
		if o, ok := ex.Value().(*goja.Object); ok {
			if ge, ok := o.Export().(error); ok {
				text = "Error: " + ge.Error()
			}
		}
		pos := ""
		for _, f := range ex.Stack() {
			if src := f.SrcName(); src != "" && src != "<native>" {
				pos = fmt.Sprintf(" (%s:%d)", src, f.Position().Line)
				break
			}
		}
		msg = fmt.Sprintf("Execution of %s failed with error: Javascript runtime error: %q", p.name, text+"."+pos)
	default:
		msg = fmt.Sprintf("Execution of %s failed with error: %v", p.name, err)
	}
	return &flow.Fault{Code: CodeScriptExecutionFailed, Status: http.StatusInternalServerError, Message: msg, Policy: p.name}
}
