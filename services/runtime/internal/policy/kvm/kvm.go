// Package kvm implements the KeyValueMapOperations policy over the runtime
// data store's key value maps (the maps MART and the control plane manage).
//
// Semantics (Apigee X / hybrid):
//
//   - the map is mapIdentifier (default "kvmap" when the attribute is
//     absent), or <MapName ref="var">literal</MapName> resolved per request;
//     an empty name is Apigee's java.lang.UnsupportedOperationException;
//   - <Scope> organization | environment (default) | apiproxy (this proxy);
//   - operations <Get assignTo index>, <Put override>, <Delete> run in
//     document order; a <Key> is its <Parameter>s (literal or ref) joined
//     with "__", as Apigee composes keys;
//   - a Put with several <Value>s stores them joined with ","; a Get with
//     index="N" (1-based) returns the Nth of those, without index the
//     whole stored value;
//   - Get reads through this MP's cache for <ExpiryTimeInSecs> (default
//     300 s); a Put or Delete through the policy drops the entry from the
//     cache at once (rtdata);
//   - Put creates a mapIdentifier map that does not exist; a <MapName>
//     map must exist (Apigee creates only the static map);
//   - a missing map or entry, or a key parameter or value ref that does
//     not resolve, is no error: Get sets assignTo to null, Put and Delete
//     do nothing;
//   - every map is encrypted in hybrid: Apigee recommends (does not
//     require: "no exception is thrown") a private. assignTo so that the
//     value is masked in debug sessions; this runtime never logs flow
//     variables, so nothing else is needed;
//   - <InitialEntries> seed the static map when it does not exist yet, at
//     the policy's first execution on this MP; <ExclusiveCache> is accepted
//     and ignored (deprecated).
package kvm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hybrid-emulator/hybrid/pkg/store"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/flow"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/policy/xmltree"
	"github.com/hybrid-emulator/hybrid/services/runtime/internal/rtdata"
)

// Error codes.
const (
	CodeSetVariableFailed = "steps.keyvaluemapoperations.SetVariableFailed"
	// Apigee answers an empty map name with a Java exception name as the
	// faultstring and "Internal Server Error" as the errorcode.
	unsupportedFaultString = "java.lang.UnsupportedOperationException"
	unsupportedErrorCode   = "Internal Server Error"
)

// Defaults.
const (
	DefaultMapName = "kvmap"
	DefaultExpiry  = 300 * time.Second
	// KeySeparator joins the <Parameter>s of a composite key.
	KeySeparator = "__"
	// ValueSeparator joins the <Value>s of a multi-valued Put.
	ValueSeparator = ","
)

type opKind int

const (
	opGet opKind = iota
	opPut
	opDelete
)

// param is a <Parameter> or <Value>: a literal or a ref.
type param struct {
	lit string
	ref string
}

func (p param) resolve(mc *flow.MessageContext) (string, bool) {
	if p.ref == "" {
		return p.lit, true
	}
	v, ok := mc.GetString(p.ref)
	return v, ok
}

type op struct {
	kind     opKind
	key      []param
	values   []param // Put
	override bool    // Put
	assignTo string  // Get
	index    int     // Get; 0: whole value
}

type entry struct {
	key    []string
	values []string
}

type policy struct {
	name    string
	data    *rtdata.Store
	org     string
	scope   store.Scope
	mapName string // static name; "" with mapNameSet: empty attribute
	// mapNameRef/mapNameLit are <MapName>.
	dynamic    bool
	mapNameRef string
	mapNameLit string
	ttl        time.Duration
	ops        []op
	initial    []entry

	seedMu sync.Mutex
	seeded bool
}

// Compile compiles a <KeyValueMapOperations> policy.
func Compile(cc *flow.CompileContext) (flow.Policy, error) {
	root, err := xmltree.Parse(cc.Policy.XML)
	if err != nil {
		return nil, flow.Invalid("KeyValueMapOperations", "%v", err)
	}
	p := &policy{name: cc.Policy.Name, org: cc.Org, ttl: DefaultExpiry, mapName: DefaultMapName}
	if root.HasAttr("mapIdentifier") {
		p.mapName = strings.TrimSpace(root.Attr("mapIdentifier"))
	}
	if mn := root.Child("MapName"); mn != nil {
		p.dynamic = true
		p.mapNameRef = strings.TrimSpace(mn.Attr("ref"))
		p.mapNameLit = mn.Text
		if p.mapNameRef == "" && p.mapNameLit == "" {
			return nil, flow.Invalid("KeyValueMapOperations/MapName", "<MapName> needs a ref attribute or a map name")
		}
	}
	switch s := root.ChildText("Scope"); s {
	case "", "environment":
		p.scope = store.EnvScope(cc.Env)
	case "organization":
		p.scope = store.OrgScope()
	case "apiproxy":
		name := ""
		if cc.Bundle != nil {
			name = cc.Bundle.Name
		}
		p.scope = store.ProxyScope(name)
	default:
		return nil, flow.Invalid("KeyValueMapOperations/Scope", "scope %q is not one of organization, environment, apiproxy", s)
	}
	if c := root.Child("ExpiryTimeInSecs"); c != nil && c.Text != "" {
		n, err := strconv.Atoi(c.Text)
		if err != nil || n < 0 {
			return nil, flow.Invalid("KeyValueMapOperations/ExpiryTimeInSecs", "must be a number of seconds, not %q", c.Text)
		}
		p.ttl = time.Duration(n) * time.Second
	}
	if _, err := root.Bool("ExclusiveCache", false); err != nil {
		return nil, flow.Invalid("KeyValueMapOperations/ExclusiveCache", "%v", err)
	}
	for _, c := range root.Children {
		switch c.Name {
		case "Get", "Put", "Delete":
			o, err := p.compileOp(c)
			if err != nil {
				return nil, err
			}
			p.ops = append(p.ops, o)
		}
	}
	if len(p.ops) == 0 {
		return nil, flow.Invalid("KeyValueMapOperations", "at least one of <Get>, <Put> or <Delete> is required")
	}
	if ie := root.Child("InitialEntries"); ie != nil {
		for _, e := range ie.All("Entry") {
			key, err := p.compileKey(e, "InitialEntries/Entry")
			if err != nil {
				return nil, err
			}
			var en entry
			for _, k := range key {
				en.key = append(en.key, k.lit)
			}
			for _, v := range e.All("Value") {
				en.values = append(en.values, v.Text)
			}
			if len(en.values) == 0 {
				return nil, flow.Invalid("KeyValueMapOperations/InitialEntries/Entry", "ValueIsMissing: Value is missing in KeyValueMapStepDefinition %s", p.name)
			}
			p.initial = append(p.initial, en)
		}
	}
	if p.data, err = cc.NeedData(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *policy) compileKey(el *xmltree.Element, where string) ([]param, error) {
	k := el.Child("Key")
	var params []param
	if k != nil {
		for _, c := range k.All("Parameter") {
			pr := param{lit: c.Text, ref: strings.TrimSpace(c.Attr("ref"))}
			if where == "InitialEntries/Entry" && pr.ref != "" {
				return nil, flow.Invalid("KeyValueMapOperations/"+where+"/Key/Parameter", "initial entries take literal key parameters, not ref=%q", pr.ref)
			}
			params = append(params, pr)
		}
	}
	if len(params) == 0 {
		return nil, flow.Invalid("KeyValueMapOperations/"+where+"/Key", "KeyIsMissing: Key is missing in KeyValueMapStepDefinition %s", p.name)
	}
	return params, nil
}

func (p *policy) compileOp(el *xmltree.Element) (op, error) {
	o := op{}
	var err error
	if o.key, err = p.compileKey(el, el.Name); err != nil {
		return o, err
	}
	switch el.Name {
	case "Get":
		o.kind = opGet
		o.assignTo = strings.TrimSpace(el.Attr("assignTo"))
		if o.assignTo == "" {
			return o, flow.Invalid("KeyValueMapOperations/Get", "attribute assignTo is required")
		}
		if s := strings.TrimSpace(el.Attr("index")); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return o, flow.Invalid("KeyValueMapOperations/Get", "InvalidIndex: Invalid index %s in KeyValueMapStepDefinition %s.", s, p.name)
			}
			o.index = n
		}
	case "Put":
		o.kind = opPut
		if o.override, err = el.BoolAttr("override", false); err != nil {
			return o, flow.Invalid("KeyValueMapOperations/Put", "%v", err)
		}
		for _, v := range el.All("Value") {
			o.values = append(o.values, param{lit: v.Text, ref: strings.TrimSpace(v.Attr("ref"))})
		}
		if len(o.values) == 0 {
			return o, flow.Invalid("KeyValueMapOperations/Put", "ValueIsMissing: Value is missing in KeyValueMapStepDefinition %s", p.name)
		}
	case "Delete":
		o.kind = opDelete
	}
	return o, nil
}

func unsupported() *flow.Fault {
	return &flow.Fault{Code: unsupportedErrorCode, Name: "UnsupportedOperationException", Status: http.StatusInternalServerError, Message: unsupportedFaultString}
}

// resolveMap returns the map the request uses.
func (p *policy) resolveMap(mc *flow.MessageContext) (string, error) {
	name := p.mapName
	if p.dynamic {
		name = ""
		if p.mapNameRef != "" {
			name, _ = mc.GetString(p.mapNameRef)
		}
		if name == "" {
			name = p.mapNameLit
		}
	}
	if name == "" {
		return "", unsupported()
	}
	return name, nil
}

// Key composes a key from its parameters as Apigee does.
func Key(parts []string) string { return strings.Join(parts, KeySeparator) }

func resolveKey(mc *flow.MessageContext, params []param) (string, bool) {
	parts := make([]string, len(params))
	for i, pr := range params {
		v, ok := pr.resolve(mc)
		if !ok {
			return "", false
		}
		parts[i] = v
	}
	return Key(parts), true
}

// Pick returns the index'th (1-based) value of a stored value; index 0 is
// the whole value.
func Pick(stored string, index int) (string, bool) {
	if index == 0 {
		return stored, true
	}
	vals := strings.Split(stored, ValueSeparator)
	if index > len(vals) {
		return "", false
	}
	return vals[index-1], true
}

func (p *policy) Execute(ctx context.Context, mc *flow.MessageContext) error {
	mapName, err := p.resolveMap(mc)
	if err != nil {
		return err
	}
	if err := p.seed(ctx); err != nil {
		return err
	}
	for _, o := range p.ops {
		if err := p.run(ctx, mc, mapName, o); err != nil {
			return err
		}
	}
	return nil
}

func (p *policy) run(ctx context.Context, mc *flow.MessageContext, mapName string, o op) error {
	key, ok := resolveKey(mc, o.key)
	switch o.kind {
	case opGet:
		var value any
		if ok {
			v, found, err := p.data.KVMGet(ctx, p.scope, mapName, key, p.ttl)
			if err != nil {
				return p.storeError(err)
			}
			if found {
				if s, ok := Pick(v, o.index); ok {
					value = s
				}
			}
		}
		if err := mc.Set(o.assignTo, value); err != nil {
			return flow.Errorf(http.StatusInternalServerError, CodeSetVariableFailed, "Failed to set variable %s in KeyValueMapStepDefinition %s", o.assignTo, p.name)
		}
	case opPut:
		if !ok {
			return nil
		}
		vals := make([]string, len(o.values))
		for i, v := range o.values {
			s, ok := v.resolve(mc)
			if !ok {
				return nil
			}
			vals[i] = s
		}
		if p.dynamic {
			exists, err := p.mapExists(ctx, mapName)
			if err != nil {
				return p.storeError(err)
			}
			if !exists {
				return nil
			}
		}
		if _, err := p.data.KVMPut(ctx, p.scope, mapName, key, strings.Join(vals, ValueSeparator), o.override); err != nil {
			return p.storeError(err)
		}
	case opDelete:
		if !ok {
			return nil
		}
		if err := p.data.KVMDelete(ctx, p.scope, mapName, key); err != nil {
			return p.storeError(err)
		}
	}
	return nil
}

func (p *policy) mapExists(ctx context.Context, mapName string) (bool, error) {
	_, err := p.data.KVMMap(ctx, p.scope, mapName)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// seed writes <InitialEntries> into the static map when the map does not
// exist yet, once per compiled policy (retried after a failure).
func (p *policy) seed(ctx context.Context) error {
	if len(p.initial) == 0 || p.dynamic || p.mapName == "" {
		return nil
	}
	p.seedMu.Lock()
	defer p.seedMu.Unlock()
	if p.seeded {
		return nil
	}
	exists, err := p.mapExists(ctx, p.mapName)
	if err != nil {
		return p.storeError(err)
	}
	if !exists {
		for _, e := range p.initial {
			if _, err := p.data.KVMPut(ctx, p.scope, p.mapName, Key(e.key), strings.Join(e.values, ValueSeparator), false); err != nil {
				return p.storeError(err)
			}
		}
	}
	p.seeded = true
	return nil
}

func (p *policy) storeError(err error) error {
	return fmt.Errorf("key value map %s: %w", p.name, err)
}
