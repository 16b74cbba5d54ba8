package analytics

import (
	"strconv"
	"strings"
	"unicode"

	"github.com/hybrid-emulator/hybrid/pkg/apierr"
)

// parseFilter translates Apigee's filter syntax into SQL with bound
// arguments:
//
//	(apiproxy in 'weather','hello') and (response_status_code ge 500)
//
// Conditions are `dimension op value`, with op one of eq, ne, gt, lt, ge,
// le, like, not like, in, notin (a comma list), isnull, isnotnull; they
// combine with and, or (and binds tighter) and parentheses. Dimensions
// are the stats API's; values are 'quoted' strings or numbers.
func parseFilter(s string) (string, []any, error) {
	toks, err := lex(s)
	if err != nil {
		return "", nil, err
	}
	p := &filterParser{toks: toks}
	sql, err := p.or()
	if err == nil && p.pos < len(p.toks) {
		err = p.errorf("unexpected %q", p.toks[p.pos].text)
	}
	if err != nil {
		return "", nil, err
	}
	return sql, p.args, nil
}

type token struct {
	kind byte // 'i' ident, 's' string, 'n' number, or the punctuation itself
	text string
}

func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')' || c == ',':
			out = append(out, token{kind: c, text: string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(s); j++ {
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j++
						continue
					}
					break
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, apierr.InvalidField("filter", "Invalid filter: unterminated string.")
			}
			out = append(out, token{kind: 's', text: b.String()})
			i = j + 1
		case c == '-' || c == '.' || (c >= '0' && c <= '9'):
			j := i + 1
			for j < len(s) && (s[j] == '.' || s[j] == 'e' || s[j] == 'E' || s[j] == '-' || s[j] == '+' || (s[j] >= '0' && s[j] <= '9')) {
				j++
			}
			out = append(out, token{kind: 'n', text: s[i:j]})
			i = j
		case c == '_' || unicode.IsLetter(rune(c)):
			j := i + 1
			for j < len(s) && (s[j] == '_' || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			out = append(out, token{kind: 'i', text: s[i:j]})
			i = j
		default:
			return nil, apierr.InvalidField("filter", "Invalid filter: unexpected character %q.", c)
		}
	}
	return out, nil
}

type filterParser struct {
	toks []token
	pos  int
	args []any
}

func (p *filterParser) errorf(format string, a ...any) error {
	return apierr.InvalidField("filter", "Invalid filter: "+format+".", a...)
}

func (p *filterParser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == 'i' && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *filterParser) or() (string, error) {
	left, err := p.and()
	for err == nil && p.peekWord("or") {
		p.pos++
		var right string
		if right, err = p.and(); err == nil {
			left = "(" + left + " OR " + right + ")"
		}
	}
	return left, err
}

func (p *filterParser) and() (string, error) {
	left, err := p.term()
	for err == nil && p.peekWord("and") {
		p.pos++
		var right string
		if right, err = p.term(); err == nil {
			left = "(" + left + " AND " + right + ")"
		}
	}
	return left, err
}

func (p *filterParser) term() (string, error) {
	if p.pos >= len(p.toks) {
		return "", p.errorf("it ends too early")
	}
	t := p.toks[p.pos]
	if t.kind == '(' {
		p.pos++
		inner, err := p.or()
		if err != nil {
			return "", err
		}
		if p.pos >= len(p.toks) || p.toks[p.pos].kind != ')' {
			return "", p.errorf("missing )")
		}
		p.pos++
		return "(" + inner + ")", nil
	}
	if t.kind != 'i' {
		return "", p.errorf("expected a dimension, got %q", t.text)
	}
	col, ok := dimensionSQL(t.text)
	if !ok {
		return "", p.errorf("unknown dimension %q", t.text)
	}
	p.pos++
	if p.pos >= len(p.toks) || p.toks[p.pos].kind != 'i' {
		return "", p.errorf("expected an operator after %s", t.text)
	}
	op := strings.ToLower(p.toks[p.pos].text)
	p.pos++
	if op == "not" {
		if !p.peekWord("like") {
			return "", p.errorf("expected like after not")
		}
		p.pos++
		op = "notlike"
	}
	sqlOps := map[string]string{"eq": "=", "ne": "<>", "gt": ">", "lt": "<", "ge": ">=", "le": "<=", "like": "LIKE", "notlike": "NOT LIKE"}
	switch op {
	case "isnull":
		return "(" + col + " IS NULL OR " + col + " = '')", nil
	case "isnotnull":
		return "(" + col + " IS NOT NULL AND " + col + " <> '')", nil
	case "in", "notin":
		var marks []string
		for {
			v, err := p.value()
			if err != nil {
				return "", err
			}
			marks = append(marks, "?")
			p.args = append(p.args, v)
			if p.pos < len(p.toks) && p.toks[p.pos].kind == ',' {
				p.pos++
				continue
			}
			break
		}
		not := ""
		if op == "notin" {
			not = "NOT "
		}
		return col + " " + not + "IN (" + strings.Join(marks, ",") + ")", nil
	}
	sqlOp, ok := sqlOps[op]
	if !ok {
		return "", p.errorf("unknown operator %q", op)
	}
	v, err := p.value()
	if err != nil {
		return "", err
	}
	p.args = append(p.args, v)
	return col + " " + sqlOp + " ?", nil
}

func (p *filterParser) value() (any, error) {
	if p.pos >= len(p.toks) {
		return nil, p.errorf("expected a value")
	}
	t := p.toks[p.pos]
	p.pos++
	switch t.kind {
	case 's':
		return t.text, nil
	case 'n':
		if n, err := strconv.ParseInt(t.text, 10, 64); err == nil {
			return n, nil
		}
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, p.errorf("bad number %q", t.text)
		}
		return f, nil
	}
	return nil, p.errorf("expected a 'quoted' value or a number, got %q", t.text)
}
