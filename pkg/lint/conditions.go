package lint

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/hybrid-emulator/hybrid/pkg/condition"
)

// maxAssignments bounds the truth-table search of neverTrue and
// equivalent: beyond it a condition is given the benefit of the doubt.
const maxAssignments = 20000

// neverTrue reports whether a condition is false for every assignment of
// its flow variables, like apigeelint's truth table (CC006): each variable
// takes, in turn, "missing", true, false, "", and values derived from the
// literals it is compared with (each literal, slightly longer or shorter,
// in the other case, with wildcards filled in, ±1 and ±0.5 for numbers,
// and for a variable tested against several patterns, the patterns'
// literal parts joined). If none makes it true, no request can. A condition
// using JavaRegex is only judged when it has no variables: no
// literal-derived value is sure to match a regular expression, and a false
// alarm is worse than a missed one.
func neverTrue(c *condition.Condition) bool {
	never, _ := satisfy(c)
	return never
}

// satisfy is neverTrue that also returns an assignment making the
// condition true (nil when there is none, or the search gave up), which
// duplicates uses to tell most pairs of conditions apart in one step.
func satisfy(c *condition.Condition) (never bool, witness condition.MapResolver) {
	vars := c.Variables()
	if len(vars) == 0 {
		if c.Eval(nil) {
			return false, condition.MapResolver{}
		}
		return true, nil
	}
	a := analyze(c.String())
	if a.regex {
		return false, nil
	}
	done := enumerate(vars, a.candidates, func(r condition.Resolver) bool {
		if c.Eval(r) {
			witness = maps.Clone(r.(condition.MapResolver))
			return false
		}
		return true
	})
	return done && witness == nil, witness
}

// equivalent reports whether two conditions are the same test: the same
// canonical form, or (without JavaRegex) the same truth table over the
// values neverTrue uses, so that `a = "1" and b = "2"` and
// `b Equals "2" AND a = "1"` are duplicates, as apigeelint's CC008 says.
func equivalent(x, y *condition.Condition) bool {
	if x.String() == y.String() {
		return true
	}
	a := analyze(x.String() + " or " + y.String())
	if a.regex {
		return false
	}
	vars := x.Variables()
	for _, v := range y.Variables() {
		if !slices.Contains(vars, v) {
			vars = append(vars, v)
		}
	}
	same := true
	done := enumerate(vars, a.candidates, func(r condition.Resolver) bool {
		same = x.Eval(r) == y.Eval(r)
		return same
	})
	return done && same
}

// enumerate calls fn with every assignment of candidate values to vars
// until fn returns false. It reports false, without calling fn, when there
// are more than maxAssignments assignments.
func enumerate(vars []string, candidates func(v string) []any, fn func(condition.Resolver) bool) bool {
	cands := make([][]any, len(vars))
	total := 1
	for i, v := range vars {
		cands[i] = candidates(v)
		total *= len(cands[i])
		if total > maxAssignments {
			return false
		}
	}
	idx := make([]int, len(vars))
	res := condition.MapResolver{}
	for {
		for i, v := range vars {
			res[v] = cands[i][idx[i]]
		}
		if !fn(res) {
			return true
		}
		// Next assignment (odometer).
		i := 0
		for ; i < len(idx); i++ {
			idx[i]++
			if idx[i] < len(cands[i]) {
				break
			}
			idx[i] = 0
		}
		if i == len(idx) {
			return true
		}
	}
}

// literal is a string or number literal of a condition.
type literal struct {
	s     string
	isNum bool
}

// analysis is what the truth tables need to know about a condition: the
// literals each variable is compared with, how many pattern comparisons
// (StartsWith, Matches, MatchesPath) it is in, which variables are compared
// with each other, and whether JavaRegex is used.
type analysis struct {
	regex    bool
	lits     map[string][]literal
	patterns map[string]int
	links    map[string][]string
}

// token kinds of a canonical condition.
const (
	tokString = iota // "…"
	tokVar           // a variable, plain or '…'
	tokNumber
	tokWord // and, or, not, true, false, null, operator words
	tokOp   // = != > >= < <=
	tokOther
)

type ctoken struct {
	kind int
	text string
}

var (
	operatorWords = map[string]bool{"EqualsCaseInsensitive": true, "StartsWith": true, "JavaRegex": true, "Matches": true, "MatchesPath": true}
	patternWords  = map[string]bool{"StartsWith": true, "Matches": true, "MatchesPath": true}
	keywords      = map[string]bool{"and": true, "or": true, "not": true, "true": true, "false": true, "null": true}
)

// tokenize splits a condition's canonical form (condition.String: strings
// in "…" with \" inside, variables that need it in '…', operator words
// spelled out, one space around operators).
func tokenize(canon string) []ctoken {
	var toks []ctoken
	for i := 0; i < len(canon); {
		ch := canon[i]
		switch {
		case ch == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(canon) && canon[j] != '"'; j++ {
				if canon[j] == '\\' && j+1 < len(canon) && canon[j+1] == '"' {
					j++
				}
				b.WriteByte(canon[j])
			}
			toks = append(toks, ctoken{tokString, b.String()})
			i = j + 1
		case ch == '\'':
			j := strings.IndexByte(canon[i+1:], '\'')
			if j < 0 {
				return append(toks, ctoken{tokOther, canon[i:]})
			}
			toks = append(toks, ctoken{tokVar, canon[i+1 : i+1+j]})
			i += j + 2
		case isIdentByte(ch):
			j := i
			for j < len(canon) && isIdentByte(canon[j]) {
				j++
			}
			word := canon[i:j]
			switch num := strings.TrimRight(word, "fFdDlL"); {
			case num != "" && strings.IndexByte("0123456789.-", num[0]) >= 0:
				if _, err := strconv.ParseFloat(num, 64); err == nil {
					toks = append(toks, ctoken{tokNumber, num})
				} else {
					toks = append(toks, ctoken{tokOther, word})
				}
			case keywords[word] || operatorWords[word]:
				toks = append(toks, ctoken{tokWord, word})
			default:
				toks = append(toks, ctoken{tokVar, word})
			}
			i = j
		case strings.IndexByte("=!<>", ch) >= 0:
			j := i
			for j < len(canon) && strings.IndexByte("=!<>", canon[j]) >= 0 {
				j++
			}
			toks = append(toks, ctoken{tokOp, canon[i:j]})
			i = j
		case ch == ' ' || ch == '(' || ch == ')':
			i++
		default:
			toks = append(toks, ctoken{tokOther, string(ch)})
			i++
		}
	}
	return toks
}

// analyze reads the comparisons (variable operator value) of a canonical
// condition.
func analyze(canon string) analysis {
	a := analysis{lits: map[string][]literal{}, patterns: map[string]int{}, links: map[string][]string{}}
	toks := tokenize(canon)
	for _, t := range toks {
		if t.kind == tokWord && t.text == "JavaRegex" {
			a.regex = true
		}
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tokVar || i+2 >= len(toks) {
			continue
		}
		op, val := toks[i+1], toks[i+2]
		if op.kind != tokOp && !(op.kind == tokWord && operatorWords[op.text]) {
			continue
		}
		if patternWords[op.text] {
			a.patterns[t.text]++
		}
		switch val.kind {
		case tokString:
			a.lits[t.text] = append(a.lits[t.text], literal{s: val.text})
		case tokNumber:
			a.lits[t.text] = append(a.lits[t.text], literal{s: val.text, isNum: true})
		case tokVar:
			a.links[t.text] = append(a.links[t.text], val.text)
			a.links[val.text] = append(a.links[val.text], t.text)
		}
		i += 2
	}
	return a
}

// candidates are the values variable v takes in the truth table: the
// shared ones and those derived from the literals of v and of the
// variables it is compared with.
func (a analysis) candidates(v string) []any {
	group := []string{v}
	for i := 0; i < len(group); i++ {
		for _, w := range a.links[group[i]] {
			if !slices.Contains(group, w) {
				group = append(group, w)
			}
		}
	}
	var lits []literal
	patterns := 0
	for _, w := range group {
		lits = append(lits, a.lits[w]...)
		patterns += a.patterns[w]
	}
	return candidates(lits, patterns > 1)
}

func isIdentByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// candidates derives truth-table values from literals; joined adds the
// literal parts of every pair of literals, for a variable that must match
// several patterns at once ("api*" and "*.example.com": "api.example.com").
func candidates(lits []literal, joined bool) []any {
	out := []any{nil, true, false, ""}
	seen := map[string]bool{"": true}
	addS := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, l := range lits {
		if l.isNum {
			f, err := strconv.ParseFloat(l.s, 64)
			if err != nil {
				continue
			}
			for _, d := range []float64{0, -1, 1, -0.5, 0.5} {
				addS(strconv.FormatFloat(f+d, 'g', -1, 64))
			}
			continue
		}
		s := l.s
		addS(s)
		addS(s + "x")
		addS("x" + s)
		if len(s) > 1 {
			addS(s[:len(s)-1])
		}
		addS(strings.ToUpper(s))
		addS(strings.ToLower(s))
		// Witnesses for Matches and MatchesPath patterns: wildcards and
		// {name} segments replaced by a letter or nothing, % escapes
		// resolved.
		plain := unescapePattern(s)
		addS(plain)
		addS(strings.NewReplacer("**", "x", "*", "x").Replace(plain))
		addS(strings.NewReplacer("/**", "", "*", "").Replace(plain))
	}
	if joined {
		for _, x := range lits {
			for _, y := range lits {
				if x != y && !x.isNum && !y.isNum {
					addS(strings.ReplaceAll(unescapePattern(x.s), "*", "") + strings.ReplaceAll(unescapePattern(y.s), "*", ""))
				}
			}
		}
	}
	return out
}

// unescapePattern resolves MatchesPath's % escapes and replaces {name}
// placeholders by a segment value.
func unescapePattern(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '%' && i+1 < len(s) && strings.IndexByte("*{}%/", s[i+1]) >= 0:
			i++
			b.WriteByte(s[i])
		case s[i] == '{':
			if j := strings.IndexByte(s[i:], '}'); j > 0 {
				b.WriteString("x")
				i += j
				continue
			}
			b.WriteByte(s[i])
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
