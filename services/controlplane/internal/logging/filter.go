package logging

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
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
		if t.kind == tokWord && strings.EqualFold(t.text, "AND") {
			if len(f.conds) == 0 || i+1 == len(toks) {
				return nil, fmt.Errorf("AND at offset %d needs a comparison on each side", t.pos)
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

func parseCond(toks []token, i int) (cond, int, error) {
	t := toks[i]
	if t.kind != tokWord {
		return cond{}, 0, fmt.Errorf("unsupported %q at offset %d: expected a field name", t.text, t.pos)
	}
	switch strings.ToUpper(t.text) {
	case "OR", "NOT":
		return cond{}, 0, fmt.Errorf("unsupported operator %s at offset %d: the mock supports AND only", t.text, t.pos)
	}
	c, err := fieldOf(t)
	if err != nil {
		return cond{}, 0, err
	}
	if i+1 >= len(toks) || toks[i+1].kind != tokOp {
		return cond{}, 0, fmt.Errorf("%s at offset %d has no comparison: the mock supports FIELD OP VALUE only", t.text, t.pos)
	}
	op := toks[i+1]
	c.op = op.text
	if i+2 >= len(toks) || (toks[i+2].kind != tokWord && toks[i+2].kind != tokString) {
		return cond{}, 0, fmt.Errorf("%s %s at offset %d has no value", t.text, op.text, op.pos)
	}
	v := toks[i+2]
	c.value = v.text
	switch c.field {
	case "severity":
		switch c.op {
		case "=", "!=", "<", "<=", ">", ">=":
		default:
			return cond{}, 0, fmt.Errorf("unsupported operator %q for severity at offset %d", op.text, op.pos)
		}
		lvl, ok := severities[strings.ToUpper(v.text)]
		if !ok {
			return cond{}, 0, fmt.Errorf("unknown severity %q at offset %d: one of DEFAULT DEBUG INFO NOTICE WARNING ERROR CRITICAL ALERT EMERGENCY", v.text, v.pos)
		}
		c.level = lvl
	case "timestamp":
		switch c.op {
		case "=", "<", "<=", ">", ">=":
		default:
			return cond{}, 0, fmt.Errorf("unsupported operator %q for timestamp at offset %d", op.text, op.pos)
		}
		ts, err := time.Parse(time.RFC3339Nano, v.text)
		if err != nil {
			return cond{}, 0, fmt.Errorf("timestamp value %q at offset %d is not an RFC 3339 time", v.text, v.pos)
		}
		c.t = ts
	default:
		if !stringOps[c.op] {
			return cond{}, 0, fmt.Errorf("unsupported operator %q for %s at offset %d: =, != or :", op.text, t.text, op.pos)
		}
	}
	return c, i + 3, nil
}

func fieldOf(t token) (cond, error) {
	switch t.text {
	case "logName", "resource.type", "severity", "timestamp", "textPayload":
		return cond{field: t.text}, nil
	}
	for _, p := range []string{"resource.labels.", "labels.", "jsonPayload."} {
		if k, ok := strings.CutPrefix(t.text, p); ok && k != "" && !strings.Contains(k, ".") {
			return cond{field: strings.TrimSuffix(p, "."), key: k}, nil
		}
	}
	return cond{}, fmt.Errorf("unsupported filter field %q at offset %d: the mock supports logName, resource.type, resource.labels.KEY, labels.KEY, severity, timestamp, jsonPayload.KEY (top level) and textPayload", t.text, t.pos)
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

type tokKind int

const (
	tokWord tokKind = iota
	tokString
	tokOp
)

type token struct {
	kind tokKind
	text string
	pos  int
}

var ops = []string{">=", "<=", "!=", "=~", "!~", "=", "<", ">", ":"}

// lex splits a filter into words, quoted strings and operators; anything
// else (parentheses, "-") is an error naming it.
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
		case isWord(c):
			j := i
			// "-" only inside a word: leading, it is the language's NOT.
			for j < len(s) && (isWord(s[j]) || s[j] == '-') {
				j++
			}
			out = append(out, token{kind: tokWord, text: s[i:j], pos: i})
			i = j
		default:
			op := ""
			for _, o := range ops {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			switch op {
			case "":
				return nil, fmt.Errorf("unsupported %q at offset %d", string(s[i]), i)
			case "=~", "!~":
				return nil, fmt.Errorf("unsupported operator %s at offset %d: the mock has no regular expressions", op, i)
			}
			out = append(out, token{kind: tokOp, text: op, pos: i})
			i += len(op)
		}
	}
	return out, nil
}

func isWord(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '/' || c == '%' || c == '@'
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
