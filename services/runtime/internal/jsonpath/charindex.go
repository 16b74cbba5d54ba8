package jsonpath

// charIndex is Jayway's CharacterIndex: a cursor over the path text with
// an end position that trimming moves. Like the original, charAt checks
// only the bounds of the whole text (not the trimmed end) and throws when
// outside it; several of Jayway's scans rely on reading one character past
// the end, and fail the compilation when that throws.
type charIndex struct {
	s   string
	pos int
	end int // inclusive
}

func newCharIndex(s string) *charIndex { return &charIndex{s: s, end: len(s) - 1} }

func (c *charIndex) length() int { return c.end + 1 }

func (c *charIndex) charAt(i int) byte {
	if i < 0 || i >= len(c.s) {
		throw(exOther, "String index out of range: %d", i)
	}
	return c.s[i]
}

func (c *charIndex) currentChar() byte { return c.charAt(c.pos) }

func (c *charIndex) currentCharIs(ch byte) bool { return c.charAt(c.pos) == ch }

func (c *charIndex) lastCharIs(ch byte) bool { return c.charAt(c.end) == ch }

func (c *charIndex) nextCharIs(ch byte) bool { return c.inBounds(c.pos+1) && c.charAt(c.pos+1) == ch }

func (c *charIndex) incrementPosition(n int) { c.pos += n }

func (c *charIndex) setPosition(p int) { c.pos = p }

func (c *charIndex) inBounds(i int) bool { return i >= 0 && i <= c.end }

func (c *charIndex) currentIsTail() bool { return c.pos >= c.end }

func (c *charIndex) hasMoreCharacters() bool { return c.inBounds(c.pos + 1) }

func (c *charIndex) subSequence(from, to int) string {
	if from < 0 || to > len(c.s) || from > to {
		throw(exOther, "begin %d, end %d, length %d", from, to, len(c.s))
	}
	return c.s[from:to]
}

// indexOfMatchingCloseChar finds the closer of the opener at start,
// skipping quoted strings and /regexes/ on request.
func (c *charIndex) indexOfMatchingCloseChar(start int, open, close byte, skipStrings, skipRegex bool) int {
	if c.charAt(start) != open {
		throw(exInvalid, "Expected %c but found %c", open, c.charAt(start))
	}
	opened := 1
	read := start + 1
	for c.inBounds(read) {
		if skipStrings {
			if q := c.charAt(read); q == '\'' || q == '"' {
				read = c.nextIndexOfUnescaped(read, q)
				if read == -1 {
					throw(exInvalid, "Could not find matching close quote for %c when parsing : %s", q, c.s)
				}
				read++
			}
		}
		if skipRegex {
			if c.charAt(read) == '/' {
				read = c.nextIndexOfUnescaped(read, '/')
				if read == -1 {
					throw(exInvalid, "Could not find matching close for / when parsing regex in : %s", c.s)
				}
				read++
			}
		}
		if c.charAt(read) == open {
			opened++
		}
		if c.charAt(read) == close {
			opened--
			if opened == 0 {
				return read
			}
		}
		read++
	}
	return -1
}

func (c *charIndex) indexOfClosingBracket(start int, skipStrings, skipRegex bool) int {
	return c.indexOfMatchingCloseChar(start, '(', ')', skipStrings, skipRegex)
}

// indexOfNextSignificantChar is the index of ch if it is the next
// character after start that is not a space, else -1.
func (c *charIndex) indexOfNextSignificantChar(start int, ch byte) int {
	read := start + 1
	for c.inBounds(read) && c.charAt(read) == ' ' {
		read++
	}
	if c.charAt(read) == ch {
		return read
	}
	return -1
}

func (c *charIndex) nextIndexOf(start int, ch byte) int {
	for read := start; c.inBounds(read); read++ {
		if c.charAt(read) == ch {
			return read
		}
	}
	return -1
}

func (c *charIndex) nextIndexOfUnescaped(start int, ch byte) int {
	inEscape := false
	for read := start + 1; c.inBounds(read); read++ {
		switch {
		case inEscape:
			inEscape = false
		case c.charAt(read) == '\\':
			inEscape = true
		case c.charAt(read) == ch:
			return read
		}
	}
	return -1
}

func (c *charIndex) nextSignificantCharIs(start int, ch byte) bool {
	read := start + 1
	for c.inBounds(read) && c.charAt(read) == ' ' {
		read++
	}
	return c.inBounds(read) && c.charAt(read) == ch
}

// nextSignificantChar is the next character after start that is not a
// space, or a space when there is none.
func (c *charIndex) nextSignificantChar(start int) byte {
	read := start + 1
	for c.inBounds(read) && c.charAt(read) == ' ' {
		read++
	}
	if c.inBounds(read) {
		return c.charAt(read)
	}
	return ' '
}

func (c *charIndex) readSignificantChar(ch byte) {
	if c.skipBlanks().currentChar() != ch {
		throw(exInvalid, "Expected character: %c", ch)
	}
	c.incrementPosition(1)
}

func (c *charIndex) readSignificantSubSequence(s string) {
	c.skipBlanks()
	if !c.inBounds(c.pos + len(s) - 1) {
		throw(exInvalid, "End of string reached while expecting: %s", s)
	}
	if c.subSequence(c.pos, c.pos+len(s)) != s {
		throw(exInvalid, "Expected: %s", s)
	}
	c.incrementPosition(len(s))
}

func (c *charIndex) indexOfPreviousSignificantChar(start int) int {
	read := start - 1
	for c.inBounds(read) && c.charAt(read) == ' ' {
		read--
	}
	if c.inBounds(read) {
		return read
	}
	return -1
}

func (c *charIndex) previousSignificantChar(start int) byte {
	i := c.indexOfPreviousSignificantChar(start)
	if i == -1 {
		return ' '
	}
	return c.charAt(i)
}

func (c *charIndex) isNumberCharacter(i int) bool {
	ch := c.charAt(i)
	return isDigit(ch) || ch == '-' || ch == '.'
}

func (c *charIndex) skipBlanks() *charIndex {
	for c.inBounds(c.pos) && c.pos < c.end && c.currentChar() == ' ' {
		c.pos++
	}
	return c
}

func (c *charIndex) skipBlanksAtEnd() {
	for c.inBounds(c.pos) && c.pos < c.end && c.lastCharIs(' ') {
		c.end--
	}
}

func (c *charIndex) trim() {
	c.skipBlanks()
	c.skipBlanksAtEnd()
}
