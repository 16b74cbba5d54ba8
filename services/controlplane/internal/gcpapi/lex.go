package gcpapi

import (
	"errors"
	"fmt"
	"strings"
)

// TokenKind is what a filter token is.
type TokenKind int

const (
	// Word is a bare word: a field, a keyword such as AND, a function name
	// or an unquoted value.
	Word TokenKind = iota
	// String is a quoted string, its escapes resolved.
	String
	// Op is anything else the Syntax reads: an operator or a parenthesis.
	Op
)

// Token is one lexeme of a filter.
type Token struct {
	Kind TokenKind
	Text string
	Pos  int // byte offset in the filter, for error messages
}

// Syntax is what differs between the APIs' filter languages at the
// lexical level; what the tokens mean is each API's parser's business.
type Syntax struct {
	// WordStart reports whether c starts a bare word.
	WordStart func(c byte) bool
	// WordPart reports whether c continues one (nil: WordStart), for a
	// language where a byte may not lead a word but may stand inside it.
	WordPart func(c byte) bool
	// Operator returns the length of the Op token at the start of s (whose
	// first byte is no space, quote or word start) or an error naming it;
	// pos is s's offset in the filter, for that error.
	Operator func(s string, pos int) (int, error)
}

// Lex splits a filter into tokens: white space separates them, strings
// are in double or single quotes with backslash escapes (\n and \t, any
// other byte stands for itself), runs of word bytes are words and the
// Syntax reads the rest.
func (syn Syntax) Lex(s string) ([]Token, error) {
	part := syn.WordPart
	if part == nil {
		part = syn.WordStart
	}
	var out []Token
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
			out = append(out, Token{Kind: String, Text: text, Pos: i})
			i += n
		case syn.WordStart(c):
			j := i + 1
			for j < len(s) && part(s[j]) {
				j++
			}
			out = append(out, Token{Kind: Word, Text: s[i:j], Pos: i})
			i = j
		default:
			n, err := syn.Operator(s[i:], i)
			if err != nil {
				return nil, err
			}
			if n <= 0 || n > len(s)-i {
				// A Syntax bug, not the caller's: without this the loop
				// would never end or would slice out of range.
				return nil, fmt.Errorf("operator of length %d at offset %d", n, i)
			}
			out = append(out, Token{Kind: Op, Text: s[i : i+n], Pos: i})
			i += n
		}
	}
	return out, nil
}

// ErrUnterminated is the error of a string with no closing quote.
var ErrUnterminated = errors.New("unterminated string")

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
				return "", 0, ErrUnterminated
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
	return "", 0, ErrUnterminated
}
