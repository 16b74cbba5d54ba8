package jsonpath

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file ports Jayway's path compiler (PathCompiler, CharacterIndex,
// ArrayIndexOperation, ArraySliceOperation) closely, quirks included,
// because which expressions deploy and what they mean must be Jayway's:
// "$.[0]" is the root's first element, "$.sum(1)" drops its one-character
// argument, "$[0]x" ignores the "x", "$['a,b']" is refused. Positions are
// byte offsets; every character the compiler tests is ASCII, so they
// agree with Java's char offsets wherever the outcome depends on them.

type tokenKind uint8

const (
	tokRoot tokenKind = iota
	tokProperty
	tokIndex
	tokSlice
	tokWildcard
	tokScan
	tokFilter
	tokFunction
)

type sliceKind uint8

const (
	sliceFrom    sliceKind = iota // [1:]
	sliceTo                       // [:2]
	sliceBetween                  // [1:2]
)

// token is one step of a compiled path (Jayway's PathToken subclasses).
type token struct {
	kind       tokenKind
	prev, next *token

	rootChar byte     // tokRoot: '$' or '@'
	props    []string // tokProperty
	indexes  []int    // tokIndex
	slice    sliceKind
	from, to int // tokSlice
	filter   expr
	fn       string   // tokFunction
	params   []*param // tokFunction; nil without arguments

	// Computed once the path is complete (they depend on isLeaf).
	definite, upstreamDefinite, pathDefinite bool
}

func (t *token) isLeaf() bool { return t.next == nil }

// tokenDefinite is PathToken.isTokenDefinite: a token that yields at most
// one value. Several properties on a leaf merge into one object, so that
// is definite too.
func (t *token) tokenDefinite() bool {
	switch t.kind {
	case tokRoot, tokFunction:
		return true
	case tokProperty:
		return len(t.props) == 1 || t.isLeaf()
	case tokIndex:
		return len(t.indexes) == 1
	}
	return false
}

// paramKind says how a function argument was written.
type paramKind uint8

const (
	paramJSON paramKind = iota // {..}, [..], a number or "a string": parsed when used
	paramPath                  // $.x or @.x: evaluated against the root when used
)

type param struct {
	kind paramKind
	json string
	path *Path
}

// Path is a compiled JSONPath; safe for concurrent use.
type Path struct {
	src      string
	root     *token
	rootPath bool // starts with $ (not @)
}

// String returns the expression the path was compiled from.
func (p *Path) String() string { return p.src }

// Definite reports whether the path can match at most one value (only
// properties, single indexes and functions): Eval then returns that value
// itself; an indefinite path (wildcards, deep scan, slices, filters,
// index or property lists) returns a list.
func (p *Path) Definite() bool { return p.root.pathDefinite }

// Compile compiles a JSONPath as Jayway's JsonPath.compile does; a path it
// refuses gives a *SyntaxError.
func Compile(expr string) (p *Path, err error) {
	if expr == "" {
		return nil, &SyntaxError{Path: expr, Msg: "path can not be null or empty"}
	}
	ex := catch(func() { p = compilePath(expr) }, anyEx)
	if ex != nil {
		return nil, &SyntaxError{Path: expr, Msg: ex.msg}
	}
	p.src = expr
	return p, nil
}

// MustCompile is Compile for paths known to be valid.
func MustCompile(expr string) *Path {
	p, err := Compile(expr)
	if err != nil {
		panic(err)
	}
	return p
}

// compilePath is PathCompiler.compile(String): it trims the path, puts
// "$." before one that starts with neither $ nor @, and turns any failure
// into InvalidPathException.
func compilePath(path string) (p *Path) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(*exception); ok && e.kind != exInvalid {
				panic(&exception{kind: exInvalid, msg: e.msg})
			}
			panic(r)
		}
	}()
	ci := newCharIndex(path)
	ci.trim()
	// charAt(0) of the untrimmed text, as Jayway does: a path with leading
	// blanks gets the "$." prefix and then fails.
	if c := ci.charAt(0); c != '$' && c != '@' {
		ci = newCharIndex("$." + path)
		ci.trim()
	}
	if ci.lastCharIs('.') {
		throw(exInvalid, "Path must not end with a '.' or '..'")
	}
	pc := &pathCompiler{path: ci}
	root := pc.readContextToken()
	return newPath(root)
}

func newPath(root *token) *Path {
	for t := root; t != nil; t = t.next {
		t.definite = t.tokenDefinite()
		t.upstreamDefinite = t.prev == nil || (t.prev.definite && t.prev.upstreamDefinite)
	}
	var last *token
	for t := root; t != nil; t = t.next {
		last = t
	}
	for t := last; t != nil; t = t.prev {
		t.pathDefinite = t.definite && (t.isLeaf() || t.next.pathDefinite)
	}
	return &Path{root: root, rootPath: root.rootChar == '$'}
}

type pathCompiler struct {
	path *charIndex
	tail *token
	// depth counts nested readNextToken calls: every call should consume
	// input, but one malformed bracket ("$['a',") sends Jayway back to the
	// start of the path for ever (a StackOverflowError there); the limit
	// turns that into a compile error here.
	depth int
}

func (pc *pathCompiler) append(t *token) {
	pc.tail.next = t
	t.prev = pc.tail
	pc.tail = t
}

func isWhitespace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isPathContext(c byte) bool { return c == '$' || c == '@' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func (pc *pathCompiler) readWhitespace() {
	for pc.path.inBounds(pc.path.pos) {
		if !isWhitespace(pc.path.currentChar()) {
			break
		}
		pc.path.incrementPosition(1)
	}
}

// readContextToken reads [$ | @] and the tokens after it.
func (pc *pathCompiler) readContextToken() *token {
	p := pc.path
	pc.readWhitespace()
	if !isPathContext(p.currentChar()) {
		throw(exInvalid, "Path must start with '$' or '@'")
	}
	root := &token{kind: tokRoot, rootChar: p.currentChar()}
	pc.tail = root
	if p.currentIsTail() {
		return root
	}
	p.incrementPosition(1)
	if p.currentChar() != '.' && p.currentChar() != '[' {
		throw(exInvalid, "Illegal character at position %d expected '.' or '['", p.pos)
	}
	pc.readNextToken()
	return root
}

func (pc *pathCompiler) readNextToken() bool {
	pc.depth++
	if pc.depth > len(pc.path.s)+8 {
		throw(exInvalid, "Could not parse the path: it does not advance at position %d", pc.path.pos)
	}
	p := pc.path
	switch p.currentChar() {
	case '[':
		return pc.readBracketPropertyToken() ||
			pc.readArrayToken() ||
			pc.readWildCardToken() ||
			pc.readFilterToken() ||
			pc.readPlaceholderToken() ||
			fail("Could not parse token starting at position %d. Expected ?, ', 0-9, * ", p.pos)
	case '.':
		return pc.readDotToken() || fail("Could not parse token starting at position %d", p.pos)
	case '*':
		return pc.readWildCardToken() || fail("Could not parse token starting at position %d", p.pos)
	default:
		return pc.readPropertyOrFunctionToken() || fail("Could not parse token starting at position %d", p.pos)
	}
}

func fail(format string, a ...any) bool {
	throw(exInvalid, format, a...)
	return false
}

// readDotToken reads . and ..
func (pc *pathCompiler) readDotToken() bool {
	p := pc.path
	switch {
	case p.currentCharIs('.') && p.nextCharIs('.'):
		pc.append(&token{kind: tokScan})
		p.incrementPosition(2)
	case !p.hasMoreCharacters():
		throw(exInvalid, "Path must not end with a '.")
	default:
		p.incrementPosition(1)
	}
	if p.currentCharIs('.') {
		throw(exInvalid, "Character '.' on position %d is not valid.", p.pos)
	}
	return pc.readNextToken()
}

// readPropertyOrFunctionToken reads fooBar or fooBar().
func (pc *pathCompiler) readPropertyOrFunctionToken() bool {
	p := pc.path
	if p.currentCharIs('[') || p.currentCharIs('*') || p.currentCharIs('.') || p.currentCharIs(' ') {
		return false
	}
	start := p.pos
	read := start
	end := 0
	isFunction := false
	for p.inBounds(read) {
		c := p.charAt(read)
		if c == ' ' {
			throw(exInvalid, "Use bracket notion ['my prop'] if your property contains blank characters. position: %d", p.pos)
		} else if c == '.' || c == '[' {
			end = read
			break
		} else if c == '(' {
			isFunction = true
			end = read
			read++
			break
		}
		read++
	}
	if end == 0 {
		end = p.length()
	}
	var params []*param
	if isFunction {
		// Jayway looks two characters past the "(" for the ")" of an
		// argument-less call, so "sum(1)" reads as "sum()".
		if p.inBounds(read + 1) {
			if p.charAt(read+1) != ')' {
				p.setPosition(end + 1)
				params = pc.parseFunctionParameters(p.subSequence(start, end))
			} else {
				p.setPosition(read + 1)
			}
		} else {
			p.setPosition(read)
		}
	} else {
		p.setPosition(end)
	}
	name := p.subSequence(start, end)
	if isFunction {
		pc.append(&token{kind: tokFunction, fn: name, params: params})
	} else {
		pc.append(&token{kind: tokProperty, props: []string{name}})
	}
	return p.currentIsTail() || pc.readNextToken()
}

// parseFunctionParameters splits the arguments of a function call: JSON
// values (starting with {, a digit or ") and paths (starting with $ or @).
// Anything else (a quote, a minus sign) is skipped, as in Jayway.
func (pc *pathCompiler) parseFunctionParameters(funcName string) []*param {
	p := pc.path
	typ := -1 // no type yet
	groupParen, groupBracket, groupBrace, groupQuote := 1, 0, 0, 0
	endOfStream := false
	var prior byte
	var params []*param
	var cur strings.Builder
	for p.inBounds(p.pos) && !endOfStream {
		c := p.currentChar()
		p.incrementPosition(1)
		if typ < 0 {
			if isWhitespace(c) {
				continue
			}
			if c == '{' || isDigit(c) || c == '"' {
				typ = int(paramJSON)
			} else if isPathContext(c) {
				typ = int(paramPath)
			}
		}
		switch c {
		case '"':
			if prior != '\\' && groupQuote > 0 {
				groupQuote--
			} else {
				groupQuote++
			}
		case '(':
			groupParen++
		case '{':
			groupBrace++
		case '[':
			groupBracket++
		case '}':
			if groupBrace == 0 {
				throw(exInvalid, "Unexpected close brace '}' at character position: %d", p.pos)
			}
			groupBrace--
		case ']':
			if groupBracket == 0 {
				throw(exInvalid, "Unexpected close bracket ']' at character position: %d", p.pos)
			}
			groupBracket--
		case ')', ',':
			if c == ')' {
				groupParen--
				if groupParen != 0 {
					cur.WriteByte(c)
				}
			}
			if groupQuote == 0 && groupBrace == 0 && groupBracket == 0 &&
				((groupParen == 0 && c == ')') || groupParen == 1) {
				endOfStream = groupParen == 0
				if typ >= 0 {
					switch paramKind(typ) {
					case paramJSON:
						params = append(params, &param{kind: paramJSON, json: cur.String()})
					case paramPath:
						sub := &pathCompiler{path: newCharIndex(cur.String())}
						root := sub.readContextToken()
						params = append(params, &param{kind: paramPath, path: newPath(root)})
					}
					cur.Reset()
					typ = -1
				}
			}
		}
		if typ >= 0 && !(c == ',' && groupBrace == 0 && groupBracket == 0 && groupParen == 1) {
			cur.WriteByte(c)
		}
		prior = c
	}
	if groupBrace != 0 || groupParen != 0 || groupBracket != 0 {
		throw(exInvalid, "Arguments to function: '%s' are not closed properly.", funcName)
	}
	return params
}

// readPlaceholderToken reads [?] and [?,?]: placeholders for predicates
// passed to JsonPath.compile, which an Apigee path never has.
func (pc *pathCompiler) readPlaceholderToken() bool {
	p := pc.path
	if !p.currentCharIs('[') {
		return false
	}
	q := p.indexOfNextSignificantChar(p.pos, '?')
	if q == -1 {
		return false
	}
	if c := p.nextSignificantChar(q); c != ']' && c != ',' {
		return false
	}
	begin := p.pos + 1
	end := p.nextIndexOf(begin, ']')
	if end == -1 {
		return false
	}
	expression := p.subSequence(begin, end)
	throw(exInvalid, "Not enough predicates supplied for filter [%s] at position %d", expression, p.pos)
	return false
}

// readFilterToken reads [?(...)].
func (pc *pathCompiler) readFilterToken() bool {
	p := pc.path
	if !p.currentCharIs('[') && !p.nextSignificantCharIs(p.pos, '?') {
		return false
	}
	openStatement := p.pos
	q := p.indexOfNextSignificantChar(p.pos, '?')
	if q == -1 {
		return false
	}
	openBracket := p.indexOfNextSignificantChar(q, '(')
	if openBracket == -1 {
		return false
	}
	closeBracket := p.indexOfClosingBracket(openBracket, true, true)
	if closeBracket == -1 {
		return false
	}
	if !p.nextSignificantCharIs(closeBracket, ']') {
		return false
	}
	closeStatement := p.indexOfNextSignificantChar(closeBracket, ']')
	criteria := p.subSequence(openStatement, closeStatement+1)
	pc.append(&token{kind: tokFilter, filter: compileFilter(criteria)})
	p.setPosition(closeStatement + 1)
	return p.currentIsTail() || pc.readNextToken()
}

// readWildCardToken reads [*] and *.
func (pc *pathCompiler) readWildCardToken() bool {
	p := pc.path
	inBracket := p.currentCharIs('[')
	if inBracket && !p.nextSignificantCharIs(p.pos, '*') {
		return false
	}
	if !p.currentCharIs('*') && !p.inBounds(p.pos+1) {
		return false
	}
	if inBracket {
		w := p.indexOfNextSignificantChar(p.pos, '*')
		if !p.nextSignificantCharIs(w, ']') {
			throw(exInvalid, "Expected wildcard token to end with ']' on position %d1", w)
		}
		closeIdx := p.indexOfNextSignificantChar(w, ']')
		p.setPosition(closeIdx + 1)
	} else {
		p.incrementPosition(1)
	}
	pc.append(&token{kind: tokWildcard})
	return p.currentIsTail() || pc.readNextToken()
}

// readArrayToken reads [1], [1,2, n], [1:], [1:2], [:2].
func (pc *pathCompiler) readArrayToken() bool {
	p := pc.path
	if !p.currentCharIs('[') {
		return false
	}
	c := p.nextSignificantChar(p.pos)
	if !isDigit(c) && c != '-' && c != ':' {
		return false
	}
	begin := p.pos + 1
	end := p.nextIndexOf(begin, ']')
	if end == -1 {
		return false
	}
	expression := javaTrim(p.subSequence(begin, end))
	if expression == "*" {
		return false
	}
	for i := 0; i < len(expression); i++ {
		c := expression[i]
		if !isDigit(c) && c != ',' && c != '-' && c != ':' && c != ' ' {
			return false
		}
	}
	if strings.Contains(expression, ":") {
		pc.append(parseSlice(expression))
	} else {
		pc.append(parseIndexes(expression))
	}
	p.setPosition(end + 1)
	return p.currentIsTail() || pc.readNextToken()
}

// readBracketPropertyToken reads ['foo'] and ['foo', "bar"].
func (pc *pathCompiler) readBracketPropertyToken() bool {
	p := pc.path
	if !p.currentCharIs('[') {
		return false
	}
	delim := p.nextSignificantChar(p.pos)
	if delim != '\'' && delim != '"' {
		return false
	}
	var props []string
	start := p.pos + 1
	read := start
	end := 0
	inProperty, inEscape, lastWasComma := false, false, false
	for p.inBounds(read) {
		c := p.charAt(read)
		if inEscape {
			inEscape = false
		} else if c == '\\' {
			inEscape = true
		} else if c == ']' && !inProperty {
			if lastWasComma {
				fail("Found empty property at index %d", read)
			}
			break
		} else if c == delim {
			if inProperty {
				if n := p.nextSignificantChar(read); n != ']' && n != ',' {
					fail("Property must be separated by comma or Property must be terminated close square bracket at index %d", read)
				}
				end = read
				props = append(props, javaUnescape(p.subSequence(start, end)))
				inProperty = false
			} else {
				start = read + 1
				inProperty = true
				lastWasComma = false
			}
		} else if c == ',' {
			// Also inside a quoted name: Jayway refuses ['a,b'].
			if lastWasComma {
				fail("Found empty property at index %d", read)
			}
			lastWasComma = true
		}
		read++
	}
	closeIdx := p.indexOfNextSignificantChar(end, ']') + 1
	if closeIdx == 0 {
		// No "]" after the last name ("$['a',"): Jayway goes back to
		// the start of the path and reads it again, for ever (it ends in
		// a StackOverflowError).
		throw(exInvalid, "Property list not closed at position %d", end)
	}
	p.setPosition(closeIdx)
	if len(props) == 0 {
		throw(exInvalid, "Empty properties")
	}
	pc.append(&token{kind: tokProperty, props: props})
	return p.currentIsTail() || pc.readNextToken()
}

// parseIndexes is ArrayIndexOperation.parse: comma-separated ints.
func parseIndexes(op string) *token {
	for i := 0; i < len(op); i++ {
		c := op[i]
		if !isDigit(c) && c != ',' && c != ' ' && c != '-' {
			throw(exInvalid, "Failed to parse ArrayIndexOperation: %s", op)
		}
	}
	var idx []int
	for _, tok := range strings.Split(op, ",") {
		// Java splits on \s*,\s* and keeps empty tokens, which fail below.
		tok = strings.TrimRight(strings.TrimLeft(tok, " "), " ")
		n, ok := javaParseInt(tok)
		if !ok {
			throw(exInvalid, "Failed to parse token in ArrayIndexOperation: %s", tok)
		}
		idx = append(idx, n)
	}
	return &token{kind: tokIndex, indexes: idx}
}

// parseSlice is ArraySliceOperation.parse. A third part ("[0:4:2]") is
// ignored, as in Jayway.
func parseSlice(op string) *token {
	for i := 0; i < len(op); i++ {
		c := op[i]
		if !isDigit(c) && c != '-' && c != ':' {
			throw(exInvalid, "Failed to parse SliceOperation: %s", op)
		}
	}
	parts := javaSplit(op, ":")
	read := func(i int) (int, bool) {
		if i >= len(parts) || parts[i] == "" {
			return 0, false
		}
		n, ok := javaParseInt(parts[i])
		if !ok {
			// NumberFormatException: not an InvalidPathException, but the
			// compiler wraps it into one all the same.
			throw(exOther, "For input string: %q", parts[i])
		}
		return n, true
	}
	from, hasFrom := read(0)
	to, hasTo := read(1)
	t := &token{kind: tokSlice, from: from, to: to}
	switch {
	case hasFrom && !hasTo:
		t.slice = sliceFrom
	case hasFrom && hasTo:
		t.slice = sliceBetween
	case hasTo:
		t.slice = sliceTo
	default:
		throw(exInvalid, "Failed to parse SliceOperation: %s", op)
	}
	return t
}

// javaParseInt is Integer.parseInt for ASCII text: an optional sign, at
// least one digit, within the range of an int.
func javaParseInt(s string) (int, bool) {
	if s == "" || s == "+" || s == "-" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, false
	}
	return int(n), true
}

// javaSplit is String.split with a literal separator: trailing empty
// strings are dropped (so ":" splits into nothing).
func javaSplit(s, sep string) []string {
	parts := strings.Split(s, sep)
	for len(parts) > 0 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// javaTrim is String.trim: it strips every character up to U+0020.
func javaTrim(s string) string {
	i, j := 0, len(s)
	for i < j && s[i] <= ' ' {
		i++
	}
	for j > i && s[j-1] <= ' ' {
		j--
	}
	return s[i:j]
}

// javaUnescape is Jayway's Utils.unescape, for property names and string
// literals: backslash escapes including \uXXXX; an unknown escape is the
// character itself and a trailing backslash stays.
func javaUnescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var units []uint16 // Java chars, so escaped surrogate pairs join up
	flush := func(r rune) {
		if r < 0x10000 {
			units = append(units, uint16(r))
			return
		}
		r1, r2 := utf16.EncodeRune(r)
		units = append(units, uint16(r1), uint16(r2))
	}
	hadSlash := false
	for i := 0; i < len(s); {
		c := s[i]
		if hadSlash {
			hadSlash = false
			i++
			switch c {
			case '\\', '\'', '"':
				flush(rune(c))
			case 'r':
				flush('\r')
			case 'f':
				flush('\f')
			case 't':
				flush('\t')
			case 'n':
				flush('\n')
			case 'b':
				flush('\b')
			case 'u':
				if i+4 > len(s) {
					// Fewer than four characters left: Jayway drops them.
					i = len(s)
					continue
				}
				// Integer.parseInt(x, 16), which takes a sign too.
				n, err := strconv.ParseInt(s[i:i+4], 16, 32)
				if err != nil {
					throw(exOther, "Unable to parse unicode value: %s", s[i:i+4])
				}
				units = append(units, uint16(n))
				i += 4
			default:
				r, size := utf8.DecodeRuneInString(s[i-1:])
				flush(r)
				i += size - 1
			}
			continue
		}
		if c == '\\' {
			hadSlash = true
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		flush(r)
		i += size
	}
	if hadSlash {
		flush('\\')
	}
	return string(utf16.Decode(units))
}
