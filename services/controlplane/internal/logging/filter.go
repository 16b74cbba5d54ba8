package logging

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hybrid-emulator/hybrid/services/controlplane/internal/gcpapi"
)

// Filter is the subset of the Logging query language the mock reads:
// comparisons joined by AND (any case) or by juxtaposition (the language's
// implicit AND), each one of
//
//	logName = "projects/p/logs/id"       (=, != or : substring)
//	resource.type = "k8s_container"       (=, !=, :)
//	resource.labels.K = "V"               (=, !=, :)
//	labels.K = "V"                        (=, !=, :; the entry's labels)
//	jsonPayload.K = "V"                   (=, !=, :; a top-level key, compared
//	                                       with its string or its JSON text)
//	textPayload : "substring"             (=, !=, :)
//	severity >= WARNING                   (=, !=, <, <=, >, >=; DEFAULT DEBUG
//	                                       INFO NOTICE WARNING ERROR CRITICAL
//	                                       ALERT EMERGENCY)
//	timestamp >= "2026-01-02T15:04:05Z"   (=, <, <=, >, >=; RFC 3339)
//
// ":" is a case-insensitive substring match. Values are quoted strings
// (double or single quotes) or bare words. OR, NOT, "-", parentheses,
// other fields and regular expressions are refused by name, so a query
// that would mean something else on Google is never answered wrongly.
type Filter struct {
	conds []cond
}

type cond struct {
	field string // logName, resource.type, resource.labels, labels, jsonPayload, textPayload, severity, timestamp
	key   string
	op    string
	value string
	level int       // severity
	t     time.Time // timestamp
}

// ParseFilter parses a filter of the subset above; "" matches every entry.
func ParseFilter(s string) (*Filter, error) {
	toks, err := lex(s)
	if err != nil {
		return nil, err
	}
	f := &Filter{}
	for i := 0; i < len(toks); {
		t := toks[i]
		if t.Kind == gcpapi.Word && strings.EqualFold(t.Text, "AND") {
			if len(f.conds) == 0 || i+1 == len(toks) {
				return nil, fmt.Errorf("AND at offset %d needs a comparison on each side", t.Pos)
			}
			i++
			continue
		}
		c, next, err := parseCond(toks, i)
		if err != nil {
			return nil, err
		}
		f.conds = append(f.conds, c)
		i = next
	}
	return f, nil
}

var stringOps = map[string]bool{"=": true, "!=": true, ":": true}

func parseCond(toks []gcpapi.Token, i int) (cond, int, error) {
	t := toks[i]
	if t.Kind != gcpapi.Word {
		return cond{}, 0, fmt.Errorf("unsupported %q at offset %d: expected a field name", t.Text, t.Pos)
	}
	switch strings.ToUpper(t.Text) {
	case "OR", "NOT":
		return cond{}, 0, fmt.Errorf("unsupported operator %s at offset %d: the mock supports AND only", t.Text, t.Pos)
	}
	c, err := fieldOf(t)
	if err != nil {
		return cond{}, 0, err
	}
	if i+1 >= len(toks) || toks[i+1].Kind != gcpapi.Op {
		return cond{}, 0, fmt.Errorf("%s at offset %d has no comparison: the mock supports FIELD OP VALUE only", t.Text, t.Pos)
	}
	op := toks[i+1]
	c.op = op.Text
	if i+2 >= len(toks) || (toks[i+2].Kind != gcpapi.Word && toks[i+2].Kind != gcpapi.String) {
		return cond{}, 0, fmt.Errorf("%s %s at offset %d has no value", t.Text, op.Text, op.Pos)
	}
	v := toks[i+2]
	c.value = v.Text
	switch c.field {
	case "severity":
		switch c.op {
		case "=", "!=", "<", "<=", ">", ">=":
		default:
			return cond{}, 0, fmt.Errorf("unsupported operator %q for severity at offset %d", op.Text, op.Pos)
		}
		lvl, ok := severities[strings.ToUpper(v.Text)]
		if !ok {
			return cond{}, 0, fmt.Errorf("unknown severity %q at offset %d: one of DEFAULT DEBUG INFO NOTICE WARNING ERROR CRITICAL ALERT EMERGENCY", v.Text, v.Pos)
		}
		c.level = lvl
	case "timestamp":
		switch c.op {
		case "=", "<", "<=", ">", ">=":
		default:
			return cond{}, 0, fmt.Errorf("unsupported operator %q for timestamp at offset %d", op.Text, op.Pos)
		}
		ts, err := time.Parse(time.RFC3339Nano, v.Text)
		if err != nil {
			return cond{}, 0, fmt.Errorf("timestamp value %q at offset %d is not an RFC 3339 time", v.Text, v.Pos)
		}
		c.t = ts
	default:
		if !stringOps[c.op] {
			return cond{}, 0, fmt.Errorf("unsupported operator %q for %s at offset %d: =, != or :", op.Text, t.Text, op.Pos)
		}
	}
	return c, i + 3, nil
}

func fieldOf(t gcpapi.Token) (cond, error) {
	switch t.Text {
	case "logName", "resource.type", "severity", "timestamp", "textPayload":
		return cond{field: t.Text}, nil
	}
	for _, p := range []string{"resource.labels.", "labels.", "jsonPayload."} {
		if k, ok := strings.CutPrefix(t.Text, p); ok && k != "" && !strings.Contains(k, ".") {
			return cond{field: strings.TrimSuffix(p, "."), key: k}, nil
		}
	}
	return cond{}, fmt.Errorf("unsupported filter field %q at offset %d: the mock supports logName, resource.type, resource.labels.KEY, labels.KEY, severity, timestamp, jsonPayload.KEY (top level) and textPayload", t.Text, t.Pos)
}

// matches reports whether e (stored, so its timestamp is valid) satisfies
// every comparison; jsonTop is its jsonPayload's top level.
func (f *Filter) matches(e *LogEntry, ts time.Time, jsonTop map[string]json.RawMessage) bool {
	for _, c := range f.conds {
		if !c.matches(e, ts, jsonTop) {
			return false
		}
	}
	return true
}

func (c cond) matches(e *LogEntry, ts time.Time, jsonTop map[string]json.RawMessage) bool {
	switch c.field {
	case "severity":
		lvl, _ := severityLevel(e.Severity)
		return compare(lvl-c.level, c.op)
	case "timestamp":
		return compare(ts.Compare(c.t), c.op)
	}
	var got string
	var ok bool
	switch c.field {
	case "logName":
		got, ok = e.LogName, true
	case "resource.type":
		if e.Resource != nil {
			got, ok = e.Resource.Type, true
		}
	case "resource.labels":
		if e.Resource != nil {
			got, ok = e.Resource.Labels[c.key]
		}
	case "labels":
		got, ok = e.Labels[c.key]
	case "textPayload":
		if e.TextPayload != nil {
			got, ok = *e.TextPayload, true
		}
	case "jsonPayload":
		var raw json.RawMessage
		if raw, ok = jsonTop[c.key]; ok {
			if json.Unmarshal(raw, &got) != nil {
				got = string(raw) // a number or bool compares as its JSON text
			}
		}
	}
	switch c.op {
	case "=":
		return ok && got == c.value
	case "!=":
		return !ok || got != c.value
	default: // ":"
		return ok && strings.Contains(strings.ToLower(got), strings.ToLower(c.value))
	}
}

// compare applies op to the sign of a comparison's difference.
func compare(d int, op string) bool {
	switch op {
	case "=":
		return d == 0
	case "!=":
		return d != 0
	case "<":
		return d < 0
	case "<=":
		return d <= 0
	case ">":
		return d > 0
	default: // ">="
		return d >= 0
	}
}

var ops = []string{">=", "<=", "!=", "=~", "!~", "=", "<", ">", ":"}

// lex splits a filter into words, quoted strings and operators; anything
// else (parentheses, "-") is an error naming it.
func lex(s string) ([]gcpapi.Token, error) {
	// "-" only inside a word: leading, it is the language's NOT.
	return gcpapi.Syntax{
		WordStart: isWord,
		WordPart:  func(c byte) bool { return isWord(c) || c == '-' },
		Operator:  operator,
	}.Lex(s)
}

func operator(s string, pos int) (int, error) {
	op := ""
	for _, o := range ops {
		if strings.HasPrefix(s, o) {
			op = o
			break
		}
	}
	switch op {
	case "":
		return 0, fmt.Errorf("unsupported %q at offset %d", string(s[0]), pos)
	case "=~", "!~":
		return 0, fmt.Errorf("unsupported operator %s at offset %d: the mock has no regular expressions", op, pos)
	}
	return len(op), nil
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '/' || c == '%' || c == '@'
}
