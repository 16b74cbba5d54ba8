package javascript

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/dop251/goja"
	"go.uber.org/zap"

	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/message"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/template"
)

// vm is a pooled runtime with the object model installed; bind points it
// at one request.
type vm struct {
	p   *policy
	rt  *goja.Runtime
	mc  *flow.MessageContext
	ctx context.Context
	// session is context.session: a plain object, fresh per request.
	session *goja.Object
	// baseline is the global object as the object model left it; globals a
	// script adds or replaces are reset after each run (see reset).
	baseline map[string]goja.Value
}

func (p *policy) newVM() *vm {
	v := &vm{p: p, rt: goja.New()}
	rt := v.rt
	ctxObj := rt.NewDynamicObject(&contextObj{v: v})
	must(rt.Set("context", ctxObj))
	must(rt.Set("request", rt.NewDynamicObject(&msgObj{v: v, which: "request"})))
	must(rt.Set("response", rt.NewDynamicObject(&msgObj{v: v, which: "response"})))
	props := rt.NewObject()
	for k, val := range p.properties {
		must(props.Set(k, val))
	}
	must(rt.Set("properties", props))
	must(rt.Set("print", func(call goja.FunctionCall) goja.Value {
		parts := make([]string, len(call.Arguments))
		for i, a := range call.Arguments {
			parts[i] = a.String()
		}
		if v.mc != nil && v.mc.Log != nil {
			v.mc.Log.Info("javascript print", zap.String("policy", p.name), zap.String("output", strings.Join(parts, " ")))
		}
		return goja.Undefined()
	}))
	must(rt.Set("crypto", v.cryptoObject()))
	must(rt.Set("httpClient", v.httpClientObject()))
	must(rt.Set("Request", v.requestConstructor()))
	v.baseline = map[string]goja.Value{}
	g := rt.GlobalObject()
	for _, k := range g.Keys() {
		v.baseline[k] = g.Get(k)
	}
	return v
}

// reset undoes what a run did to the global scope, so a pooled runtime
// never carries one request's globals into another: in Apigee each
// execution starts from a fresh scope. Top-level `var` bindings cannot be
// deleted (ES5 makes them non-configurable), so they are set to undefined,
// which is what hoisting gives a fresh run anyway.
func (v *vm) reset() {
	g := v.rt.GlobalObject()
	for _, k := range g.Keys() {
		base, known := v.baseline[k]
		switch {
		case !known:
			if err := g.Delete(k); err != nil || g.Get(k) != nil {
				_ = g.Set(k, goja.Undefined())
			}
		case !g.Get(k).SameAs(base):
			_ = g.Set(k, base)
		}
	}
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

func (v *vm) bind(ctx context.Context, mc *flow.MessageContext) {
	v.ctx, v.mc = ctx, mc
	v.session = v.rt.NewObject()
}

func (v *vm) unbind() { v.ctx, v.mc, v.session = nil, nil, nil }

func (v *vm) throw(format string, args ...any) {
	panic(v.rt.NewGoError(fmt.Errorf(format, args...)))
}

// toJS converts a flow variable value to a JavaScript value.
func (v *vm) toJS(x any) goja.Value {
	switch t := x.(type) {
	case nil:
		return goja.Null()
	case *message.Message:
		return v.rt.NewDynamicObject(&msgObj{v: v, msg: t})
	case []string:
		out := make([]any, len(t))
		for i, s := range t {
			out[i] = s
		}
		return v.rt.NewArray(out...)
	case []byte:
		return v.rt.ToValue(string(t))
	}
	return v.rt.ToValue(x)
}

// fromJS converts a JavaScript value for storing in a flow variable:
// primitives stay primitives, objects become JSON text.
func fromJS(val goja.Value) any {
	if val == nil || goja.IsUndefined(val) || goja.IsNull(val) {
		return nil
	}
	switch x := val.Export().(type) {
	case string, bool, int64, float64:
		return x
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return val.String()
		}
		return string(b)
	}
	return val.String()
}

// contextObj is the global "context".
type contextObj struct{ v *vm }

func (c *contextObj) Get(key string) goja.Value {
	v := c.v
	rt := v.rt
	switch key {
	case "getVariable":
		return rt.ToValue(func(call goja.FunctionCall) goja.Value {
			val, ok := v.mc.Lookup(call.Argument(0).String())
			if !ok {
				return goja.Null()
			}
			return v.toJS(val)
		})
	case "setVariable":
		return rt.ToValue(func(call goja.FunctionCall) goja.Value {
			name := call.Argument(0).String()
			if err := v.mc.Set(name, fromJS(call.Argument(1))); err != nil {
				v.throw("%v", err)
			}
			return goja.Undefined()
		})
	case "removeVariable":
		return rt.ToValue(func(call goja.FunctionCall) goja.Value {
			if err := v.mc.Remove(call.Argument(0).String()); err != nil {
				v.throw("%v", err)
			}
			return goja.Undefined()
		})
	case "proxyRequest", "targetRequest":
		return rt.NewDynamicObject(&msgObj{v: v, which: "request"})
	case "proxyResponse", "targetResponse":
		return rt.NewDynamicObject(&msgObj{v: v, which: "response"})
	case "flow":
		return rt.ToValue(v.mc.State.String())
	case "session":
		return v.session
	}
	return nil
}

func (c *contextObj) Set(string, goja.Value) bool { return false }
func (c *contextObj) Has(key string) bool         { return c.Get(key) != nil }
func (c *contextObj) Delete(string) bool          { return false }
func (c *contextObj) Keys() []string {
	return []string{"getVariable", "setVariable", "removeVariable", "proxyRequest", "proxyResponse", "targetRequest", "targetResponse", "flow", "session"}
}

// msgObj is a message (request, response, or a message-typed variable).
type msgObj struct {
	v     *vm
	which string
	msg   *message.Message
}

func (o *msgObj) get(create bool) *message.Message {
	if o.msg != nil {
		return o.msg
	}
	mc := o.v.mc
	if o.which == "request" {
		return mc.Request
	}
	if create {
		return mc.EnsureResponse()
	}
	return mc.Response
}

func (o *msgObj) Get(key string) goja.Value {
	m := o.get(false)
	if m == nil {
		return goja.Undefined()
	}
	rt := o.v.rt
	switch key {
	case "headers":
		return rt.NewDynamicObject(&paramsObj{v: o.v, m: m, kind: "header"})
	case "queryParams":
		return rt.NewDynamicObject(&paramsObj{v: o.v, m: m, kind: "queryparam"})
	case "formParams":
		return rt.NewDynamicObject(&paramsObj{v: o.v, m: m, kind: "formparam"})
	case "content":
		return o.content(m)
	case "body":
		b := rt.NewObject()
		_ = b.DefineAccessorProperty("asJSON", rt.ToValue(func(goja.FunctionCall) goja.Value { return o.asJSON(m) }), nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
		_ = b.DefineAccessorProperty("asForm", rt.ToValue(func(goja.FunctionCall) goja.Value {
			f := rt.NewObject()
			for _, p := range m.FormParams() {
				_ = f.Set(p.Name, p.Value)
			}
			return f
		}), nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
		_ = b.Set("asString", m.ContentString())
		return b
	case "method":
		return rt.ToValue(m.Method)
	case "url":
		if m.Kind == message.Request {
			return rt.ToValue(m.URL())
		}
		return goja.Undefined()
	case "path":
		return rt.ToValue(m.Path)
	case "status":
		if m.Kind != message.Response {
			return goja.Undefined()
		}
		n, err := rt.New(rt.Get("Number"), rt.ToValue(m.StatusCode))
		if err != nil {
			return rt.ToValue(m.StatusCode)
		}
		_ = n.Set("code", m.StatusCode)
		_ = n.Set("message", m.ReasonPhrase())
		return n
	case "reasonPhrase":
		return rt.ToValue(m.ReasonPhrase())
	}
	return nil
}

// content is a String object with asJSON / asXML, as Apigee's content is.
func (o *msgObj) content(m *message.Message) goja.Value {
	rt := o.v.rt
	s, err := rt.New(rt.Get("String"), rt.ToValue(m.ContentString()))
	if err != nil {
		return rt.ToValue(m.ContentString())
	}
	_ = s.DefineAccessorProperty("asJSON", rt.ToValue(func(goja.FunctionCall) goja.Value { return o.asJSON(m) }), nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
	return s
}

func (o *msgObj) asJSON(m *message.Message) goja.Value {
	var x any
	if err := json.Unmarshal([]byte(m.ContentString()), &x); err != nil {
		return goja.Undefined()
	}
	return o.v.rt.ToValue(x)
}

func (o *msgObj) Set(key string, val goja.Value) bool {
	m := o.get(true)
	if m == nil {
		return false
	}
	switch key {
	case "content":
		m.SetContent([]byte(val.String()))
	case "method":
		m.Method = strings.ToUpper(val.String())
	case "url":
		if m.Kind == message.Request {
			m.Path = val.String()
			if i := strings.Index(m.Path, "://"); i >= 0 {
				rest := m.Path[i+3:]
				if j := strings.IndexByte(rest, '/'); j >= 0 {
					m.Path = rest[j:]
				} else {
					m.Path = "/"
				}
			}
			if p, q, ok := strings.Cut(m.Path, "?"); ok {
				m.Path, m.Query = p, message.ParseQuery(q)
			}
		}
	case "status":
		if err := m.Set("status.code", val.String()); err != nil {
			o.v.throw("%v", err)
		}
	case "reasonPhrase":
		m.Reason = val.String()
	case "headers", "queryParams", "formParams":
		obj := val.ToObject(o.v.rt)
		kind := map[string]string{"headers": "header", "queryParams": "queryparam", "formParams": "formparam"}[key]
		po := &paramsObj{v: o.v, m: m, kind: kind}
		for _, k := range po.Keys() {
			po.Delete(k)
		}
		for _, k := range obj.Keys() {
			po.Set(k, obj.Get(k))
		}
	default:
		return false
	}
	return true
}

func (o *msgObj) Has(key string) bool { return o.Get(key) != nil }
func (o *msgObj) Delete(string) bool  { return false }
func (o *msgObj) Keys() []string {
	return []string{"headers", "queryParams", "formParams", "content", "body", "method", "url", "status"}
}

// paramsObj is message.headers / queryParams / formParams: reading a
// name gives its values joined with ","; writing sets it.
type paramsObj struct {
	v    *vm
	m    *message.Message
	kind string
}

func (p *paramsObj) values(name string) []string {
	switch p.kind {
	case "header":
		return p.m.HeaderValues(name)
	case "queryparam":
		return p.m.Query.Values(name)
	}
	return p.m.FormParams().Values(name)
}

func (p *paramsObj) Get(key string) goja.Value {
	vals := p.values(key)
	if len(vals) == 0 {
		return nil
	}
	return p.v.rt.ToValue(strings.Join(vals, ","))
}

func (p *paramsObj) Set(key string, val goja.Value) bool {
	if goja.IsUndefined(val) || goja.IsNull(val) {
		return p.Delete(key)
	}
	return p.m.Set(p.kind+"."+key, val.String()) == nil
}

func (p *paramsObj) Has(key string) bool { return len(p.values(key)) > 0 }

func (p *paramsObj) Delete(key string) bool { return p.m.Set(p.kind+"."+key, nil) == nil }

func (p *paramsObj) Keys() []string {
	switch p.kind {
	case "header":
		return p.m.HeaderNames()
	case "queryparam":
		return p.m.Query.Names()
	}
	return p.m.FormParams().Names()
}

func (v *vm) cryptoObject() *goja.Object {
	rt := v.rt
	c := rt.NewObject()
	hasher := func(h func() hash.Hash) func(goja.FunctionCall) goja.Value {
		return func(goja.FunctionCall) goja.Value {
			d := h()
			o := rt.NewObject()
			_ = o.Set("update", func(call goja.FunctionCall) goja.Value {
				d.Write([]byte(call.Argument(0).String()))
				return goja.Undefined()
			})
			_ = o.Set("digest", func(goja.FunctionCall) goja.Value { return rt.ToValue(hex.EncodeToString(d.Sum(nil))) })
			_ = o.Set("digest64", func(goja.FunctionCall) goja.Value {
				return rt.ToValue(base64.StdEncoding.EncodeToString(d.Sum(nil)))
			})
			return o
		}
	}
	_ = c.Set("getMD5", hasher(md5.New))
	_ = c.Set("getSHA1", hasher(sha1.New))
	_ = c.Set("getSHA256", hasher(sha256.New))
	_ = c.Set("getSHA384", hasher(sha512.New384))
	_ = c.Set("getSHA512", hasher(sha512.New))
	_ = c.Set("getHash", func(call goja.FunctionCall) goja.Value {
		algs := map[string]func() hash.Hash{"MD5": md5.New, "SHA-1": sha1.New, "SHA-256": sha256.New, "SHA-384": sha512.New384, "SHA-512": sha512.New}
		h, ok := algs[strings.ToUpper(call.Argument(0).String())]
		if !ok {
			v.throw("unsupported hash algorithm %s", call.Argument(0).String())
		}
		return hasher(h)(call)
	})
	_ = c.Set("dateFormat", func(call goja.FunctionCall) goja.Value {
		format := call.Argument(0).String()
		loc := time.UTC
		if tz := call.Argument(1); !goja.IsUndefined(tz) && tz.String() != "" {
			if l, err := time.LoadLocation(tz.String()); err == nil {
				loc = l
			}
		}
		t := time.Now()
		if ms := call.Argument(2); !goja.IsUndefined(ms) {
			t = time.UnixMilli(ms.ToInteger())
		}
		return rt.ToValue(template.FormatJava(t.In(loc), format))
	})
	return c
}

// requestConstructor is "new Request(url, method, headers, body)".
func (v *vm) requestConstructor() func(goja.ConstructorCall) *goja.Object {
	return func(call goja.ConstructorCall) *goja.Object {
		o := call.This
		_ = o.Set("url", call.Argument(0).String())
		method := "GET"
		if m := call.Argument(1); !goja.IsUndefined(m) && m.String() != "" {
			method = strings.ToUpper(m.String())
		}
		_ = o.Set("method", method)
		if h := call.Argument(2); !goja.IsUndefined(h) && !goja.IsNull(h) {
			_ = o.Set("headers", h)
		} else {
			_ = o.Set("headers", v.rt.NewObject())
		}
		if b := call.Argument(3); !goja.IsUndefined(b) && !goja.IsNull(b) {
			_ = o.Set("body", b.String())
		}
		return nil
	}
}

func (v *vm) httpClientObject() *goja.Object {
	rt := v.rt
	hc := rt.NewObject()
	_ = hc.Set("get", func(call goja.FunctionCall) goja.Value {
		return v.send(http.MethodGet, call.Argument(0).String(), nil, "", call.Argument(1))
	})
	_ = hc.Set("send", func(call goja.FunctionCall) goja.Value {
		req := call.Argument(0).ToObject(rt)
		method := http.MethodGet
		if m := req.Get("method"); m != nil && !goja.IsUndefined(m) {
			method = strings.ToUpper(m.String())
		}
		body := ""
		if b := req.Get("body"); b != nil && !goja.IsUndefined(b) && !goja.IsNull(b) {
			body = b.String()
		}
		return v.send(method, req.Get("url").String(), req.Get("headers"), body, call.Argument(1))
	})
	return hc
}

// send performs an httpClient call synchronously (bounded by the policy's
// timeLimit) and returns Apigee's exchange object; a callback, when given,
// is called with (response, error).
func (v *vm) send(method, url string, headers goja.Value, body string, callback goja.Value) goja.Value {
	rt := v.rt
	ex := rt.NewObject()
	var resp *http.Response
	var respBody []byte
	var callErr error
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(v.ctx, method, url, rd)
	if err == nil {
		if headers != nil && !goja.IsUndefined(headers) && !goja.IsNull(headers) {
			ho := headers.ToObject(rt)
			keys := ho.Keys()
			sort.Strings(keys)
			for _, k := range keys {
				req.Header.Set(k, ho.Get(k).String())
			}
		}
		resp, err = v.p.client.Do(req)
		if err == nil {
			respBody, err = io.ReadAll(io.LimitReader(resp.Body, message.MaxContentBytes))
			_ = resp.Body.Close()
		}
	}
	callErr = err
	var respObj goja.Value = goja.Undefined()
	if resp != nil && callErr == nil {
		r := rt.NewObject()
		_ = r.Set("status", resp.StatusCode)
		_ = r.Set("content", string(respBody))
		h := rt.NewObject()
		for k := range resp.Header {
			_ = h.Set(k, resp.Header.Get(k))
		}
		_ = r.Set("headers", h)
		respObj = r
	}
	_ = ex.Set("waitForComplete", func(goja.FunctionCall) goja.Value { return goja.Undefined() })
	_ = ex.Set("isComplete", func(goja.FunctionCall) goja.Value { return rt.ToValue(true) })
	_ = ex.Set("isSuccess", func(goja.FunctionCall) goja.Value { return rt.ToValue(callErr == nil) })
	_ = ex.Set("isError", func(goja.FunctionCall) goja.Value { return rt.ToValue(callErr != nil) })
	_ = ex.Set("getResponse", func(goja.FunctionCall) goja.Value { return respObj })
	_ = ex.Set("getError", func(goja.FunctionCall) goja.Value {
		if callErr == nil {
			return goja.Undefined()
		}
		return rt.ToValue(callErr.Error())
	})
	if fn, ok := goja.AssertFunction(callback); ok {
		var errVal goja.Value = goja.Undefined()
		if callErr != nil {
			errVal = rt.ToValue(callErr.Error())
		}
		if _, err := fn(goja.Undefined(), respObj, errVal); err != nil {
			panic(err)
		}
	}
	return ex
}
