package monitoring

import (
	"errors"
	"fmt"
	"strings"
)

// Filter is the subset of Cloud Monitoring's filter language the mock
// reads: comparisons joined by AND (any case), each
//
//	metric.type = "X"             (required, as the real API requires it)
//	resource.type = "X"
//	metric.labels.K = "V"         (metric.label.K too)
//	resource.labels.K = "V"       (resource.label.K too)
//
// where any value may instead be starts_with("prefix"). Strings are in
// double or single quotes. OR, NOT, parentheses, other fields and other
// functions (ends_with, has_substring, one_of, monitoring.regex…) are
// refused by name, so a query that would mean something else on Google is
// never answered wrongly.
type Filter struct {
	conds []cond
}

type cond struct {
	field  string // metric.type, resource.type, metric.labels, resource.labels
	key    string // the label, for the labels fields
	value  string
	prefix bool // starts_with
}

// ParseFilter parses a filter of the subset above.
func ParseFilter(s string) (*Filter, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	f := &Filter{}
	typed := false
	for i := 0; ; {
		if i >= len(toks) {
			if len(f.conds) == 0 {
				return nil, errors.New("the filter is empty")
			}
			return nil, errors.New("the filter ends after AND")
		}
		c, next, err := parseCond(toks, i)
		if err != nil {
			return nil, err
		}
		if c.field == "metric.type" {
			typed = true
		}
		f.conds = append(f.conds, c)
		i = next
		if i == len(toks) {
			break
		}
		if t := toks[i]; t.kind != tokWord || !strings.EqualFold(t.text, "AND") {
			return nil, fmt.Errorf("unsupported %q at offset %d: the mock joins comparisons with AND only", t.text, t.pos)
		}
		i++
	}
	if !typed {
		return nil, errors.New(`the filter must specify a metric type (metric.type = "…")`)
	}
	return f, nil
}

func parseCond(toks []token, i int) (cond, int, error) {
	t := toks[i]
	if t.kind != tokWord {
		return cond{}, 0, fmt.Errorf("unexpected %q at offset %d: expected a field name", t.text, t.pos)
	}
	c, err := fieldOf(t)
	if err != nil {
		return cond{}, 0, err
	}
	i++
	if i >= len(toks) || toks[i].kind != tokEq {
		if i < len(toks) {
			return cond{}, 0, fmt.Errorf("unsupported operator %q after %s at offset %d: the mock supports = only", toks[i].text, t.text, toks[i].pos)
		}
		return cond{}, 0, fmt.Errorf("%s has no comparison", t.text)
	}
	i++
	if i >= len(toks) {
		return cond{}, 0, fmt.Errorf("%s = has no value", t.text)
	}
	v := toks[i]
	switch {
	case v.kind == tokString:
		c.value = v.text
		return c, i + 1, nil
	case v.kind == tokWord && i+3 < len(toks) && toks[i+1].kind == tokLParen:
		if v.text != "starts_with" {
			return cond{}, 0, fmt.Errorf("unsupported function %s at offset %d: the mock supports starts_with only", v.text, v.pos)
		}
		if toks[i+2].kind != tokString || toks[i+3].kind != tokRParen {
			return cond{}, 0, fmt.Errorf("starts_with at offset %d takes one string", v.pos)
		}
		c.value, c.prefix = toks[i+2].text, true
		return c, i + 4, nil
	case v.kind == tokWord:
		return cond{}, 0, fmt.Errorf("unsupported value %q at offset %d: a quoted string or starts_with(\"…\")", v.text, v.pos)
	default:
		return cond{}, 0, fmt.Errorf("unexpected %q at offset %d: expected a value", v.text, v.pos)
	}
}

func fieldOf(t token) (cond, error) {
	switch t.text {
	case "metric.type", "resource.type":
		return cond{field: t.text}, nil
	}
	for _, p := range []string{"metric.labels.", "metric.label.", "resource.labels.", "resource.label."} {
		if k, ok := strings.CutPrefix(t.text, p); ok && k != "" && !strings.Contains(k, ".") {
			field, _, _ := strings.Cut(p, ".")
			return cond{field: field + ".labels", key: k}, nil
		}
	}
	return cond{}, fmt.Errorf("unsupported filter field %q at offset %d: the mock supports metric.type, resource.type, metric.labels.KEY and resource.labels.KEY", t.text, t.pos)
}

// matches reports whether a series satisfies every comparison.
func (f *Filter) matches(m Metric, r MonitoredResource) bool {
	for _, c := range f.conds {
		var got string
		var ok bool
		switch c.field {
		case "metric.type":
			got, ok = m.Type, true
		case "resource.type":
			got, ok = r.Type, true
		case "metric.labels":
			got, ok = m.Labels[c.key]
		case "resource.labels":
			got, ok = r.Labels[c.key]
		}
		if !ok {
			return false
		}
		if c.prefix && !strings.HasPrefix(got, c.value) || !c.prefix && got != c.value {
			return false
		}
	}
	return true
}

type tokKind int

const (
	tokWord tokKind = iota
	tokString
	tokEq
	tokLParen
	tokRParen
	tokOther
)

type token struct {
	kind tokKind
	text string
	pos  int
}

// lex splits a filter into words (field names, AND, function names),
// quoted strings, "=", parentheses and any other operator (kept so the
// parser can name it).
func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			text, n, err := unquote(s[i:])
			if err != nil {
				return nil, fmt.Errorf("bad string at offset %d: %w", i, err)
			}
			out = append(out, token{kind: tokString, text: text, pos: i})
			i += n
		case c == '=':
			out = append(out, token{kind: tokEq, text: "=", pos: i})
			i++
		case c == '(':
			out = append(out, token{kind: tokLParen, text: "(", pos: i})
			i++
		case c == ')':
			out = append(out, token{kind: tokRParen, text: ")", pos: i})
			i++
		case isWord(c):
			j := i
			for j < len(s) && isWord(s[j]) {
				j++
			}
			out = append(out, token{kind: tokWord, text: s[i:j], pos: i})
			i = j
		default:
			j := i + 1
			for j < len(s) && strings.IndexByte("!<>=:~-", s[j]) >= 0 {
				j++
			}
			out = append(out, token{kind: tokOther, text: s[i:j], pos: i})
			i = j
		}
	}
	return out, nil
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '/' || c == '-'
}

// unquote reads the quoted string at the start of s, with backslash
// escapes, and returns it and the bytes it took.
func unquote(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case q:
			return b.String(), i + 1, nil
		case '\\':
			if i+1 >= len(s) {
				return "", 0, errors.New("unterminated string")
			}
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			default:
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, errors.New("unterminated string")
}
