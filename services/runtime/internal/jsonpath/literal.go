package jsonpath

import (
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
)

// parseLiteral parses JSON written inside a path (a filter's [..] or {..},
// a function's argument) as Jayway does: with json-smart's parser in
// permissive mode. This is a port of that parser (JSONParserBase,
// JSONParserMemory, JSONParserString) because what it accepts decides
// whether a filter matches: strings may be single-quoted or bare words,
// numbers may have leading zeros, a number followed by other text is a
// string ("1a") unless that text is non-ASCII (then the number ends), text
// after the top-level value is ignored, and unknown escapes vanish. It
// works on Java chars (UTF-16 code units), as the original does.
func parseLiteral(s string) (v any, err error) {
	p := &smartParser{in: utf16.Encode([]rune(s)), pos: -1}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(smartError)
			if !ok {
				panic(r)
			}
			v, err = nil, fmt.Errorf("invalid JSON literal %q: %s", s, string(pe))
		}
	}()
	p.read()
	return p.readMain(stopX), nil
}

// smartError is json-smart's ParseException (and the NumberFormatException
// its number parsing can throw), panicked inside the parser and recovered
// by parseLiteral.
type smartError string

const (
	eoi     = 0x1A // json-smart's end of input; the character itself ends input too
	maxStop = 126
)

// Stop sets: the characters that end a bare word in each context.
var (
	stopX     = stopSet()
	stopKey   = stopSet(':')
	stopValue = stopSet(',', '}')
	stopArray = stopSet(',', ']')
)

func stopSet(cs ...uint16) *[maxStop]bool {
	var s [maxStop]bool
	s[eoi] = true
	for _, c := range cs {
		s[c] = true
	}
	return &s
}

type smartParser struct {
	in  []uint16
	pos int
	c   uint16
}

func (p *smartParser) fail(format string, a ...any) {
	panic(smartError(fmt.Sprintf("at %d: ", p.pos) + fmt.Sprintf(format, a...)))
}

func (p *smartParser) read() {
	if p.pos++; p.pos >= len(p.in) {
		p.c = eoi
	} else {
		p.c = p.in[p.pos]
	}
}

func (p *smartParser) readNoEnd() {
	p.read()
	if p.pos >= len(p.in) {
		p.fail("unexpected end")
	}
}

func (p *smartParser) stops(stop *[maxStop]bool) bool {
	return p.c == eoi || (p.c < maxStop && stop[p.c])
}

// readMain is JSONParserBase.readMain (and readFirst, the same with stopX).
func (p *smartParser) readMain(stop *[maxStop]bool) any {
	for {
		switch c := p.c; {
		case c == ' ' || c == '\r' || c == '\n' || c == '\t':
			p.read()
		case c == ':' || c == '}' || c == ']':
			p.fail("unexpected %q", rune(c))
		case c == '{':
			return p.readObject()
		case c == '[':
			return p.readArray()
		case c == '"' || c == '\'':
			return p.readString()
		case c == 'n' || c == 'f' || c == 't':
			s := p.readNQString(stop)
			switch s {
			case "null":
				return nil
			case "false":
				return false
			case "true":
				return true
			}
			return s
		case c == 'N':
			s := p.readNQString(stop)
			if s == "NaN" {
				return math.NaN() // a Float in json-smart; Double here
			}
			return s
		case (c >= '0' && c <= '9') || c == '-':
			return p.readNumber(stop)
		default:
			return p.readNQString(stop)
		}
	}
}

func (p *smartParser) readArray() any {
	a := []any{}
	p.read() // [
	for {
		switch p.c {
		case ' ', '\r', '\n', '\t', ',':
			// Permissive mode takes useless commas.
			p.read()
		case ']':
			p.read()
			return a
		case ':', '}':
			p.fail("unexpected %q", rune(p.c))
		case eoi:
			p.fail("unexpected end")
		default:
			a = append(a, p.readMain(stopArray))
		}
	}
}

func (p *smartParser) readObject() any {
	o := NewObject()
	acceptData := true
	for {
		p.read()
		switch p.c {
		case ' ', '\r', '\t', '\n':
			continue
		case ':', ']', '[', '{':
			p.fail("unexpected %q", rune(p.c))
		case '}':
			p.read()
			return o
		case ',':
			acceptData = true
			continue
		}
		var key string
		if p.c == '"' || p.c == '\'' {
			key = p.readString()
		} else {
			key = p.readNQString(stopKey)
		}
		if !acceptData {
			p.fail("unexpected key %q", key)
		}
		p.skipSpace()
		if p.c != ':' {
			p.fail("expected ':'")
		}
		p.readNoEnd()
		o.Set(key, p.readMain(stopValue))
		p.skipSpace()
		switch p.c {
		case '}':
			p.read()
			return o
		case eoi:
			p.fail("unexpected end")
		case ',':
			acceptData = true
		default:
			p.fail("unexpected %q", rune(p.c))
		}
	}
}

func (p *smartParser) skipSpace() {
	for p.c <= ' ' && p.c != eoi {
		p.read()
	}
}

func (p *smartParser) skipDigits() {
	for p.c >= '0' && p.c <= '9' {
		p.read()
	}
}

func (p *smartParser) skipNQString(stop *[maxStop]bool) {
	for !p.stops(stop) {
		p.read()
	}
}

func (p *smartParser) readNQString(stop *[maxStop]bool) string {
	start := p.pos
	p.skipNQString(stop)
	return p.extractTrim(start, p.pos)
}

// extractTrim is extractStringTrim: the text between, less the
// Character.isWhitespace characters at either end.
func (p *smartParser) extractTrim(start, stop int) string {
	stop = min(stop, len(p.in))
	for start < stop-1 && javaIsWhitespace(p.in[start]) {
		start++
	}
	for stop-1 > start && javaIsWhitespace(p.in[stop-1]) {
		stop--
	}
	if start >= stop {
		return ""
	}
	return string(utf16.Decode(p.in[start:stop]))
}

func javaIsWhitespace(c uint16) bool {
	switch {
	case c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1C && c <= 0x1F):
		return true
	case c == 0x1680 || (c >= 0x2000 && c <= 0x2006) || (c >= 0x2008 && c <= 0x200A) ||
		c == 0x2028 || c == 0x2029 || c == 0x205F || c == 0x3000:
		return true
	}
	return false
}

// readNumber is JSONParserMemory.readNumber: a number, or a bare word that
// starts like one.
func (p *smartParser) readNumber(stop *[maxStop]bool) any {
	start := p.pos
	word := func() any { // the number runs into more text: a string
		p.skipNQString(stop)
		return p.extractTrim(start, p.pos)
	}
	runsOn := func() bool { return p.c < maxStop && !stop[p.c] && p.c != eoi }
	p.read()
	p.skipDigits()
	if p.c != '.' && p.c != 'E' && p.c != 'e' {
		p.skipSpace()
		if runsOn() {
			return word()
		}
		return smartInteger(p.extractTrim(start, p.pos))
	}
	if p.c == '.' {
		p.read()
		p.skipDigits()
	}
	if p.c != 'E' && p.c != 'e' {
		p.skipSpace()
		if runsOn() {
			return word()
		}
		return p.smartFloat(p.extractTrim(start, p.pos))
	}
	p.read()
	if p.c == '+' || p.c == '-' || (p.c >= '0' && p.c <= '9') {
		p.read()
		p.skipDigits()
		p.skipSpace()
		if runsOn() {
			return word()
		}
		return p.smartFloat(p.extractTrim(start, p.pos))
	}
	return word()
}

// smartInteger is parseNumber: Integer or Long, BigInteger past a long;
// a lone "-" is 0.
func smartInteger(s string) any {
	if s == "-" {
		return int64(0)
	}
	return parseNumber(s, false)
}

// smartFloat is extractFloat: a Double, or a BigDecimal past 18
// characters. Double.parseDouble's NumberFormatException ("1e+") fails the
// parse too.
func (p *smartParser) smartFloat(s string) any {
	if len(s) > 18 {
		if _, _, _, ok := decimalParts(s); !ok {
			p.fail("%q is not a number", s)
		}
		return Decimal(s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			p.fail("%q is not a number", s)
		}
	}
	return f
}

// readString reads a quoted string (either quote). Without a backslash it
// is the text up to the next quote as it is; with one, escapes are
// decoded, an unknown escape and control characters dropped.
func (p *smartParser) readString() string {
	q := p.c
	end := -1
	for i := p.pos + 1; i < len(p.in); i++ {
		if p.in[i] == q {
			end = i
			break
		}
	}
	if end == -1 {
		p.fail("unterminated string")
	}
	raw := p.in[p.pos+1 : end]
	if !containsUnit(raw, '\\') {
		p.pos = end
		p.read()
		return string(utf16.Decode(raw))
	}
	var sb []uint16
	for {
		p.read()
		switch c := p.c; {
		case c == eoi:
			p.fail("unexpected end in a string")
		case c == '"' || c == '\'':
			if c == q {
				p.read()
				return string(utf16.Decode(sb))
			}
			sb = append(sb, c)
		case c == '\\':
			p.read()
			switch p.c {
			case 't':
				sb = append(sb, '\t')
			case 'n':
				sb = append(sb, '\n')
			case 'r':
				sb = append(sb, '\r')
			case 'f':
				sb = append(sb, '\f')
			case 'b':
				sb = append(sb, '\b')
			case '\\', '/', '\'', '"':
				sb = append(sb, p.c)
			case 'u':
				sb = append(sb, p.readUnicode(4))
			case 'x':
				sb = append(sb, p.readUnicode(2))
			}
		case c < 0x20 || c == 0x7F:
			// IGNORE_CONTROL_CHAR: dropped.
		default:
			sb = append(sb, c)
		}
	}
}

func (p *smartParser) readUnicode(n int) uint16 {
	v := 0
	for range n {
		v *= 16
		p.read()
		switch c := p.c; {
		case c >= '0' && c <= '9':
			v += int(c - '0')
		case c >= 'A' && c <= 'F':
			v += int(c-'A') + 10
		case c >= 'a' && c <= 'f':
			v += int(c-'a') + 10
		default:
			p.fail("invalid unicode escape")
		}
	}
	return uint16(v)
}

func containsUnit(s []uint16, c uint16) bool {
	for _, x := range s {
		if x == c {
			return true
		}
	}
	return false
}
