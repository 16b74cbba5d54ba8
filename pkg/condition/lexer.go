package condition

import (
	"fmt"
	"strconv"
	"strings"
)

// SyntaxError reports a condition that could not be compiled: a grammar
// error, a malformed literal, or a pattern (JavaRegex) that does not compile.
type SyntaxError struct {
	// Pos is the 0-based byte offset in Src where the problem was found.
	// Error() reports it as a 1-based column (and line, for multi-line
	// conditions).
	Pos int
	// Msg says what was expected and what was found instead.
	Msg string
	// Src is the complete condition text that was being parsed.
	Src string
}

func (e *SyntaxError) Error() string {
	line, col := 1, e.Pos+1
	if strings.Contains(e.Src, "\n") {
		pre := e.Src
		if e.Pos <= len(pre) {
			pre = pre[:e.Pos]
		}
		line = strings.Count(pre, "\n") + 1
		col = e.Pos - strings.LastIndexByte(pre, '\n')
		return fmt.Sprintf("condition syntax error at line %d, column %d: %s (in %q)", line, col, e.Msg, e.Src)
	}
	return fmt.Sprintf("condition syntax error at column %d: %s (in %q)", col, e.Msg, e.Src)
}

type tokKind uint8

const (
	tEOF    tokKind = iota
	tLParen         // (
	tRParen         // )
	tNot            // !
	tAnd            // &&
	tOr             // ||
	tOp             // a symbolic comparison operator; token.op says which
	tIdent          // bare word: variable name, keyword or word operator
	tQIdent         // 'single-quoted variable name'
	tString         // "double-quoted string"; token.text is the unescaped value
	tNumber         // unquoted number; token.text is the source text
)

type token struct {
	kind tokKind
	pos  int    // byte offset of the first character
	end  int    // byte offset just past the token
	text string // identifier / string value / number source
	op   opKind // for tOp
}

type lexer struct {
	src    string
	pos    int
	peeked bool
	tok    token
	err    *SyntaxError
}

func (lx *lexer) errAt(pos int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...), Src: lx.src}
}

// peek returns the next token without consuming it.
func (lx *lexer) peek() (token, *SyntaxError) {
	if !lx.peeked {
		lx.tok, lx.err = lx.scan()
		lx.peeked = true
	}
	return lx.tok, lx.err
}

// next consumes and returns the next token.
func (lx *lexer) next() (token, *SyntaxError) {
	t, err := lx.peek()
	lx.peeked = false
	return t, err
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}
func isIdentChar(c byte) bool {
	return isIdentStart(c) || isDigit(c) || c == '.' || c == '-'
}

// symbolic operators, longest first so that prefixes are tried last.
var symOps = []struct {
	text string
	op   opKind
}{
	{"&gt;=", opGE}, {"&lt;=", opLE}, {"&gt;", opGT}, {"&lt;", opLT},
	{":=", opEqualsCI}, {"=|", opStartsWith}, {"==", opEquals}, {"!=", opNotEquals},
	{">=", opGE}, {"<=", opLE}, {"~~", opJavaRegex}, {"~/", opMatchesPath},
	{"=", opEquals}, {">", opGT}, {"<", opLT}, {"~", opMatches},
}

func (lx *lexer) scan() (token, *SyntaxError) {
	s := lx.src
	for lx.pos < len(s) && isSpace(s[lx.pos]) {
		lx.pos++
	}
	start := lx.pos
	if start >= len(s) {
		return token{kind: tEOF, pos: start, end: start}, nil
	}
	c := s[start]
	one := func(k tokKind) (token, *SyntaxError) {
		lx.pos++
		return token{kind: k, pos: start, end: lx.pos}, nil
	}
	switch {
	case c == '(':
		return one(tLParen)
	case c == ')':
		return one(tRParen)
	case c == '"':
		return lx.scanString(start)
	case c == '\'':
		end := strings.IndexByte(s[start+1:], '\'')
		if end < 0 {
			return token{}, lx.errAt(start, "unterminated quoted variable name: expected a closing ' to match the one at column %d", start+1)
		}
		name := s[start+1 : start+1+end]
		if name == "" {
			return token{}, lx.errAt(start, "empty quoted variable name ''")
		}
		lx.pos = start + end + 2
		return token{kind: tQIdent, pos: start, end: lx.pos, text: name}, nil
	case isIdentStart(c):
		i := start + 1
		for i < len(s) && isIdentChar(s[i]) {
			i++
		}
		lx.pos = i
		return token{kind: tIdent, pos: start, end: i, text: s[start:i]}, nil
	case isDigit(c) || (c == '-' || c == '.') && start+1 < len(s) && (isDigit(s[start+1]) || s[start+1] == '.'):
		return lx.scanNumber(start)
	case strings.HasPrefix(s[start:], "&&"):
		lx.pos += 2
		return token{kind: tAnd, pos: start, end: lx.pos}, nil
	case strings.HasPrefix(s[start:], "||"):
		lx.pos += 2
		return token{kind: tOr, pos: start, end: lx.pos}, nil
	}
	for _, so := range symOps {
		if strings.HasPrefix(s[start:], so.text) {
			lx.pos += len(so.text)
			return token{kind: tOp, pos: start, end: lx.pos, op: so.op, text: so.text}, nil
		}
	}
	if c == '!' {
		return one(tNot)
	}
	switch c {
	case '&':
		return token{}, lx.errAt(start, "unexpected '&': expected \"&&\"")
	case '|':
		return token{}, lx.errAt(start, "unexpected '|': expected \"||\"")
	case ':':
		return token{}, lx.errAt(start, "unexpected ':': expected \":=\"")
	}
	return token{}, lx.errAt(start, "unexpected character %q", rune(c))
}

// scanString reads a double-quoted literal. The only escape is \" (a quote
// inside the string); every other backslash is kept verbatim so that regex
// and glob escapes such as \d or \* reach the pattern compiler unchanged.
func (lx *lexer) scanString(start int) (token, *SyntaxError) {
	s := lx.src
	var b strings.Builder
	plain := true
	i := start + 1
	for i < len(s) {
		c := s[i]
		if c == '"' {
			val := s[start+1 : i]
			if !plain {
				val = b.String()
			}
			lx.pos = i + 1
			return token{kind: tString, pos: start, end: lx.pos, text: val}, nil
		}
		if c == '\\' && i+1 < len(s) && s[i+1] == '"' {
			if plain {
				plain = false
				b.WriteString(s[start+1 : i])
			}
			b.WriteByte('"')
			i += 2
			continue
		}
		if !plain {
			b.WriteByte(c)
		}
		i++
	}
	return token{}, lx.errAt(start, "unterminated string literal: expected a closing \" to match the one at column %d", start+1)
}

// scanNumber reads  -?(digits[.digits] | .digits)[fFdDlL]  (the suffixes are
// Java's float/double/long markers, which Apigee accepts).
func (lx *lexer) scanNumber(start int) (token, *SyntaxError) {
	s := lx.src
	i := start
	if s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return i - j
	}
	n := digits()
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return token{}, lx.errAt(start, "malformed number %q: expected digits after '.'", s[start:min(i+1, len(s))])
		}
	} else if n == 0 {
		return token{}, lx.errAt(start, "malformed number: expected a digit")
	}
	if i < len(s) && strings.IndexByte("fFdDlL", s[i]) >= 0 {
		i++
	}
	if i < len(s) && (isIdentChar(s[i])) {
		j := i
		for j < len(s) && isIdentChar(s[j]) {
			j++
		}
		return token{}, lx.errAt(start, "malformed number %q: a number must be followed by a space, operator or parenthesis", s[start:j])
	}
	lx.pos = i
	return token{kind: tNumber, pos: start, end: i, text: s[start:i]}, nil
}

// describe names a token for error messages.
func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "end of condition"
	case tLParen:
		return `"("`
	case tRParen:
		return `")"`
	case tNot:
		return `"!"`
	case tAnd:
		return `"&&"`
	case tOr:
		return `"||"`
	case tOp:
		return "operator " + strconv.Quote(t.text)
	case tIdent:
		return strconv.Quote(t.text)
	case tQIdent:
		return "variable '" + t.text + "'"
	case tString:
		return "string " + strconv.Quote(t.text)
	case tNumber:
		return "number " + t.text
	}
	return "token"
}
