package condition

import "strings"

// glob is a compiled wildcard pattern in which a star matches any run of
// characters (possibly empty). Literal chunks are matched case-sensitively.
type glob struct {
	star  bool     // false: the pattern is the literal chunks[0]
	parts []string // literal chunks separated by stars (len >= 1)
}

// compileGlob compiles the pattern of the Matches/Like (~) operator: "*"
// matches any characters, including "/"; "\*" is a literal star. Any other
// backslash is literal.
func compileGlob(pat string) *glob {
	g := &glob{}
	var cur strings.Builder
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '\\' && i+1 < len(pat) && pat[i+1] == '*':
			cur.WriteByte('*')
			i++
		case c == '*':
			g.star = true
			g.parts = append(g.parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	g.parts = append(g.parts, cur.String())
	return g
}

func (g *glob) match(s string) bool {
	if !g.star {
		return s == g.parts[0]
	}
	first, last := g.parts[0], g.parts[len(g.parts)-1]
	if len(s) < len(first)+len(last) || !strings.HasPrefix(s, first) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[len(first) : len(s)-len(last)]
	// Leftmost placement of each middle chunk is optimal when the only
	// wildcard is a star.
	for _, chunk := range g.parts[1 : len(g.parts)-1] {
		i := strings.Index(s, chunk)
		if i < 0 {
			return false
		}
		s = s[i+len(chunk):]
	}
	return true
}

type segKind uint8

const (
	segGlob segKind = iota // one path segment matched by a glob (literal, "*", "{name}", "v*.json" …)
	segAny                 // "**": zero or more whole segments
)

type pathSeg struct {
	kind segKind
	g    glob
}

// pathPattern is a compiled MatchesPath/LikePath (~/) expression.
type pathPattern struct {
	segs []pathSeg
}

// compilePath compiles a path expression. The pattern and the tested path
// are both split on "/" (so a leading "/" yields an empty first segment and a
// trailing "/" an empty last segment — trailing slashes are significant).
// Within a segment "*" (or "{name}") matches any characters except "/"; a
// segment that is exactly "**" matches any number (including zero) of whole
// segments. "%" escapes the next character when it is one of * { } % /, so
// "%{user%}" matches the literal text "{user}"; any other "%" (for example in
// "%20") is literal.
func compilePath(pat string) *pathPattern {
	p := &pathPattern{}
	var (
		cur   strings.Builder
		seg   glob
		raw   strings.Builder // unescaped-structure view of the segment, to spot "**"
		flush = func() {
			seg.parts = append(seg.parts, cur.String())
			cur.Reset()
			if raw.String() == "**" {
				p.segs = append(p.segs, pathSeg{kind: segAny})
			} else {
				p.segs = append(p.segs, pathSeg{kind: segGlob, g: seg})
			}
			seg = glob{}
			raw.Reset()
		}
		star = func() {
			seg.star = true
			seg.parts = append(seg.parts, cur.String())
			cur.Reset()
		}
	)
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		switch {
		case c == '%' && i+1 < len(pat) && strings.IndexByte("*{}%/", pat[i+1]) >= 0:
			cur.WriteByte(pat[i+1])
			raw.WriteString("%%") // never equals "**"
			i++
		case c == '/':
			flush()
		case c == '*':
			star()
			raw.WriteByte('*')
		case c == '{':
			end := closingBrace(pat, i+1)
			if end < 0 {
				cur.WriteByte(c)
				raw.WriteByte(c)
				continue
			}
			star()
			raw.WriteString("{}")
			i = end
		default:
			cur.WriteByte(c)
			raw.WriteByte(c)
		}
	}
	flush()
	return p
}

// closingBrace finds the "}" closing a "{name}" placeholder that starts at
// i, staying within one segment; -1 if there is none.
func closingBrace(pat string, i int) int {
	for ; i < len(pat); i++ {
		switch pat[i] {
		case '}':
			return i
		case '/', '{':
			return -1
		case '%':
			i++
		}
	}
	return -1
}

// match reports whether path matches. It walks path segments in place (no
// splitting, no allocation) and backtracks only to the most recent "**",
// which is sufficient because "**" matches any sequence of segments and every
// other pattern segment matches exactly one.
func (p *pathPattern) match(path string) bool {
	segs := p.segs
	n := len(path)
	pi, off := 0, 0 // next pattern segment; start offset of the next path segment (off > n: done)
	starPi, starOff := -1, 0
	for off <= n {
		end := strings.IndexByte(path[off:], '/')
		if end < 0 {
			end = n
		} else {
			end += off
		}
		if pi < len(segs) {
			if segs[pi].kind == segAny {
				starPi, starOff = pi, off
				pi++
				continue
			}
			if segs[pi].g.match(path[off:end]) {
				pi++
				off = end + 1
				continue
			}
		}
		if starPi < 0 {
			return false
		}
		// Let the last "**" absorb one more segment and retry after it.
		if e := strings.IndexByte(path[starOff:], '/'); e < 0 {
			starOff = n + 1
		} else {
			starOff += e + 1
		}
		pi, off = starPi+1, starOff
	}
	for pi < len(segs) && segs[pi].kind == segAny {
		pi++
	}
	return pi == len(segs)
}
