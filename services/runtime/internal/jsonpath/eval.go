package jsonpath

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// Eval evaluates the path on a document from Decode, as Jayway's
// JsonPath.read does with its default configuration: a definite path
// gives the value it finds (wrapping ErrNotFound when there is none); an
// indefinite path gives a []any of every value found, possibly empty.
//
// The result may share structure with doc; treat both as read-only.
func (p *Path) Eval(doc any) (result any, err error) {
	c := newEvalCtx(p, doc, false)
	ex := catch(func() {
		c.run(doc)
		result = c.value()
	}, anyEx)
	switch {
	case ex == nil:
		return result, nil
	case ex.kind == exNotFound:
		return nil, fmt.Errorf("%w: %s: %s", ErrNotFound, p.src, ex.msg)
	}
	return nil, &EvalError{Path: p.src, Msg: ex.msg, invalidPath: ex.kind == exInvalid}
}

// Values evaluates the path and returns what it found as a list: the
// value of a definite path (none when it found nothing), or the values of
// an indefinite one. Errors other than ErrNotFound are returned.
func (p *Path) Values(doc any) ([]any, error) {
	v, err := p.Eval(doc)
	switch {
	case err != nil && errorsIsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, err
	case p.Definite():
		return []any{v}, nil
	}
	return v.([]any), nil
}

// evalCtx is Jayway's EvaluationContextImpl.
type evalCtx struct {
	path         *Path
	root         any
	requireProps bool // Option.REQUIRE_PROPERTIES, set for exists checks
	results      []any
	cache        map[*Path]any // values of $-paths inside filters
	// steps left, shared with the evaluations of paths inside filters and
	// function arguments.
	steps *int
}

// maxSteps bounds one evaluation. Jayway has no such limit, but stacked
// deep scans ("$..*..*..*") grow as a power of the document's size, and a
// gateway must not let one request's payload pin a CPU. It is far above
// what any sensible path over a sensible payload takes.
const maxSteps = 1 << 22

func newEvalCtx(p *Path, root any, requireProps bool) *evalCtx {
	n := maxSteps
	return &evalCtx{path: p, root: root, requireProps: requireProps, steps: &n}
}

// child is an evaluation context for a path evaluated during this one.
func (c *evalCtx) child(p *Path, requireProps bool) *evalCtx {
	return &evalCtx{path: p, root: c.root, requireProps: requireProps, steps: c.steps}
}

func (c *evalCtx) step() {
	if *c.steps--; *c.steps < 0 {
		throw(exOther, "the evaluation takes more than %d steps", maxSteps)
	}
}

func (c *evalCtx) run(doc any) { c.evaluate(c.path.root, doc) }

func (c *evalCtx) add(v any) { c.results = append(c.results, v) }

// value is EvaluationContextImpl.getValue: the last value found by a
// definite path, or all of them.
func (c *evalCtx) value() any {
	if c.path.root.pathDefinite {
		if len(c.results) == 0 {
			throw(exNotFound, "No results for path: %s", c.path.src)
		}
		return c.results[len(c.results)-1]
	}
	out := c.results
	if out == nil {
		out = []any{}
	}
	return out
}

func (c *evalCtx) evaluate(t *token, model any) {
	c.step()
	switch t.kind {
	case tokRoot:
		if t.isLeaf() {
			c.add(model)
		} else {
			c.evaluate(t.next, model)
		}
	case tokProperty:
		c.evalProperty(t, model)
	case tokIndex, tokSlice:
		c.evalArray(t, model)
	case tokWildcard:
		c.evalWildcard(t, model)
	case tokScan:
		c.evalScan(t, model)
	case tokFilter:
		c.evalFilter(t, model)
	case tokFunction:
		c.evalFunction(t, model)
	}
}

func (c *evalCtx) evalProperty(t *token, model any) {
	obj, ok := model.(*Object)
	if !ok {
		if !t.upstreamDefinite {
			return
		}
		throw(exNotFound, "Expected to find an object with property %v but found '%s'. This is not a json object.", t.props, javaType(model))
	}
	if len(t.props) == 1 || t.isLeaf() {
		c.objectProperty(t, obj, t.props)
		return
	}
	// Several properties before more tokens: each one in turn, like an
	// index list.
	for _, p := range t.props {
		c.objectProperty(t, obj, []string{p})
	}
}

// objectProperty is PathToken.handleObjectProperty.
func (c *evalCtx) objectProperty(t *token, obj *Object, props []string) {
	if len(props) == 1 {
		v, ok := obj.Get(props[0])
		if !ok {
			if t.isLeaf() {
				if !c.requireProps {
					return
				}
				throw(exNotFound, "No results for path: ['%s']", props[0])
			}
			if !(t.upstreamDefinite && t.definite) && !c.requireProps {
				// Somewhere the path is indefinite: a missing property
				// just ends this branch.
				return
			}
			throw(exNotFound, "Missing property in path ['%s']", props[0])
		}
		if t.isLeaf() {
			c.add(v)
		} else {
			c.evaluate(t.next, v)
		}
		return
	}
	merged := NewObject()
	for _, p := range props {
		v, ok := obj.Get(p)
		if !ok {
			if c.requireProps {
				throw(exNotFound, "Missing property in path ['%s']", p)
			}
			continue
		}
		merged.Set(p, v)
	}
	c.add(merged)
}

// checkArray is ArrayPathToken.checkArrayModel.
func (c *evalCtx) checkArray(t *token, model any) ([]any, bool) {
	if model == nil {
		if !t.upstreamDefinite {
			return nil, false
		}
		throw(exNotFound, "The path is null")
	}
	a, ok := model.([]any)
	if !ok {
		if !t.upstreamDefinite {
			return nil, false
		}
		throw(exNotFound, "Filter can only be applied to arrays. Current context is: %s", javaString(model))
	}
	return a, true
}

func (c *evalCtx) evalArray(t *token, model any) {
	a, ok := c.checkArray(t, model)
	if !ok {
		return
	}
	if t.kind == tokIndex {
		for _, i := range t.indexes {
			c.arrayIndex(t, i, a)
		}
		return
	}
	n := len(a)
	switch t.slice {
	case sliceFrom:
		from := t.from
		if from < 0 {
			from += n
		}
		from = max(0, from)
		if n == 0 || from >= n {
			return
		}
		for i := from; i < n; i++ {
			c.arrayIndex(t, i, a)
		}
	case sliceBetween:
		// Jayway neither wraps nor clamps a negative start here: the
		// indexes below zero count from the end, one by one.
		from, to := t.from, min(n, t.to)
		if from >= to || n == 0 {
			return
		}
		for i := from; i < to; i++ {
			c.arrayIndex(t, i, a)
		}
	case sliceTo:
		if n == 0 {
			return
		}
		to := t.to
		if to < 0 {
			to += n
		}
		to = min(n, to)
		for i := 0; i < to; i++ {
			c.arrayIndex(t, i, a)
		}
	}
}

// arrayIndex is PathToken.handleArrayIndex: a negative index counts from
// the end; one outside the array is skipped.
func (c *evalCtx) arrayIndex(t *token, i int, a []any) {
	if i < 0 {
		i += len(a)
	}
	if i < 0 || i >= len(a) {
		return
	}
	if t.isLeaf() {
		c.add(a[i])
	} else {
		c.evaluate(t.next, a[i])
	}
}

func (c *evalCtx) evalWildcard(t *token, model any) {
	switch m := model.(type) {
	case *Object:
		for _, k := range m.keys {
			c.objectProperty(t, m, []string{k})
		}
	case []any:
		for i := range m {
			// Jayway drops a branch that finds nothing under an array
			// wildcard, unless properties are required.
			ex := catch(func() { c.arrayIndex(t, i, m) }, notFoundEx)
			if ex != nil && c.requireProps {
				panic(ex)
			}
		}
	}
}

// evalScan is ScanPathToken: every object and array under model is
// offered to the next token, when the next token could apply to it.
func (c *evalCtx) evalScan(t *token, model any) {
	next := t.next
	var matches func(any) bool
	switch next.kind {
	case tokProperty:
		matches = func(m any) bool {
			obj, ok := m.(*Object)
			if !ok {
				return false
			}
			if !next.definite {
				return true
			}
			for _, p := range next.props {
				if _, ok := obj.Get(p); !ok {
					return false
				}
			}
			return true
		}
	case tokIndex, tokSlice:
		matches = func(m any) bool { _, ok := m.([]any); return ok }
	case tokWildcard:
		matches = func(any) bool { return true }
	case tokFilter:
		matches = func(m any) bool { return c.accept(next, m) }
	default:
		matches = func(any) bool { return false }
	}
	c.walk(next, model, matches)
}

func (c *evalCtx) walk(pt *token, model any, matches func(any) bool) {
	c.step()
	switch m := model.(type) {
	case *Object:
		if matches(m) {
			c.evaluate(pt, m)
		}
		for _, k := range m.keys {
			c.walk(pt, m.vals[k], matches)
		}
	case []any:
		if matches(m) {
			if pt.isLeaf() {
				c.evaluate(pt, m)
			} else {
				// Jayway hands each element to the token after next,
				// skipping the next one itself.
				for _, e := range m {
					c.evaluate(pt.next, e)
				}
			}
		}
		for _, e := range m {
			c.walk(pt, e, matches)
		}
	}
}

func (c *evalCtx) evalFilter(t *token, model any) {
	switch m := model.(type) {
	case *Object:
		// A filter on an object tests the object itself.
		if c.accept(t, m) {
			if t.isLeaf() {
				c.add(m)
			} else {
				c.evaluate(t.next, m)
			}
		}
	case []any:
		for i, e := range m {
			if c.accept(t, e) {
				c.arrayIndex(t, i, m)
			}
		}
	default:
		if t.upstreamDefinite {
			throw(exInvalid, "Filter: %s can not be applied to primitives. Current context is: %s", "[?]", javaString(model))
		}
	}
}

// accept is PredicatePathToken.accept: a filter that throws an
// InvalidPathException (a path in it that fails, an operator that cannot
// apply) is false.
func (c *evalCtx) accept(t *token, item any) bool {
	ok := false
	ex := catch(func() {
		ok = t.filter.apply(&predCtx{item: item, root: c.root, ctx: c})
	}, invalidEx)
	return ex == nil && ok
}

// predCtx is Jayway's PredicateContextImpl.
type predCtx struct {
	item, root any
	ctx        *evalCtx
}

// evaluate runs a path of a filter: a $-path on the document (once per
// evaluation), an @-path on the current item.
func (pc *predCtx) evaluate(p *Path) any {
	if p.rootPath {
		if v, ok := pc.ctx.cache[p]; ok {
			return v
		}
		c := pc.ctx.child(p, pc.ctx.requireProps)
		c.run(pc.root)
		v := c.value()
		if pc.ctx.cache == nil {
			pc.ctx.cache = map[*Path]any{}
		}
		pc.ctx.cache[p] = v
		return v
	}
	c := pc.ctx.child(p, pc.ctx.requireProps)
	c.run(pc.item)
	return c.value()
}

func (c *evalCtx) evalFunction(t *token, model any) {
	fn, ok := functions[t.fn]
	if !ok {
		throw(exInvalid, "Function with name: %s does not exist.", t.fn)
	}
	result := fn(c, model, t.params)
	c.add(result)
	if !t.isLeaf() {
		c.evaluate(t.next, result)
	}
}

// paramValue is a function argument's value: a path evaluated against the
// root, or JSON parsed afresh.
func (c *evalCtx) paramValue(p *param) any {
	if p.kind == paramPath {
		sub := c.child(p.path, c.requireProps)
		sub.run(c.root)
		return sub.value()
	}
	v, err := parseLiteral(p.json)
	if err != nil {
		throw(exOther, "%v", err)
	}
	return v
}

type function func(c *evalCtx, model any, params []*param) any

// functions are the path functions of Jayway 2.4.0 (PathFunctionFactory).
// keys(), first(), last() and index() came later and are unknown here, as
// there: the path compiles, and evaluating it fails.
var functions map[string]function

func init() { // not a composite literal: the functions evaluate paths, which look them up
	functions = map[string]function{
		"avg":    aggregate(average),
		"stddev": aggregate(stddev),
		"sum":    aggregate(sum),
		"min":    aggregate(minimum),
		"max":    aggregate(maximum),
		"concat": concat,
		"length": length,
		"size":   length,
		"append": appendFn,
	}
}

func length(_ *evalCtx, model any, _ []*param) any {
	switch m := model.(type) {
	case []any:
		return int64(len(m))
	case *Object:
		return int64(m.Len())
	}
	return nil
}

// aggregate is AbstractAggregation: the numbers of an array model and of
// the arguments; none at all is an error.
func aggregate(f func([]float64) float64) function {
	return func(c *evalCtx, model any, params []*param) any {
		var nums []float64
		if a, ok := model.([]any); ok {
			for _, v := range a {
				if d, ok := doubleValue(v); ok {
					nums = append(nums, d)
				}
			}
		}
		for _, p := range params {
			if d, ok := doubleValue(c.paramValue(p)); ok {
				nums = append(nums, d)
			}
		}
		if len(nums) == 0 {
			throw(exOther, "Aggregation function attempted to calculate value using empty array")
		}
		return f(nums)
	}
}

// doubleValue is Number.doubleValue, for the values that are Numbers.
func doubleValue(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case Decimal:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			f = math.Inf(1)
			if len(x) > 0 && x[0] == '-' {
				f = math.Inf(-1)
			}
		}
		return f, true
	}
	return 0, false
}

// The aggregations accumulate in the order Jayway does, one value at a
// time, so the floating-point results are the same bits. Each product is
// converted explicitly to keep Go from fusing it into an FMA.
func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

func average(v []float64) float64 {
	s, n := 0.0, 0.0
	for _, x := range v {
		n++
		s += x
	}
	return s / n
}

func stddev(v []float64) float64 {
	s, sq, n := 0.0, 0.0, 0.0
	for _, x := range v {
		s += x
		sq += float64(x * x)
		n++
	}
	return math.Sqrt(sq/n - float64(float64(s*s)/n)/n)
}

func minimum(v []float64) float64 {
	m := math.MaxFloat64
	for _, x := range v {
		if m > x {
			m = x
		}
	}
	return m
}

// maximum starts, as Jayway's Max does, from Double.MIN_VALUE, the
// smallest positive double: the max of negative numbers is 4.9E-324.
func maximum(v []float64) float64 {
	m := math.SmallestNonzeroFloat64
	for _, x := range v {
		if m < x {
			m = x
		}
	}
	return m
}

// concat joins the strings of an array model and the arguments (as Java
// prints them).
func concat(c *evalCtx, model any, params []*param) any {
	var out []byte
	if a, ok := model.([]any); ok {
		for _, v := range a {
			if s, ok := v.(string); ok {
				out = append(out, s...)
			}
		}
	}
	for _, p := range params {
		if v := c.paramValue(p); v != nil {
			out = append(out, javaString(v)...)
		}
	}
	return string(out)
}

// appendFn adds the arguments to an array model. Jayway appends to the
// document's own array; this returns a new one and leaves the document as
// it was.
func appendFn(c *evalCtx, model any, params []*param) any {
	a, ok := model.([]any)
	if !ok || len(params) == 0 {
		return model
	}
	out := append([]any(nil), a...)
	for _, p := range params {
		out = append(out, c.paramValue(p))
	}
	return out
}

// javaType names a value's Java class for error messages.
func javaType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "java.lang.String"
	case bool:
		return "java.lang.Boolean"
	case int64:
		return "java.lang.Integer"
	case float64:
		return "java.lang.Double"
	case []any:
		return "net.minidev.json.JSONArray"
	}
	return fmt.Sprintf("%T", v)
}
