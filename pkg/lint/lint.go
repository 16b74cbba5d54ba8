// Package lint checks a parsed bundle (package bundle) against a rule set
// modelled on apigeelint's most useful rules and returns warnings, never
// errors: a bundle that parses is importable and deployable, and lint only
// points at what is probably a mistake (dead policies, conditions that can
// never be true, flows that can never run, …).
//
// Each finding carries a rule id: apigeelint's own id where apigeelint has
// the rule (BN005, CC006, FL001, PO007, …), so that people who know one tool
// know the other, and an "HY" id for the rules apigeelint does not have.
// Rules lists them all; docs/LINT.md describes them.
//
// The control plane runs Bundle on every import and returns the findings
// next to the revision; `hybridctl lint` runs Zip offline. Zip also lints
// bundles whose steps name policies the bundle lacks (BN010), which Parse
// (and Apigee) refuse at import.
package lint

import (
	"sort"

	"github.com/hybrid-emulator/hybrid/pkg/bundle"
)

// SeverityWarning is the only severity lint reports: findings never fail an
// import.
const SeverityWarning = "warning"

// Finding is one rule violation.
type Finding struct {
	// Rule is the rule id (apigeelint's where it has the rule).
	Rule string `json:"rule"`
	// Severity is always SeverityWarning.
	Severity string `json:"severity"`
	// File is the path of the offending file in the bundle, e.g.
	// "apiproxy/policies/AM-1.xml".
	File string `json:"file"`
	// Message names the policy, flow or step and says what is wrong.
	Message string `json:"message"`
}

// Rule describes one rule, for documentation and `hybridctl lint --rules`.
type Rule struct {
	ID string `json:"id"`
	// Apigeelint is apigeelint's id for the same check, or "" when
	// apigeelint has no such rule.
	Apigeelint string `json:"apigeelint,omitempty"`
	Summary    string `json:"summary"`
	// ImportTime is false for rules only `hybridctl lint` can report: the
	// control plane refuses such bundles at import (BN010), or lacks what
	// the rule needs.
	ImportTime bool `json:"importTime"`
}

// Rule ids.
const (
	RuleUnattachedPolicy      = "BN005"
	RuleMissingPolicy         = "BN010"
	RuleConditionNeverTrue    = "CC006"
	RuleConditionSyntax       = "CC007"
	RuleDuplicateCondition    = "CC008"
	RuleUnconditionalFlow     = "FL001"
	RuleUnreachableRouteRule  = "PD003"
	RulePolicyNaming          = "PO007"
	RuleUndefinedTargetServer = "HY001"
	RuleSecurityContinue      = "HY002"
	RuleJavaScriptTimeLimit   = "HY003"
)

// Rules returns every rule, sorted by id.
func Rules() []Rule {
	rules := []Rule{
		{RuleUnattachedPolicy, "BN005", "a policy no step attaches (dead code)", true},
		{RuleMissingPolicy, "BN010", "a step names a policy the bundle does not have", false},
		{RuleConditionNeverTrue, "CC006", "a condition that can never be true (contradictory, or constant false)", true},
		{RuleConditionSyntax, "CC007", "a condition that does not parse", true},
		{RuleDuplicateCondition, "CC008", "a conditional Flow, FaultRule or RouteRule with the same condition as an earlier one", true},
		{RuleUnconditionalFlow, "FL001", "more than one unconditional Flow, or one that is not the last: the flows after it never run", true},
		{RuleUnreachableRouteRule, "PD003", "a RouteRule after an unconditional RouteRule never applies", true},
		{RulePolicyNaming, "PO007", "a policy name without the conventional prefix of its type (AM-, VA-, JS-, …)", true},
		{RuleUndefinedTargetServer, "", "a LoadBalancer Server names a target server the environment(s) do not define", true},
		{RuleSecurityContinue, "", `continueOnError="true" on a security policy: a failed check lets the request through`, true},
		{RuleJavaScriptTimeLimit, "", "a Javascript policy without a timeLimit", true},
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].ID < rules[j].ID })
	return rules
}

// Options configure a lint run.
type Options struct {
	// TargetServerExists reports whether a target server of that name is
	// defined where the bundle will run. When nil, target server names are
	// not checked (HY001 needs the environment's target servers).
	TargetServerExists func(name string) bool
}

// Bundle lints a parsed bundle. The findings are sorted by file, rule and
// message; the result is never nil.
func Bundle(b *bundle.Bundle, opts Options) []Finding {
	l := &linter{b: b, opts: opts, out: []Finding{}}
	l.policies()
	l.endpoints()
	l.targetServers()
	sortFindings(l.out)
	return l.out
}

type linter struct {
	b    *bundle.Bundle
	opts Options
	out  []Finding
}

func (l *linter) add(rule, file, format string, args ...any) {
	l.out = append(l.out, Finding{Rule: rule, Severity: SeverityWarning, File: file, Message: sprintf(format, args...)})
}

func sortFindings(fs []Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}
