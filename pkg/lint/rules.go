package lint

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
	"github.com/hybrid-emulator/hybrid/pkg/condition"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// securityPolicies are the policy types whose failure must stop the request:
// with continueOnError="true" a bad key, token or payload is let through.
var securityPolicies = map[string]bool{
	"AccessControl":               true,
	"BasicAuthentication":         true,
	"HMAC":                        true,
	"JSONThreatProtection":        true,
	"OAuthV1":                     true,
	"OAuthV2":                     true,
	"RegularExpressionProtection": true,
	"ValidateSAMLAssertion":       true,
	"VerifyAPIKey":                true,
	"VerifyIAM":                   true,
	"VerifyJWS":                   true,
	"VerifyJWT":                   true,
	"XMLThreatProtection":         true,
}

// policies runs the per-policy rules in policy file order.
func (l *linter) policies() {
	attached := map[string]bool{}
	l.eachStep(func(_, _ string, s bundle.Step) { attached[s.Name] = true })
	for _, p := range sortedPolicies(l.b) {
		if !attached[p.Name] {
			l.add(RuleUnattachedPolicy, p.File, "%s policy %q is not attached to any step: remove it or attach it", p.Type, p.Name)
		}
		if !nameFollowsConvention(p.Type, p.Name) {
			l.add(RulePolicyNaming, p.File, "%s policy %q does not start with a prefix that tells its type (e.g. %s-%s)", p.Type, p.Name, suggestedPrefix(p.Type), p.Name)
		}
		if p.ContinueOnError && securityPolicies[p.Type] {
			l.add(RuleSecurityContinue, p.File, "%s policy %q has continueOnError=\"true\": when the check fails the request goes on as if it had passed", p.Type, p.Name)
		}
		if p.Type == "Javascript" && !hasRootAttr(p.XML, "timeLimit") {
			l.add(RuleJavaScriptTimeLimit, p.File, "Javascript policy %q has no timeLimit attribute: a runaway script holds the request until the runtime's own limit", p.Name)
		}
	}
}

func sortedPolicies(b *bundle.Bundle) []*bundle.Policy {
	ps := make([]*bundle.Policy, 0, len(b.Policies))
	for _, p := range b.Policies {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].File < ps[j].File })
	return ps
}

// hasRootAttr reports whether the document's root element has the attribute.
func hasRootAttr(doc []byte, name string) bool {
	d := xml.NewDecoder(bytes.NewReader(doc))
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if a.Name.Local == name && strings.TrimSpace(a.Value) != "" {
					return true
				}
			}
			return false
		}
	}
}

// eachStep calls fn for every step of the bundle with the file it is in and
// where in that file (`ProxyEndpoint "default" Flow "x" Request`).
func (l *linter) eachStep(fn func(file, where string, s bundle.Step)) {
	flow := func(file, where string, f *bundle.Flow) {
		if f == nil {
			return
		}
		for _, s := range f.Request {
			fn(file, where+" Request", s)
		}
		for _, s := range f.Response {
			fn(file, where+" Response", s)
		}
	}
	faults := func(file, ep string, frs []bundle.FaultRule, dfr *bundle.FaultRule) {
		for _, fr := range frs {
			for _, s := range fr.Steps {
				fn(file, ep+"FaultRule "+strconv.Quote(fr.Name), s)
			}
		}
		if dfr != nil {
			for _, s := range dfr.Steps {
				fn(file, ep+"DefaultFaultRule", s)
			}
		}
	}
	for _, pe := range l.b.ProxyEndpoints {
		ep := "ProxyEndpoint " + strconv.Quote(pe.Name) + " "
		faults(pe.File, ep, pe.FaultRules, pe.DefaultFaultRule)
		flow(pe.File, ep+"PreFlow", pe.PreFlow)
		for i := range pe.Flows {
			flow(pe.File, ep+"Flow "+strconv.Quote(pe.Flows[i].Name), &pe.Flows[i])
		}
		flow(pe.File, ep+"PostFlow", pe.PostFlow)
		flow(pe.File, ep+"PostClientFlow", pe.PostClientFlow)
	}
	for _, te := range l.b.TargetEndpoints {
		ep := "TargetEndpoint " + strconv.Quote(te.Name) + " "
		faults(te.File, ep, te.FaultRules, te.DefaultFaultRule)
		flow(te.File, ep+"PreFlow", te.PreFlow)
		for i := range te.Flows {
			flow(te.File, ep+"Flow "+strconv.Quote(te.Flows[i].Name), &te.Flows[i])
		}
		flow(te.File, ep+"PostFlow", te.PostFlow)
	}
	for _, sf := range l.b.SharedFlows {
		for _, s := range sf.Steps {
			fn(sf.File, "SharedFlow "+strconv.Quote(sf.Name), s)
		}
	}
}

// endpoints runs the rules over conditions, flows and route rules.
func (l *linter) endpoints() {
	l.eachStep(func(file, where string, s bundle.Step) {
		l.condition(file, sprintf("%s step %q", where, s.Name), s.Condition)
	})
	for _, pe := range l.b.ProxyEndpoints {
		what := "ProxyEndpoint " + strconv.Quote(pe.Name)
		l.flows(pe.File, what, pe.Flows)
		l.faultRules(pe.File, what, pe.FaultRules, pe.DefaultFaultRule)
		l.routeRules(pe.File, what, pe.RouteRules)
	}
	for _, te := range l.b.TargetEndpoints {
		what := "TargetEndpoint " + strconv.Quote(te.Name)
		l.flows(te.File, what, te.Flows)
		l.faultRules(te.File, what, te.FaultRules, te.DefaultFaultRule)
	}
}

// checked is a condition that parsed, with an assignment of its flow
// variables that makes it true (nil if none was found).
type checked struct {
	c       *condition.Condition
	witness condition.MapResolver
	// vars is the condition's sorted variables, joined: conditions on
	// different variables are not compared in depth (below).
	vars string
}

// condition checks one condition: it must parse (CC007) and be true for
// some flow variables (CC006). It returns nil for an empty or unparsable
// condition.
func (l *linter) condition(file, what, src string) *checked {
	if strings.TrimSpace(src) == "" {
		return nil
	}
	c, err := condition.Parse(src)
	if err != nil {
		l.add(RuleConditionSyntax, file, "%s: condition does not parse: %v", what, err)
		return nil
	}
	never, witness := satisfy(c)
	if never {
		l.add(RuleConditionNeverTrue, file, "%s: condition %q can never be true", what, src)
	}
	return &checked{c: c, witness: witness, vars: strings.Join(slices.Sorted(slices.Values(c.Variables())), "\x00")}
}

// conditional is a Flow, FaultRule or RouteRule: a name and its checked
// condition (nil when it has none).
type conditional struct {
	kind, name, src string
	cond            *checked
}

// duplicates reports conditionals whose condition is the same as an earlier
// one's (CC008): operator words, spacing, parentheses and the order of
// and/or operands do not matter (see equivalent).
func (l *linter) duplicates(file, what string, items []conditional) {
	var seen []conditional
	for _, it := range items {
		if it.cond == nil {
			continue
		}
		dup := false
		for _, p := range seen {
			if sameCondition(p.cond, it.cond) {
				// The first matching Flow or RouteRule wins, so the later
				// one never applies; fault rules run in an order that
				// depends on the endpoint, but still only one of the two.
				effect := "it never applies"
				if it.kind == "FaultRule" {
					effect = "only one of them ever applies"
				}
				l.add(RuleDuplicateCondition, file, "%s: %s %q has the same condition as %s %q (%s): %s", what, it.kind, it.name, it.kind, p.name, it.src, effect)
				dup = true
				break
			}
		}
		if !dup {
			seen = append(seen, it)
		}
	}
}

// sameCondition is equivalent, after a quick test that rejects most pairs
// with one evaluation: equivalent conditions are both true where either is.
//
// Only conditions on the same variables are compared in depth: the truth
// tables cost a few thousand evaluations a pair, and a bundle with
// hundreds of conditional flows has tens of thousands of pairs; lint runs
// on every import. Two equivalent conditions written on different
// variables (one with a redundant term) go unreported.
func sameCondition(a, b *checked) bool {
	if a.c.String() == b.c.String() {
		return true
	}
	if a.vars != b.vars {
		return false
	}
	if a.witness != nil && !b.c.Eval(a.witness) || b.witness != nil && !a.c.Eval(b.witness) {
		return false
	}
	return equivalent(a.c, b.c)
}

// flows checks conditional flows: conditions, duplicates and unconditional
// flows that hide the flows after them (Apigee runs the first flow whose
// condition is true).
func (l *linter) flows(file, what string, flows []bundle.Flow) {
	items := make([]conditional, len(flows))
	var unconditional []int
	for i, f := range flows {
		items[i] = conditional{"Flow", f.Name, f.Condition, l.condition(file, sprintf("%s Flow %q", what, f.Name), f.Condition)}
		if strings.TrimSpace(f.Condition) == "" {
			unconditional = append(unconditional, i)
		}
	}
	l.duplicates(file, what, items)
	if len(unconditional) > 0 && unconditional[0] < len(flows)-1 {
		var after []string
		for _, f := range flows[unconditional[0]+1:] {
			after = append(after, strconv.Quote(f.Name))
		}
		many := ""
		if len(unconditional) > 1 {
			many = sprintf(" (one of %d unconditional flows)", len(unconditional))
		}
		l.add(RuleUnconditionalFlow, file, "%s: unconditional Flow %q%s is not the last flow, so the flows after it never run (%s)", what, flows[unconditional[0]].Name, many, strings.Join(after, ", "))
	}
}

func (l *linter) faultRules(file, what string, frs []bundle.FaultRule, dfr *bundle.FaultRule) {
	items := make([]conditional, len(frs))
	for i, fr := range frs {
		items[i] = conditional{"FaultRule", fr.Name, fr.Condition, l.condition(file, sprintf("%s FaultRule %q", what, fr.Name), fr.Condition)}
	}
	l.duplicates(file, what, items)
	if dfr != nil {
		l.condition(file, what+" DefaultFaultRule", dfr.Condition)
	}
}

// routeRules checks route rules: Apigee takes the first whose condition is
// true, so rules after an unconditional one never apply (PD003).
func (l *linter) routeRules(file, what string, rrs []bundle.RouteRule) {
	items := make([]conditional, len(rrs))
	first := -1
	for i, rr := range rrs {
		items[i] = conditional{"RouteRule", rr.Name, rr.Condition, l.condition(file, sprintf("%s RouteRule %q", what, rr.Name), rr.Condition)}
		if first < 0 && strings.TrimSpace(rr.Condition) == "" {
			first = i
		}
	}
	l.duplicates(file, what, items)
	if first >= 0 && first < len(rrs)-1 {
		var after []string
		for _, rr := range rrs[first+1:] {
			after = append(after, strconv.Quote(rr.Name))
		}
		l.add(RuleUnreachableRouteRule, file, "%s: unconditional RouteRule %q is not the last, so the route rules after it never apply (%s)", what, rrs[first].Name, strings.Join(after, ", "))
	}
}

// targetServers checks that every LoadBalancer Server names a target server
// that exists (HY001), when the caller can tell.
func (l *linter) targetServers() {
	if l.opts.TargetServerExists == nil {
		return
	}
	for _, te := range l.b.TargetEndpoints {
		htc := te.HTTPTargetConnection
		if htc == nil || htc.LoadBalancer == nil {
			continue
		}
		for _, s := range htc.LoadBalancer.Servers {
			if !l.opts.TargetServerExists(s.Name) {
				l.add(RuleUndefinedTargetServer, te.File, "TargetEndpoint %q: LoadBalancer Server %q names a target server that is not defined", te.Name, s.Name)
			}
		}
	}
}
