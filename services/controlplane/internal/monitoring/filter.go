package monitoring

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/gcpapi"
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
		if t := toks[i]; t.Kind != gcpapi.Word || !strings.EqualFold(t.Text, "AND") {
			return nil, fmt.Errorf("unsupported %q at offset %d: the mock joins comparisons with AND only", t.Text, t.Pos)
		}
		i++
	}
	if !typed {
		return nil, errors.New(`the filter must specify a metric type (metric.type = "…")`)
	}
	return f, nil
}

func parseCond(toks []gcpapi.Token, i int) (cond, int, error) {
	t := toks[i]
	if t.Kind != gcpapi.Word {
		return cond{}, 0, fmt.Errorf("unexpected %q at offset %d: expected a field name", t.Text, t.Pos)
	}
	c, err := fieldOf(t)
	if err != nil {
		return cond{}, 0, err
	}
	i++
	if i >= len(toks) || !isOp(toks[i], "=") {
		if i < len(toks) {
			return cond{}, 0, fmt.Errorf("unsupported operator %q after %s at offset %d: the mock supports = only", toks[i].Text, t.Text, toks[i].Pos)
		}
		return cond{}, 0, fmt.Errorf("%s has no comparison", t.Text)
	}
	i++
	if i >= len(toks) {
		return cond{}, 0, fmt.Errorf("%s = has no value", t.Text)
	}
	v := toks[i]
	switch {
	case v.Kind == gcpapi.String:
		c.value = v.Text
		return c, i + 1, nil
	case v.Kind == gcpapi.Word && i+3 < len(toks) && isOp(toks[i+1], "("):
		if v.Text != "starts_with" {
			return cond{}, 0, fmt.Errorf("unsupported function %s at offset %d: the mock supports starts_with only", v.Text, v.Pos)
		}
		if toks[i+2].Kind != gcpapi.String || !isOp(toks[i+3], ")") {
			return cond{}, 0, fmt.Errorf("starts_with at offset %d takes one string", v.Pos)
		}
		c.value, c.prefix = toks[i+2].Text, true
		return c, i + 4, nil
	case v.Kind == gcpapi.Word:
		return cond{}, 0, fmt.Errorf("unsupported value %q at offset %d: a quoted string or starts_with(\"…\")", v.Text, v.Pos)
	default:
		return cond{}, 0, fmt.Errorf("unexpected %q at offset %d: expected a value", v.Text, v.Pos)
	}
}

func fieldOf(t gcpapi.Token) (cond, error) {
	switch t.Text {
	case "metric.type", "resource.type":
		return cond{field: t.Text}, nil
	}
	for _, p := range []string{"metric.labels.", "metric.label.", "resource.labels.", "resource.label."} {
		if k, ok := strings.CutPrefix(t.Text, p); ok && k != "" && !strings.Contains(k, ".") {
			field, _, _ := strings.Cut(p, ".")
			return cond{field: field + ".labels", key: k}, nil
		}
	}
	return cond{}, fmt.Errorf("unsupported filter field %q at offset %d: the mock supports metric.type, resource.type, metric.labels.KEY and resource.labels.KEY", t.Text, t.Pos)
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

// lex splits a filter into words (field names, AND, function names; they
// may hold "-", as metric types do), quoted strings and Op tokens: "=",
// parentheses and any other operator, read whole so the parser can name
// it when it refuses it.
func lex(s string) ([]gcpapi.Token, error) {
	return gcpapi.Syntax{WordStart: isWord, Operator: operator}.Lex(s)
}

func operator(s string, _ int) (int, error) {
	if strings.IndexByte("=()", s[0]) >= 0 {
		return 1, nil
	}
	j := 1
	for j < len(s) && strings.IndexByte("!<>=:~-", s[j]) >= 0 {
		j++
	}
	return j, nil
}

// isOp reports whether t is the operator or parenthesis op.
func isOp(t gcpapi.Token, op string) bool { return t.Kind == gcpapi.Op && t.Text == op }

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '/' || c == '-'
}
